"""Held-out windows that copy the training split are found and set apart."""
import numpy as np

from csgn_core.evaluation.duplicates import COPY_CM, WindowIndex

from .helpers import random_motion, toy_skeleton


def test_a_copied_passage_is_found_wherever_it_stands_and_faces():
    sk = toy_skeleton()
    train = random_motion(sk, 120, seed=1, fps=25.0)
    other = random_motion(sk, 120, seed=2, fps=25.0)
    index = WindowIndex([train])
    # The same poses 40 frames in, moved across the floor and turned: still a copy (root- and
    # facing-relative); a different motion is not.
    from csgn_core.motion import quaternion as Q
    from csgn_core.motion.clip import Motion
    yaw = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), 1.2)
    rot = train.rotations[40:90].copy()
    rot[:, 0] = Q.multiply(np.broadcast_to(yaw, rot[:, 0].shape), rot[:, 0])
    root = Q.rotate(np.broadcast_to(yaw, (50, 4)), train.root[40:90]) + [300.0, 0.0, -150.0]
    moved = Motion(sk, 25.0, rotations=rot, root=root)
    assert index.nearest(moved.positions, np.array([0, 10]))[0] < 1e-2
    assert index.is_copy(moved.positions, 30)
    assert index.nearest(other.positions, np.array([0, 50, 90])).min() > COPY_CM
    assert not index.is_copy(other.positions, 60)
    assert index.copy_fraction(moved) == 1.0 and index.copy_fraction(other) == 0.0
