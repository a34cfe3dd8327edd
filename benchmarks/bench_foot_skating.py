"""Foot skating before and after the export clean-up, on withheld real clips and on generated takes.

Rows (cm/s, the height-weighted measure of csgn_core.motion.footclean, each motion on its own floors):
- Tang withheld halves (the second half of every dance, the ``cls`` split): the raw capture, the
  plain solve to rotations, and ``clean_for_export`` (solve, then feet that follow the capture with
  contacts pinned), as ``csgn convert --clean-feet`` and ``csgn export`` write them;
- Bandai dataset-2 withheld clips (every other clip per content and style, as the dataset split):
  raw rotations and cleaned;
- with ``--model``: generated takes of the bundled model, raw and cleaned.

    python benchmarks/bench_foot_skating.py [--data ../shared/data] [--model dance --seconds 60 --takes 3]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from csgn_core.motion.contacts import foot_skating  # noqa: E402
from csgn_core.motion.footclean import clean_for_export


def _skate(m) -> float:
    return foot_skating(m.positions, m.skeleton, m.fps)


def _row(name: str, before: list[float], after: list[float], frames: list[int]) -> None:
    b, a, n = map(np.asarray, (before, after, frames))
    worse = int((a > b + 1e-9).sum())
    print(f"{name:34s} clips {len(b):3d}  before {b.mean():6.1f} ({(b * n).sum() / n.sum():5.1f})  "
          f"after {a.mean():6.1f} ({(a * n).sum() / n.sum():5.1f})  higher after in {worse}", flush=True)


def tang(data: Path) -> None:
    from csgn_core.io.tang import list_dances, read_tang

    raw, solved, cleaned, frames = [], [], [], []
    for path in list_dances(data / "tang2018-dance"):
        m = read_tang(path)
        m = m.slice(m.n_frames // 2, m.n_frames)  # the withheld half
        _, report = clean_for_export(m)
        raw.append(report["skating_before"])
        solved.append(report["skating_solved"])
        cleaned.append(report["skating_after"])  # on the cleaned motion's own floors, as _skate measures
        frames.append(m.n_frames)
    _row("Tang withheld halves: raw -> cleaned", raw, cleaned, frames)
    _row("Tang withheld halves: solve only", raw, solved, frames)


def bandai(data: Path) -> None:
    from csgn_core.io.datasets import DATASETS

    result = DATASETS["bandai-actions"].build(data / "bandai-namco", None)
    before, after, frames = [], [], []
    for clip in result.clips:
        if clip.split != "cls":
            continue
        c, report = clean_for_export(clip.motion)
        before.append(_skate(clip.motion))
        after.append(_skate(c))
        frames.append(clip.motion.n_frames)
    _row("Bandai withheld clips", before, after, frames)


def generated(model: str, seconds: float, takes: int) -> None:
    from csgn_core.evaluation.generators import load_generator

    gen = load_generator(model)
    before, after, frames = [], [], []
    for seed in range(takes):
        m = gen.sample(seconds, seed)
        c, report = clean_for_export(m)
        before.append(_skate(m))
        after.append(_skate(c))
        frames.append(m.n_frames)
    _row(f"{model}: {takes} x {seconds:g} s generated", before, after, frames)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--model", action="append", default=[], help="also measure generated takes of this model")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--takes", type=int, default=3)
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args(argv)
    data = Path(args.data)
    print("foot skating, cm/s: mean over clips (frame-weighted in brackets)")
    if not args.skip_real:
        if not data.exists():
            print(f"no data at {data}", file=sys.stderr)
            return 1
        tang(data)
        bandai(data)
    for model in args.model:
        generated(model, args.seconds, args.takes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
