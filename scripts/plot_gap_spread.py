"""Plot a held-out dance's left wrist height through a 60- and a 160-frame gap filled as draws (spread 1)
and at the bundled model's gap spread, two seeds each, against the real frames: docs/results/gap-spread.png.

    python scripts/plot_gap_spread.py
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.editing.completion import Problem, complete_problem, conform  # noqa: E402
from csgn_core.evaluation.infill import _held_out  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402

m = load_model(ROOT / "resources" / "models" / "dance")
c = conform(_held_out("tang-dance", 3)[2], m)
own = m.cfg.gap_spread
j = m.skeleton.joints.index([n for n in m.skeleton.joints if "hand" in n.lower() or "wrist" in n.lower()][0])
fig, ax = plt.subplots(2, 1, figsize=(10, 6))
for k, (L, a, b) in enumerate([(160, 40, 100), (260, 40, 200)]):
    ww = c.slice(300, 300 + L)
    prob = Problem(L, [(0, ww.slice(0, a)), (b, ww.slice(b, L))])
    real = ww.positions[:, j]
    ax[k].plot(real[:, 1], "k", label="real")
    for gs, col in ((1.0, "tab:red"), (own, "tab:blue")):
        m.cfg.gap_spread = gs
        for s in (1, 2):
            r, t, _, _ = complete_problem(m, prob, s)
            p = Motion(m.skeleton, m.fps, rotations=r, root=t).positions[:, j]
            ax[k].plot(p[:, 1], color=col, alpha=0.8, label=f"spread {gs} seed {s}" if k == 0 else None)
    ax[k].axvspan(a, b, color="0.9"); ax[k].set_ylabel(f"{m.skeleton.joints[j]} height cm")
ax[0].legend(fontsize=7); ax[1].set_xlabel("frame")
fig.tight_layout(); fig.savefig(ROOT / "docs" / "results" / "gap-spread.png", dpi=80)
