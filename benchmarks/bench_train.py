"""Training speed per preset: generator steps per second and real windows per second.

One step is ``n_critic`` critic updates (each on ``batch`` real and ``batch`` generated windows plus
the gradient penalty), one generator update and one inverse-network update. windows/s counts the
real windows the critic sees (batch x n_critic per step). Uses a built dataset when --data is given,
else synthetic rotation clips on a named skeleton (speed does not depend on the data).

    python benchmarks/bench_train.py [--presets tiny,cpu] [--steps 10] [--threads 2] [--data tang-dance.npz]
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

from csgn_core.io.datasets import Dataset, compute_stats  # noqa: E402
from csgn_core.model.config import preset  # noqa: E402
from csgn_core.model.networks import count_parameters  # noqa: E402
from csgn_core.model.train.trainer import Trainer
from csgn_core.model.train.windows import WindowSampler, measure_diff_gain  # noqa: E402
from csgn_core.motion import quaternion as Q  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402
from csgn_core.motion.skeleton import load_named  # noqa: E402


def synthetic_dataset(skeleton: str, clips: int = 6, frames: int = 600, fps: float = 25.0) -> Dataset:
    sk = load_named(skeleton)
    rng = np.random.default_rng(0)
    motions = []
    for _ in range(clips):
        t = np.arange(frames)[:, None] / fps
        axes = rng.normal(size=(1, sk.n_joints, 3))
        ang = 0.6 * np.sin(2 * np.pi * rng.uniform(0.3, 2, (1, sk.n_joints)) * t)
        rot = Q.from_axis_angle(np.broadcast_to(axes, (frames, sk.n_joints, 3)), ang)
        root = np.cumsum(rng.normal(size=(frames, 3)), axis=0) * [1, 0, 1] + [0, 90, 0]
        motions.append(Motion(sk, fps, rotations=rot, root=root))
    n = [m.n_frames for m in motions]
    starts = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    ds = Dataset(
        name="synthetic", skeleton=sk, fps=fps, window=64,
        positions=np.concatenate([m.positions for m in motions]).astype(np.float32),
        rotations=np.concatenate([m.rotations for m in motions]).astype(np.float32),
        root=np.concatenate([m.root for m in motions]).astype(np.float32),
        clip_start=starts, clip_names=[f"c{i}" for i in range(clips)], clip_labels=np.zeros(clips, dtype=np.int64),
        clip_split=np.zeros(clips, dtype=np.int8), windows=np.zeros((0, 2), dtype=np.int64),
        window_valid=np.zeros(0, dtype=np.int32), label_names=["any"], stats={}, meta={},
    )
    ds.stats = compute_stats(ds)
    return ds


def bench(ds: Dataset, name: str, steps: int, device: str) -> dict:
    mcfg, tcfg = preset(name)
    sampler = WindowSampler(ds, mcfg.window)
    sampler.stats["diff_gain"] = measure_diff_gain(sampler, np.random.default_rng(0), 64)
    mcfg.stats, mcfg.skeleton, mcfg.fps = sampler.stats, ds.skeleton.to_dict(), ds.fps
    tr = Trainer(mcfg, tcfg, sampler, device=device)
    for _ in range(2):  # warm-up
        tr.train_step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"preset": name, "skeleton": ds.skeleton.name, "device": device, "threads": torch.get_num_threads(),
            "steps_per_s": round(steps / dt, 3), "windows_per_s": round(steps * tcfg.batch * tcfg.n_critic / dt, 1),
            "batch": tcfg.batch, "n_critic": tcfg.n_critic, "window": mcfg.window,
            "params": {"G": count_parameters(tr.G), "D": count_parameters(tr.D), "H": count_parameters(tr.H)}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="tiny,cpu")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int)
    p.add_argument("--data", help="a built dataset .npz (default: synthetic clips)")
    p.add_argument("--skeleton", default="tang23")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = Dataset.load(args.data) if args.data else synthetic_dataset(args.skeleton)
    for name in args.presets.split(","):
        print(json.dumps(bench(ds, name.strip(), args.steps, args.device)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
