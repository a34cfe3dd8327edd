"""Time the conditional sampler: complete three gaps on a 20 s timeline, and resample one gap.

Pins are real clips when the Bandai data is present (else random motions on the model's skeleton;
the speed does not depend on the poses). Targets on 2 cores with the cpu-preset-sized bundled
``actions`` model: completion <= 150 ms, resampling one gap <= 100 ms.

    python benchmarks/bench_sampler.py [--model resources/models/actions] [--threads 2] [--repeat 7]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.editing.completion import fill, resample_gap  # noqa: E402
from csgn_core.editing.timeline import Pin, Timeline  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402
from csgn_core.motion import quaternion as Q  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402


def _source(model, frames: int) -> Motion:
    data = ROOT.parent / "shared" / "data" / "bandai-namco" / "dataset-2.zip"
    if data.is_file() and model.skeleton.name == "bandai22":
        from csgn_core.io.archive import iter_files
        from csgn_core.io.bvh.read import read_bvh
        for p in iter_files(data, "*.bvh"):
            m = read_bvh(p)
            if m.n_frames >= frames:
                return m
    rng = np.random.default_rng(0)
    J = model.skeleton.n_joints
    rot = Q.normalize(Q.identity((frames, J)) + 0.05 * rng.normal(size=(frames, J, 4)))
    return Motion(model.skeleton, model.fps, rotations=rot, root=np.cumsum(rng.normal(size=(frames, 3)), 0))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "resources" / "models" / "actions"))
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    L = int(round(args.seconds * model.fps))
    src = _source(model, 60)
    doc = Timeline(L, model.fps, "bench", model.skeleton)
    # Four pins of 2 s (shorter if the clip is) leave three inner gaps.
    n = min(60, src.n_frames)
    for at in np.linspace(0, L - n, 4).astype(int):
        doc.add_pin(Pin(src, 0, n, int(at)))
    fill(doc, model, 0)  # warm-up (plans, allocator)
    t_fill = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        f = fill(doc, model, seed=i)
        t_fill.append(time.perf_counter() - t0)
    doc.set_fill(f)
    gap = doc.gaps()[1]
    resample_gap(doc, model, gap.start, 1)
    t_res = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        resample_gap(doc, model, gap.start, seed=100 + i)
        t_res.append(time.perf_counter() - t0)
    out = {
        "model": Path(args.model).name, "skeleton": model.skeleton.name, "fps": model.fps, "frames": L,
        "pins": len(doc.pins), "gaps": len(doc.gaps()), "resampled_gap_frames": gap.length,
        "threads": torch.get_num_threads(),
        "complete_ms_best": round(1000 * min(t_fill), 1), "complete_ms_median": round(1000 * float(np.median(t_fill)), 1),
        "resample_ms_best": round(1000 * min(t_res), 1), "resample_ms_median": round(1000 * float(np.median(t_res)), 1),
        "target_complete_ms": 150, "target_resample_ms": 100,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
