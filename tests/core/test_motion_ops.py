import numpy as np
import pytest

from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, forward_kinematics
from csgn_core.motion.ops import mirror, resample

from .helpers import random_motion, toy_skeleton


def _naive_fk(sk, rot, root):
    F, J = rot.shape[:2]
    pos = np.zeros((F, J, 3))
    for f in range(F):
        glob = [None] * J
        for j, p in enumerate(sk.parents):
            if p < 0:
                glob[j] = Q.to_matrix(rot[f, j])
                pos[f, j] = root[f]
            else:
                glob[j] = glob[p] @ Q.to_matrix(rot[f, j])
                pos[f, j] = pos[f, p] + glob[p] @ sk.offsets[j]
    return pos


def test_fk_matches_naive_matrices():
    m = random_motion(toy_skeleton(), frames=12)
    np.testing.assert_allclose(m.positions, _naive_fk(m.skeleton, m.rotations, m.root), atol=1e-9)


def test_identity_pose_is_rest_pose():
    sk = toy_skeleton()
    rot = Q.identity((3, sk.n_joints))
    pos = forward_kinematics(sk, rot, np.zeros((3, 3)))
    np.testing.assert_allclose(pos[1], sk.rest_positions())


def test_rigid_bones_under_fk():
    m = random_motion(toy_skeleton(), frames=30)
    lengths = m.bone_lengths()
    np.testing.assert_allclose(lengths, np.broadcast_to(m.skeleton.bone_lengths[1:], lengths.shape), atol=1e-9)


def test_resample_rotations_and_positions():
    m = random_motion(toy_skeleton(), frames=61, fps=60)
    half = resample(m, 30)
    assert half.n_frames == 31 and half.fps == 30
    np.testing.assert_allclose(half.positions, m.positions[::2], atol=1e-9)
    up = resample(half, 60)
    assert up.n_frames == 61
    np.testing.assert_allclose(up.positions[::2], half.positions, atol=1e-9)
    pm = Motion.from_positions(m.skeleton, m.positions, 60)
    np.testing.assert_allclose(resample(pm, 20).joint_positions, m.positions[::3], atol=1e-9)
    with pytest.raises(ValueError):
        resample(m, 0)


def test_mirror_positions_and_rotations_agree():
    m = random_motion(toy_skeleton(), frames=20)
    mm = mirror(m)
    sk = m.skeleton
    expected = m.positions[:, sk.mirror_map()] * np.array([-1, 1, 1])
    np.testing.assert_allclose(mm.positions, expected, atol=1e-9)
    pm = mirror(Motion.from_positions(sk, m.positions, m.fps))
    np.testing.assert_allclose(pm.positions, expected, atol=1e-9)
    np.testing.assert_allclose(mirror(mm).positions, m.positions, atol=1e-9)


def test_motion_validation():
    sk = toy_skeleton()
    with pytest.raises(ValueError):
        Motion(sk, 30, rotations=np.zeros((5, 3, 4)))
    with pytest.raises(ValueError):
        Motion(sk, 0, joint_positions=np.zeros((5, sk.n_joints, 3)))
    with pytest.raises(ValueError):
        Motion(sk, 30)
