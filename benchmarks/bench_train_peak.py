"""Training step against the machine's peak, this tree and an older revision side by side (issue 18).

Measures the fp32 matmul peak (2048 x 2048, the same threads), then, for this source tree and for
``--baseline`` (a git revision, extracted with ``git archive`` into a temporary folder), one process
each that builds the preset's trainer on the real data, counts one step's FLOPs with torch's
``FlopCounterMode`` (convolutions and matmuls) and times ``--steps`` steps. Prints one JSON line per
tree and a table: GFLOP per step, seconds per step, steps/s, achieved GFLOP/s and the fraction of peak.

    python benchmarks/bench_train_peak.py [--preset cpu] [--data tang-dance] [--threads 2] [--steps 8]
        [--baseline a09b617]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The last revision before issue 18's work on the training step.
DEFAULT_BASELINE = "a09b617"


def matmul_peak(threads: int, n: int = 2048, reps: int = 10) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9


def worker(args) -> int:
    """Runs inside the tree under test (its csgn_core first on the path)."""
    sys.path.insert(0, str(Path(args.root)))
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from csgn_core.model.config import preset
    from csgn_core.model.train.run import fit_to_data
    from csgn_core.model.train.trainer import Trainer
    from csgn_core.model.train.windows import resolve_dataset

    torch.set_num_threads(args.threads)
    mcfg, tcfg = preset(args.preset)
    tr = Trainer(mcfg, tcfg, fit_to_data(mcfg, resolve_dataset(args.data), 0, say=False), seed=0)
    for _ in range(2):  # warm-up (allocator, oneDNN primitive caches)
        tr.train_step()
    with FlopCounterMode(display=False) as fc:
        tr.train_step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        tr.train_step()
        times.append(time.perf_counter() - t)
    s = float(np.median(times))
    print(json.dumps({"gflop_per_step": fc.get_total_flops() / 1e9, "s_per_step": s,
                      "bf16": bool(getattr(tr, "amp", False)), "threads": torch.get_num_threads()}))
    return 0


def extract(rev: str, dest: Path) -> Path:
    archive = dest / "src.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=f, check=True)
    with tarfile.open(archive) as t:
        t.extractall(dest / "tree", filter="data")
    return dest / "tree"


def run_tree(root: Path, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--root", str(root), "--preset", args.preset,
           "--data", args.data, "--threads", str(args.threads), "--steps", str(args.steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(root))
    if out.returncode:
        raise SystemExit(f"bench worker failed in {root}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="cpu")
    p.add_argument("--data", default="tang-dance")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with ('' for none)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    peak = matmul_peak(args.threads)
    print(json.dumps({"matmul_peak_gflops": round(peak, 1), "threads": args.threads}), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("this tree", ROOT)]
        if args.baseline:
            trees.insert(0, (f"baseline {args.baseline}", extract(args.baseline, Path(tmp))))
        for name, root in trees:
            r = run_tree(root, args)
            r.update(tree=name, gflops=r["gflop_per_step"] / r["s_per_step"])
            r["fraction_of_peak"] = r["gflops"] / peak
            rows.append(r)
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}), flush=True)
    peak_after = matmul_peak(args.threads)
    print(f"\nmatmul peak {peak:.0f} GFLOP/s before, {peak_after:.0f} after ({args.threads} threads); "
          f"preset {args.preset}, data {args.data}")
    print("| tree | GFLOP/step | s/step | steps/s | GFLOP/s | of peak | bf16 |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['tree']} | {r['gflop_per_step']:.1f} | {r['s_per_step']:.3f} | {1 / r['s_per_step']:.2f} | "
              f"{r['gflops']:.0f} | {r['fraction_of_peak']:.0%} | {'yes' if r['bf16'] else 'no'} |")
    if len(rows) == 2:
        print(f"speed-up: {rows[0]['s_per_step'] / rows[1]['s_per_step']:.2f}x steps/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
