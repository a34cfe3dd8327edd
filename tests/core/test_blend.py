"""Blending two takes: A, a transition, then B placed where A ends; the command line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from csgn_core.errors import CSGNError

REPO = Path(__file__).resolve().parents[2]
DANCE = REPO / "resources" / "models" / "dance"


@pytest.fixture(scope="module")
def dance(dance_held_out):
    model, clips = dance_held_out
    return model, clips[:2]


def test_blend_keeps_both_takes_and_joins_them(dance):
    from csgn_core.editing.blend import blend_takes
    from csgn_core.editing.splice import heading_angle, wrap_angle

    model, (a, b) = dance
    a, b = a.slice(0, 100), b.slice(50, 150)
    out = blend_takes(model, a, b, 2.0, seed=1)
    s0, s1 = out.meta["blend_frames"]
    assert (s0, s1, out.n_frames) == (100, 150, 250)
    assert np.allclose(out.rotations[:100], a.rotations, atol=1e-6) and np.allclose(out.root[:100], a.root)
    # B's body exactly, turned and moved to carry on from A's last frame
    assert np.allclose(out.rotations[150:, 1:], b.rotations[:, 1:], atol=1e-6)
    assert abs(float(wrap_angle(heading_angle(out.rotations[150:151, 0]) - heading_angle(a.rotations[-1:, 0]))[0])) < 1e-6
    step = np.linalg.norm(np.diff(out.root[:, [0, 2]], axis=0), axis=1)
    assert step.max() < 15.0  # no jump anywhere: B stands where the transition leaves it (cm per frame)
    for bad in (dict(seconds=0), dict(seconds=2, spread=2)):
        with pytest.raises(CSGNError):
            blend_takes(model, a, b, bad["seconds"], spread=bad.get("spread", 0.5))


def test_placed_after_turns_and_moves_b():
    from csgn_core.editing.blend import placed_after
    from csgn_core.editing.splice import heading_angle, wrap_angle

    from .helpers import random_motion, toy_skeleton

    sk = toy_skeleton()
    a, b = random_motion(sk, 20, fps=25.0), random_motion(sk, 20, fps=25.0)
    p = placed_after(a, b)
    assert np.allclose(p.root[0, [0, 2]], a.root[-1, [0, 2]])
    assert abs(float(wrap_angle(heading_angle(p.rotations[:1, 0]) - heading_angle(a.rotations[-1:, 0]))[0])) < 1e-6
    d_b = np.linalg.norm(np.diff(b.root[:, [0, 2]], axis=0), axis=1)
    assert np.allclose(np.linalg.norm(np.diff(p.root[:, [0, 2]], axis=0), axis=1), d_b)  # the same steps


def test_csgn_blend_command(dance, tmp_path, capsys):
    from csgn_core.cli import main
    from csgn_core.io import load_motion, save_motion

    model, (a, b) = dance
    save_motion(a, tmp_path / "a.npz")
    save_motion(b, tmp_path / "b.npz")
    out = tmp_path / "ab.bvh"
    assert main(["blend", f"{tmp_path / 'a.npz'}:0-49", str(tmp_path / "b.npz"), "--over", "1", "--model", str(DANCE),
                 "-o", str(out)]) == 0
    m = load_motion(out)
    assert m.n_frames == 50 + 25 + b.n_frames
    assert main(["blend", f"{tmp_path / 'a.npz'}:0-99999", str(tmp_path / "b.npz"), "--over", "1",
                 "--model", str(DANCE), "-o", str(out)]) != 0
    assert "outside the file" in capsys.readouterr().err
