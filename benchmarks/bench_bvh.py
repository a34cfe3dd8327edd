"""BVH parsing and forward kinematics speed on a 10,000-frame, 100-joint file.

Builds the file from a real CMU iClone clip (about 100 joints; its frames tiled to 10,000) when
../shared/data is there, else from a synthetic 100-joint chain tree, and prints the best of a few
runs. Targets: parse <= 1.5 s, forward kinematics <= 200 ms.

    python benchmarks/bench_bvh.py [--frames 10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.io.archive import iter_files, read_text  # noqa: E402
from csgn_core.io.bvh.read import parse_bvh  # noqa: E402
from csgn_core.motion.clip import forward_kinematics  # noqa: E402

CMU_ZIP = ROOT.parent / "shared" / "data" / "cmu-iclone" / "bvh.zip"


def cmu_text(frames: int) -> tuple[str, str]:
    path = next(iter_files(CMU_ZIP, "*/001_01.bvh"), None) or next(iter_files(CMU_ZIP, "*.bvh"))
    text = read_text(path)
    head, rest = text.split("Frame Time:", 1)
    rest = rest.split("\n", 1)[1]
    rows = [ln for ln in rest.split("\n") if ln.strip()]
    rows = (rows * (frames // len(rows) + 1))[:frames]
    head = head.replace(head[head.index("Frames:"):], f"Frames: {frames}\n")
    return f"{head}Frame Time: 0.016667\n" + "\n".join(rows) + "\n", f"{path.name} tiled"


def synthetic_text(frames: int, joints: int = 100) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    lines = ["HIERARCHY", "ROOT j0", "{", "  OFFSET 0 0 0",
             "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    depth = 1
    for j in range(1, joints):
        lines += [f"JOINT j{j}", "{", f"OFFSET {rng.normal():.4f} 5 0", "CHANNELS 3 Zrotation Xrotation Yrotation"]
        depth += 1
        if j % 10 == 0:  # ten chains of ten
            lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * (depth - 2)
            depth = 2
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * depth
    data = rng.uniform(-90, 90, (frames, 6 + 3 * (joints - 1)))
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0166667"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in data]
    return "\n".join(lines) + "\n", "synthetic"


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    text, what = cmu_text(args.frames) if CMU_ZIP.is_file() else synthetic_text(args.frames)
    print(f"file: {what}, {len(text) / 1e6:.1f} MB")
    t_parse, motion = best_of(lambda: parse_bvh(text, source="bench.bvh"), args.repeat)
    sk = motion.skeleton
    print(f"frames {motion.n_frames}, joints {sk.n_joints}, channels {sum(len(c) for _, c in motion.meta['channels'])}")
    print(f"parse:              {t_parse * 1e3:8.1f} ms   (target <= 1500 ms)")
    t_fk, ref = best_of(lambda: forward_kinematics(sk, motion.rotations, motion.root), args.repeat)
    print(f"forward kinematics: {t_fk * 1e3:8.1f} ms   (target <= 200 ms; motion.forward_kinematics)")


if __name__ == "__main__":
    main()
