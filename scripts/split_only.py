"""Copy a built dataset keeping only one split's clips (e.g. to carry a smaller file to a GPU machine).

    python scripts/split_only.py IN.npz OUT.npz [--split gen]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csgn_core.io.datasets import SPLITS, Dataset  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--split", default="gen", choices=SPLITS)
    a = p.parse_args(argv)
    ds = Dataset.load(a.src)
    keep = np.flatnonzero(ds.clip_split == SPLITS.index(a.split))  # clip indices kept, in order
    frames = np.concatenate([np.arange(ds.clip_start[c], ds.clip_start[c + 1]) for c in keep])
    lengths = np.diff(ds.clip_start)[keep]
    new_index = -np.ones(len(ds.clip_names), np.int64)
    new_index[keep] = np.arange(len(keep))
    w = np.isin(ds.windows[:, 0], keep)
    windows = ds.windows[w].copy()
    windows[:, 0] = new_index[windows[:, 0]]
    sub = dataclasses.replace(
        ds, positions=ds.positions[frames],
        rotations=None if ds.rotations is None else ds.rotations[frames],
        root=None if ds.root is None else ds.root[frames],
        clip_start=np.concatenate([[0], np.cumsum(lengths)]).astype(ds.clip_start.dtype),
        clip_names=[ds.clip_names[c] for c in keep], clip_labels=ds.clip_labels[keep],
        clip_split=ds.clip_split[keep], windows=windows, window_valid=ds.window_valid[w])
    sub.save(a.dst)
    print(f"{a.dst}: {len(keep)} of {len(ds.clip_names)} clips, {len(frames)} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
