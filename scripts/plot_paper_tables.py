"""Plot docs/results/paper_tables.png from the `csgn eval fid --json` outputs stored beside it.

    python scripts/plot_paper_tables.py
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def _bars(ax, rows, title):
    names = [r["source"] for r in rows]
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r["fid_ensemble"] for r in rows], 0.4, label="FID ensemble")
    ax.bar([i + 0.2 for i in x], [r["fid_time"] for r in rows], 0.4, label="FID time")
    ax.set_yscale("log")
    ax.set_xticks(list(x), names, rotation=30, ha="right")
    ax.set_title(title)
    ax.legend()


def main() -> int:
    gen = json.loads((RESULTS / "generation-fid.json").read_text(encoding="utf-8"))
    abl = json.loads((RESULTS / "ablations-fid.json").read_text(encoding="utf-8"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    _bars(axes[0], gen["rows"], f"{gen['dataset']}: models and controls (N={gen['n']}, M={gen['m']})")
    _bars(axes[1], abl["rows"], f"{abl['dataset']}: ablations, ~210 steps each (N={abl['n']}, M={abl['m']})")
    out = RESULTS / "paper_tables.png"
    fig.savefig(out, dpi=90)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
