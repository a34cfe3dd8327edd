"""Draw a motion file as a strip of stick figures (side view) plus root path, to look at it quickly.

Usage: python scripts/filmstrip.py MOTION OUT.png [--frames 12] [--every SECONDS]
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from csgn_core.io import load_motion  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("motion")
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=12)
    args = ap.parse_args()
    m = load_motion(args.motion)
    p = m.positions  # (F, J, 3)
    sk = m.skeleton
    side = sk.side()
    idx = np.linspace(0, m.n_frames - 1, args.frames).astype(int)
    fig, axes = plt.subplots(2, 1, figsize=(2 * args.frames, 7), gridspec_kw={"height_ratios": [3, 1]})
    ax = axes[0]
    for k, f in enumerate(idx):
        x0 = k * 120.0
        q = p[f] - np.array([p[f, 0, 0], 0, p[f, 0, 2]])
        for par, ch in sk.bones:
            c = "tab:red" if side[ch] < 0 else "tab:blue" if side[ch] > 0 else "k"
            ax.plot([x0 + q[par, 0], x0 + q[ch, 0]], [q[par, 1], q[ch, 1]], c=c, lw=2)
        ax.text(x0, -15, f"{f / m.fps:.1f}s", ha="center", fontsize=8)
    ax.axhline(0, c="0.7", lw=0.5)
    ax.set_aspect("equal")
    ax.set_title(f"{args.motion}: front view (x, y), red = left")
    ax.axis("off")
    axes[1].plot(p[:, 0, 0], p[:, 0, 2])
    axes[1].set_aspect("equal")
    axes[1].set_title("root path (x, z), cm")
    fig.tight_layout()
    fig.savefig(args.out, dpi=60)


if __name__ == "__main__":
    main()
