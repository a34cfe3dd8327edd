import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.evaluation.motion_check import check, motion_stats
from csgn_core.motion.clip import Motion

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


def test_goals_report_the_completion_issue_targets():
    from csgn_core.evaluation.motion_check import goals

    real = {"foot_skating": 60.0, "planted": 0.2, "acceleration": 1000.0}
    row = {"foot_skating": 66.0, "planted": 0.12, "travel": 300.0, "acceleration": 1400.0,
           "waist_flips_per_min": 0.0, "seconds": 60.0}
    g = goals([row], real, 1.0, 1.1)
    assert g["met"] and abs(g["skating_ratio"] - 1.1) < 1e-9 and g["travel_max_m"] == 3.0
    bad = goals([dict(row, travel=1200.0, waist_flips_per_min=2.0, planted=0.05)], real, 1.0, 1.3)
    assert not bad["met"] and not bad["travel_within_5m"] and bad["waist_flips"] == 2
    assert not bad["planted_at_least_half"] and not bad["speeds_within_0.8_1.25"]


def test_motion_stats_measure_feet_travel_and_waist_turns():
    from csgn_core.motion import quaternion as Q
    from csgn_core.motion.clip import Motion
    from csgn_core.motion.skeleton import load_named

    sk = load_named("tang23")
    F_ = 100
    rot = np.tile(Q.identity((sk.n_joints,)), (F_, 1, 1))
    rot[50:, 0] = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.pi * 0.75)  # the waist turns 135 degrees at once
    root = np.zeros((F_, 3))
    root[:, 0] = np.linspace(0, 99, F_)  # 1 cm a frame
    root[:, 1] = 100.0
    st = motion_stats(Motion(sk, 25.0, rotations=rot, root=root))
    assert abs(st["travel"] - 99.0) < 1e-6  # a 4 s motion: its end
    assert abs(st["max_waist_turn"] - 135.0) < 1e-6 and st["waist_flips_per_min"] == 15.0  # 1 in 4 s
    assert 0.0 <= st["planted"] <= 1.0 and st["foot_skating"] >= 0.0


def test_snaps_count_the_frames_where_a_joint_jumps():
    """A smooth motion has no snaps; a root knocked 60 cm aside for one frame makes three (the frame
    before, the frame and the frame after each accelerate past ``SNAP_ACCEL``)."""
    from csgn_core.evaluation.motion_check import SNAP_ACCEL

    sk = toy_skeleton()
    F, fps = 250, 25.0
    rot = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (F, sk.n_joints, 1))
    root = np.zeros((F, 3))
    root[:, 0] = 50.0 * np.sin(np.linspace(0.0, 2 * np.pi, F))  # a sway: smooth
    smooth = motion_stats(Motion(sk, fps, rotations=rot, root=root))
    assert smooth["snaps_per_min"] == 0.0
    root[100, 2] += 60.0  # 60 and 120 cm/frame^2 around it at 25 fps: over 18,750 cm/s^2
    assert 60.0 * fps * fps > SNAP_ACCEL
    knocked = motion_stats(Motion(sk, fps, rotations=rot, root=root))
    assert knocked["snaps_per_min"] == pytest.approx(3 / (F / fps / 60.0))
