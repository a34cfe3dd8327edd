"""Jitter and bone-length spread of the Kinect sets before and after the paper's clean-up.

Loads every MSR Action3D and UTKinect file (reporting the ones it skips and why), cleans each clip
with ``csgn_core.io.kinect_cleanup.clean`` and prints, per set, as a Markdown table:

- jitter: mean acceleration magnitude by second differences, cm/s^2 (``kinect_cleanup.jitter``),
  averaged over clips;
- bone CV: coefficient of variation of each bone's length within a clip, averaged over bones and
  clips, per cent (``kinect_cleanup.bone_length_cv``);
- change: mean distance between a cleaned joint and the raw one, cm;
- replaced: share of joint samples replaced as outliers, per cent.

Run from the repository root:  python benchmarks/bench_kinect_jitter.py [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from csgn_core.io.kinect.sets import load_kinect_set  # noqa: E402
from csgn_core.io.kinect_cleanup import CleanupParams, bone_length_cv, clean, jitter  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402

SETS = (("MSR Action3D", "msr-action3d", "msr"), ("UTKinect", "utkinect", "utkinect"))


def measure(motions: list[Motion], params: CleanupParams | None) -> dict:
    """Mean metrics over clips; params None measures the raw clips."""
    jit, cv, change, replaced, samples = [], [], [], 0, 0
    for m in motions:
        out = m if params is None else clean(m, params=params)
        jit.append(jitter(out.positions, out.fps))
        cv.append(bone_length_cv(out.positions, out.skeleton).mean())
        change.append(np.linalg.norm(out.positions - m.positions, axis=-1).mean())
        if params is not None:
            replaced += int(out.meta["cleanup"]["replaced"].sum())
        samples += m.n_frames * m.skeleton.n_joints
    jit = np.array([j for j in jit if np.isfinite(j)])
    return {
        "jitter": float(jit.mean()),
        "jitter_median": float(np.median(jit)),
        "cv": 100 * float(np.mean(cv)),
        "change": float(np.mean(change)),
        "replaced": 100 * replaced / max(samples, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    args = parser.parse_args(argv)
    params = CleanupParams()
    rows = [
        ("raw", None),
        ("cleaned (defaults)", params),
        ("cleaned, outlier step only", replace(params, median_window=1, savgol_window=0)),
        ("cleaned + restore_bone_lengths", replace(params, restore_bone_lengths=True)),
    ]
    print("Parameters:", ", ".join(f"{k}={v}" for k, v in asdict(params).items()))
    print()
    print("| set | clips (frames) | version | jitter cm/s^2 (median) | bone CV % | change cm | replaced % |")
    print("|---|---|---|---|---|---|---|")
    notes: list[str] = []
    for title, folder, kind in SETS:
        root = args.data / folder
        if not root.exists():
            notes.append(f"{title}: {root} not found, skipped")
            continue
        t0 = time.perf_counter()
        motions, errors = load_kinect_set(root, kind)
        load_s = time.perf_counter() - t0
        frames = sum(m.n_frames for m in motions)
        for name, p in rows:
            r = measure(motions, p)
            print(
                f"| {title} | {len(motions)} ({frames}) | {name} | {r['jitter']:.0f} ({r['jitter_median']:.0f}) "
                f"| {r['cv']:.2f} | {r['change']:.2f} | {r['replaced']:.2f} |"
            )
        notes.append(f"{title}: loaded {len(motions)} files in {load_s:.1f} s, skipped {len(errors)}")
        notes += [f"  skipped: {e}" for e in errors]
        if kind == "msr":
            filled = [m for m in motions if m.meta["untracked"].any()]
            trimmed = [m for m in motions if sum(m.meta["trimmed"])]
            notes.append(
                f"  {len(filled)} files had untracked frames inside (filled by interpolation, "
                f"{sum(int(m.meta['untracked'].sum()) for m in filled)} frames); "
                f"{len(trimmed)} had untracked frames cut at the ends "
                f"({sum(sum(m.meta['trimmed']) for m in trimmed)} frames)"
            )
        else:
            gaps = [(m.meta["sequence"], g) for m in motions for g in m.meta["gaps"]]
            notes.append(
                f"  {len(gaps)} tracking gaps over {len({s for s, _ in gaps})} files "
                f"({sum(int(m.meta['interpolated'].sum()) for m in motions)} grid frames interpolated); "
                f"{sum(m.meta['repeated_ids'] for m in motions)} repeated frame ids kept as samples"
            )
            unlabelled = [f"{m.meta['sequence']}: {n}" for m in motions for n in m.meta.get("label_notes", [])]
            notes += [f"  label note: {n}" for n in unlabelled]
        # Mean bone lengths (cm) for the record: resources/skeletons/kinect20.json keeps them per set.
        skel = motions[0].skeleton
        lengths = np.mean([np.median(m.bone_lengths(), axis=0) for m in motions], axis=0)
        notes.append(
            "  mean bone lengths (cm): "
            + ", ".join(f"{skel.joints[c]} {v:.1f}" for (_, c), v in zip(skel.bones, lengths))
        )
    print()
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
