"""Benchmark positions_to_rotations on every Tang dance: solve time and fit quality.

Prints one row per dance (frames, solve seconds, joint-position RMS error in cm, mean bone direction
error in degrees), a summary, and every tang23 bone's mean length and spread over the data.

    python benchmarks/bench_solve.py [path/to/tang2018-dance or dances.zip] [--smooth S] [--no-fit-rest] [--markdown]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from csgn_core.io.tang import list_dances, read_tang  # noqa: E402
from csgn_core.motion.solve import positions_to_rotations, solve_report  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "tang2018-dance"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    ap.add_argument("--smooth", type=float, default=None, help="smoothing sigma in frames (default: the solver's)")
    ap.add_argument("--no-fit-rest", action="store_true", help="use tang23's rest offsets as they are")
    ap.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    args = ap.parse_args(argv)
    if not Path(args.data).exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 1
    kw = {} if args.smooth is None else {"smooth": args.smooth}
    if args.no_fit_rest:
        kw["fit_rest"] = False
    sep = " | " if args.markdown else "  "

    def row(*cells) -> str:
        text = sep.join(str(c) for c in cells)
        return f"| {text} |" if args.markdown else text

    print(row("dance", "frames", "solve s", "rms cm", "dir err deg"))
    if args.markdown:
        print("|---|---:|---:|---:|---:|")
    rows = []
    lengths: dict[str, list[np.ndarray]] = {}
    bones = None
    for path in list_dances(args.data):
        motion = read_tang(path)
        t0 = time.perf_counter()
        solved = positions_to_rotations(motion, **kw)
        dt = time.perf_counter() - t0
        rep = solve_report(motion, solved)
        rows.append((motion.n_frames, dt, rep["rms_cm"], rep["mean_dir_err_deg"]))
        print(row(motion.meta.get("dance", path.parent.name), motion.n_frames, f"{dt:.2f}",
                  f"{rep['rms_cm']:.2f}", f"{rep['mean_dir_err_deg']:.2f}"), flush=True)
        bl = motion.bone_lengths()  # (F, B)
        bones = motion.skeleton.bones
        for b, (p, c) in enumerate(bones):
            lengths.setdefault(motion.skeleton.joints[c], []).append(bl[:, b])
    a = np.array(rows)
    frames = a[:, 0].sum()
    print()
    print(f"{len(rows)} dances, {int(frames)} frames, {a[:, 1].sum():.1f} s ({frames / a[:, 1].sum():.0f} frames/s)")
    print(f"rms cm: mean {a[:, 2].mean():.2f}, max {a[:, 2].max():.2f}; "
          f"dir err deg: mean {a[:, 3].mean():.2f}, max {a[:, 3].max():.2f}")
    print(f"dances over 5 cm: {int((a[:, 2] > 5).sum())}, over 3 deg: {int((a[:, 3] > 3).sum())}")

    print()
    print(row("bone", "mean length cm", "std cm (all frames)", "std cm (within a dance)"))
    if args.markdown:
        print("|---|---:|---:|---:|")
    skel = read_tang(list_dances(args.data)[0]).skeleton
    for p, c in bones:
        per = lengths[skel.joints[c]]
        allv = np.concatenate(per)
        within = np.mean([x.std() for x in per])
        print(row(f"{skel.joints[p]} -> {skel.joints[c]}", f"{allv.mean():.1f}", f"{allv.std():.2f}", f"{within:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
