import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.evaluation.motion_check import check, motion_stats
from csgn_core.motion import Motion

from .helpers import random_motion, toy_skeleton


def test_a_moving_rotation_motion_keeps_bones_and_does_not_freeze():
    m = random_motion(toy_skeleton(), 120, seed=1)
    s = motion_stats(m)
    assert s["bone_error"] < 1e-9
    assert s["longest_freeze_s"] < 0.2
    assert s["root_speed"] > 0 and s["joint_speed"] > 0


def test_a_held_pose_freezes_for_its_whole_length_even_while_gliding():
    m = random_motion(toy_skeleton(), 90, seed=2, fps=30.0)
    m.rotations[30:] = m.rotations[30]
    m.root[30:, 0] = m.root[30, 0] + np.arange(60) * 3.0  # the body slides on at 90 cm/s
    s = motion_stats(m)
    assert s["longest_freeze_s"] == pytest.approx(59 / 30)
    assert s["root_speed"] > 50


def test_stretched_bones_are_caught_in_position_motions():
    m = random_motion(toy_skeleton(), 20, seed=3)
    pos = m.positions.copy()
    pos[5:, 4] += np.array([5.0, 0, 0])  # the left hand leaves its forearm
    s = motion_stats(Motion(m.skeleton, m.fps, joint_positions=pos))
    assert s["bone_error"] > 0.05


def test_check_applies_the_issue_thresholds():
    real = {"root_speed": 50.0, "joint_speed": 80.0}
    good = [{"bone_error": 0.0, "longest_freeze_s": 1.0, "root_speed": 90.0, "joint_speed": 60.0}]
    assert check(good, real)["passed"]
    fast = [dict(good[0], root_speed=120.0)]
    res = check(fast, real)
    assert not res["passed"] and not res["root_speed_within_2x"] and res["joint_speed_within_2x"]
    frozen = [dict(good[0], longest_freeze_s=3.5)]
    assert not check(frozen, real)["passed"]
    with pytest.raises(CSGNError):
        motion_stats(random_motion(toy_skeleton(), 1))
