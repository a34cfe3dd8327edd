"""``csgn eval infill``'s ``csgn-clean`` rows: the fill as an exported file holds it (foot clean-up on
the generator's contacts), on the bundled dance model and real held-out dances."""
from __future__ import annotations

import numpy as np
import pytest


def test_infill_reports_the_exported_feet(dance_held_out, one_torch_thread):
    from csgn_core.evaluation.infill import eval_infill

    model, clips = dance_held_out
    res = eval_infill(model, clips, gaps=(30,), refine_seconds=0.0, max_windows=12,
                      methods=("csgn-norefine", "csgn-clean"), condition="inverse")
    plain, clean = ({r["method"]: r for r in res["rows"]}[m] for m in ("csgn-norefine", "csgn-clean"))
    assert plain["windows"] == clean["windows"] == 12
    # The clean-up moves the legs onto the contacts they can reach (strict: session 18): the same fill's
    # feet never slide more, the pose hardly moves. Unguarded it measured 97.5 against 110.7 cm/s here,
    # by pinning feet up to 14 cm beyond the legs' reach and snapping one 6x faster than it moved.
    assert clean["skate_cms"] <= plain["skate_cms"] + 1e-9
    assert clean["l2p_cm"] == pytest.approx(plain["l2p_cm"], rel=0.05)
    assert clean["seam"] < 2 * plain["seam"] + 1.0


def test_infill_reports_the_fills_acceleration_against_the_real_frames(dance_held_out, one_torch_thread,
                                                                       monkeypatch):
    """``accel``: a straight interpolation barely accelerates inside its gap, the real frames do, and a
    fill that shakes its root frame by frame (here: 3 cm of noise on the settled root) reads higher."""
    from csgn_core.editing import completion
    from csgn_core.evaluation.infill import eval_infill

    model, clips = dance_held_out
    kw = dict(gaps=(30,), refine_seconds=0.0, max_windows=6, methods=("csgn-norefine", "interp"))
    res = eval_infill(model, clips, **kw)
    rows = {r["method"]: r for r in res["rows"]}
    real = res["real_accel"][30]
    assert rows["interp"]["accel"] < 0.2 * real and rows["csgn-norefine"]["accel"] > 0.3 * real
    settle = completion._settle_gaps
    rng = np.random.default_rng(0)

    def shaken(*a):
        rot, root = settle(*a)
        return rot, root + 3.0 * rng.normal(size=root.shape) * [1, 0, 1]

    monkeypatch.setattr(completion, "_settle_gaps", shaken)
    shook = {r["method"]: r for r in eval_infill(model, clips, **kw)["rows"]}["csgn-norefine"]["accel"]
    assert shook > rows["csgn-norefine"]["accel"] + 1.0
