"""CUDA-path checks for a trained model folder: generation and gap completion timed on CUDA and CPU.

    python scripts/device_checks.py MODEL_DIR [--json OUT.json]

Prints one JSON object: seconds per 60 s / 300 s generation and per 3-gap completion on a 20 s
timeline (pins cut from a generated take), on every available device, plus the largest difference
between the CUDA and CPU outputs of the same seed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csgn_core.editing.completion import fill, resample_gap  # noqa: E402
from csgn_core.editing.timeline import Pin, Timeline  # noqa: E402
from csgn_core.model.inference import generate, load_model  # noqa: E402


def _sync(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()


def _time(fn, dev: str, repeat: int = 3) -> float:
    fn()
    _sync(dev)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        _sync(dev)
        best = min(best, time.perf_counter() - t)
    return round(best, 4)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--json")
    args = p.parse_args(argv)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out = {"model": args.model, "torch": torch.__version__, "devices": {}}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    results = {}
    for dev in devices:
        model = load_model(args.model, device=dev)
        src = generate(model, 20.0, seed=7)
        L = src.n_frames
        doc = Timeline(L, model.fps, "check", model.skeleton)
        n = int(2 * model.fps)
        for at in np.linspace(0, L - n, 4).astype(int):
            doc.add_pin(Pin(src, int(at), int(at) + n, int(at)))
        r = {
            "generate_60s_s": _time(lambda: generate(model, 60.0, seed=1), dev),
            "generate_300s_s": _time(lambda: generate(model, 300.0, seed=1), dev),
            "complete_3_gaps_20s_s": _time(lambda: fill(doc, model, seed=3), dev),
            "complete_refined_1s_s": _time(lambda: fill(doc, model, seed=3, refine_seconds=1.0), dev, repeat=1),
        }
        f = fill(doc, model, seed=3)
        doc.set_fill(f)
        r["resample_gap_s"] = _time(lambda: resample_gap(doc, model, doc.gaps()[1].start, seed=5), dev)
        results[dev] = generate(model, 60.0, seed=11).positions
        out["devices"][dev] = r
    if len(results) == 2:
        out["cuda_vs_cpu_max_cm"] = float(np.abs(results["cuda"] - results["cpu"]).max())
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
