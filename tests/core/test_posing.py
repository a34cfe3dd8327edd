"""Posing a key by hand (editing/posing.py): the turned joint, and the one-frame pin that holds it."""
import numpy as np
import pytest

from csgn_core.editing.posing import keyed, posed_frame
from csgn_core.editing.timeline import Fill, Pin, Timeline, TimelineError
from csgn_core.motion import quaternion as Q

from .helpers import random_motion, toy_skeleton


def test_posed_frame_turns_one_joint_about_its_own_axes():
    m = random_motion(toy_skeleton(), 30, seed=2)
    p = posed_frame(m, 10, 3, [0.0, 0.0, 90.0])
    assert p.n_frames == 1 and np.allclose(p.root, m.root[10:11])
    others = [j for j in range(m.skeleton.n_joints) if j != 3]
    assert np.allclose(p.rotations[0, others], m.rotations[10, others])
    turn = Q.multiply(Q.conjugate(m.rotations[10, 3]), p.rotations[0, 3])  # the local turn added
    assert np.allclose(np.abs(turn), np.abs(Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.pi / 2)), atol=1e-9)
    with pytest.raises(TimelineError):
        posed_frame(m, 30, 3, [0, 0, 0])


def test_keys_are_one_frame_pins_updated_in_place_and_never_over_a_clip():
    sk = toy_skeleton()
    m = random_motion(sk, 60, seed=1)
    doc = Timeline(60, 30.0, "dance", sk)
    doc.set_fill(Fill(m, {}, frozenset()))
    old, pin = keyed(doc, 20, posed_frame(m, 20, 1, [30, 0, 0]))
    assert old is None and (pin.at, pin.length) == (20, 1)
    doc.add_pin(pin)
    old2, pin2 = keyed(doc, 20, posed_frame(m, 20, 1, [45, 0, 0]))
    assert old2 is pin and pin2.id == pin.id and pin2.version == pin.version + 1
    doc.pins = [Pin(m, 30, 50, 30, label="clip")]
    with pytest.raises(TimelineError, match="inside pin clip"):
        keyed(doc, 40, posed_frame(m, 40, 1, [10, 0, 0]))
