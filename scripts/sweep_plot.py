"""The plot that ``tempo_energy.py`` and ``gap_styles.py`` share: each measure of a control sweep
relative to its value at the default setting, tempo and energy side by side."""
from __future__ import annotations

from pathlib import Path


def plot_sweep(rows: list[dict], series: list[tuple[str, str, str, tuple[str, ...]]], title: str,
               xlabel: str, out: str | Path, proportional: tuple[str, ...] = ("tempo",)) -> Path:
    """``rows``: dicts with ``kind`` ("tempo" or "energy"), ``value`` and each series' key; the row at
    tempo 1 is the reference. ``series``: (key, marker, label, kinds it is drawn for). ``xlabel`` may
    hold ``{kind}``; the panels of the kinds in ``proportional`` also draw the line y = x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = next(r for r in rows if r["kind"] == "tempo" and r["value"] == 1.0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, kind in zip(axes, ("tempo", "energy")):
        rs = [r for r in rows if r["kind"] == kind]
        v = [r["value"] for r in rs]
        for key, marker, label, kinds in series:
            if kind in kinds:
                ax.plot(v, [r[key] / base[key] for r in rs], marker, label=label)
        if kind in proportional:
            ax.plot(v, v, "k:", lw=0.8, label="proportional")
        ax.set_xlabel(xlabel.format(kind=kind))
        ax.set_ylabel("relative to the default")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
