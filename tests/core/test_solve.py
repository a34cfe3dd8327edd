from pathlib import Path

import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, forward_kinematics, global_rotations
from csgn_core.motion.skeleton import Skeleton, load_named
from csgn_core.motion.solve import fit_rest_pose, positions_to_rotations, solve_report

from .helpers import random_motion, toy_skeleton

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tang2018-dance"


def _random_rotation_motion(skeleton: Skeleton, frames: int = 60, seed: int = 1) -> Motion:
    rng = np.random.default_rng(seed)
    rot = Q.normalize(rng.normal(size=(frames, skeleton.n_joints, 4)))
    root = rng.normal(scale=50.0, size=(frames, 3)) + np.array([0.0, 100.0, 0.0])
    return Motion(skeleton, 25.0, rotations=rot, root=root)


def _same_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (rad) between rotations, sign-insensitive."""
    return 2 * np.arccos(np.clip(np.abs(np.sum(a * b, -1)), 0.0, 1.0))


@pytest.mark.parametrize("fit_rest", [False, True])
def test_exact_recovery_on_tang23(fit_rest):
    skel = load_named("tang23")
    truth = _random_rotation_motion(skel)
    pos_motion = Motion.from_positions(skel, truth.positions, 25.0)
    solved = positions_to_rotations(pos_motion, smooth=0.0, fit_rest=fit_rest)
    # Positions come back exactly, whatever the twists of the one-child joints.
    np.testing.assert_allclose(solved.positions, truth.positions, atol=1e-6)
    np.testing.assert_allclose(solved.skeleton.offsets, skel.offsets, atol=1e-6)
    rep = solve_report(pos_motion, solved)
    assert rep["rms_cm"] < 1e-6 and rep["mean_dir_err_deg"] < 1e-4
    # Where the children's directions determine the rotation (several children that are not
    # collinear: waist, ankles), the rotations themselves come back exactly. One-child joints
    # cannot recover the twist about their bone (positions do not show it); leaves have none.
    g_true = global_rotations(skel, truth.rotations)
    g_got = global_rotations(solved.skeleton, solved.rotations)
    for name in ("waist", "l_ankle", "r_ankle"):
        j = skel.index(name)
        assert _same_rotation(g_true[:, j], g_got[:, j]).max() < 1e-6, name
    assert np.allclose(solved.root, truth.root)


def test_exact_positions_on_other_skeletons():
    # toy9 (a BVH-like tree with a three-child spine) and one with a joint sitting on its parent.
    toy = toy_skeleton()
    m = random_motion(toy, frames=30)
    solved = positions_to_rotations(Motion.from_positions(toy, m.positions, 30.0), smooth=0.0)
    np.testing.assert_allclose(solved.positions, m.positions, atol=1e-6)

    names = ["root", "spine", "spine_twist", "neck", "l_arm", "r_arm", "l_leg", "r_leg"]
    parents = [-1, 0, 1, 2, 2, 2, 0, 0]
    offsets = [[0, 0, 0], [0, 20, 0], [0, 0, 0], [0, 25, 0], [18, 20, 0], [-18, 20, 0], [9, -45, 0], [-9, -45, 0]]
    zero = Skeleton("zero_offset", names, parents, np.array(offsets, float), lr_pairs=[(4, 5), (6, 7)])
    truth = _random_rotation_motion(zero, frames=20, seed=3)
    solved = positions_to_rotations(Motion.from_positions(zero, truth.positions, 25.0), smooth=0.0)
    np.testing.assert_allclose(solved.positions, truth.positions, atol=1e-6)


def test_rotation_motion_input_and_joint_order():
    skel = load_named("tang23")
    truth = _random_rotation_motion(skel, frames=10, seed=5)
    solved = positions_to_rotations(truth, smooth=0.0)  # solved from its FK positions
    np.testing.assert_allclose(solved.positions, truth.positions, atol=1e-6)
    # A skeleton listing the same joints in another topological order maps by name.
    order = [0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    names = [skel.joints[i] for i in order]
    parents = [-1 if skel.parents[i] < 0 else order.index(skel.parents[i]) for i in order]
    other = Skeleton("tang23_reordered", names, parents, skel.offsets[order])
    solved2 = positions_to_rotations(truth, other, smooth=0.0)
    assert solved2.skeleton.joints == tuple(names)
    np.testing.assert_allclose(solved2.positions, truth.positions[:, order], atol=1e-6)


def test_smoothing_and_continuity():
    skel = load_named("tang23")
    truth = random_motion(skel, frames=80, seed=2, fps=25.0)
    rng = np.random.default_rng(0)
    noisy = Motion.from_positions(skel, truth.positions + rng.normal(scale=0.5, size=truth.positions.shape), 25.0)
    raw = positions_to_rotations(noisy, smooth=0.0)
    smooth = positions_to_rotations(noisy, smooth=2.0)
    for q in (raw.rotations, smooth.rotations):
        assert np.all(np.sum(q[1:] * q[:-1], -1) >= 0)  # sign-continuous over time
        np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-9)
    # The root follows the observed (noisy) root; smoothing acts on the rotations, so measure the
    # body relative to the root.
    jitter = lambda m: np.abs(np.diff(m.positions - m.root[:, None], 2, axis=0)).mean()  # noqa: E731
    assert jitter(smooth) < 0.7 * jitter(raw)


def test_rejects_bad_input():
    skel = load_named("tang23")
    pos = _random_rotation_motion(skel, frames=5).positions
    pos[2, 3, 1] = np.nan
    with pytest.raises(CSGNError, match="NaN"):
        positions_to_rotations(Motion.from_positions(skel, pos, 25.0))
    toy = random_motion(toy_skeleton(), frames=5)
    with pytest.raises(CSGNError, match="different joints"):
        positions_to_rotations(toy, skel)
    with pytest.raises(ValueError):
        positions_to_rotations(toy, smooth=-1)


def test_fit_rest_pose_keeps_orientation():
    skel = load_named("tang23")
    truth = _random_rotation_motion(skel, frames=30, seed=4)
    fitted = fit_rest_pose(skel.with_offsets(skel.offsets * 1.1), truth.positions)
    np.testing.assert_allclose(fitted.offsets, skel.offsets, atol=1e-6)


@pytest.fixture(scope="module")
def real_dances():
    zip_path = DATA / "dances.zip"
    if not zip_path.is_file():
        pytest.skip(f"Tang dance data not found at {zip_path} (../shared/data next to the repository)")
    from csgn_core.io.tang import list_dances, read_tang

    found = {p.parent.name: p for p in list_dances(zip_path)}
    picked = [name for name in ("DANCE_C_2", "DANCE_W_1") if name in found]
    if len(picked) < 2:  # some dances are withheld; fall back to the first Latin and Waltz present
        picked = [next(n for n in found if f"_{g}_" in n) for g in "CW" if any(f"_{g}_" in n for n in found)]
    return [read_tang(found[n]).slice(0, 1500) for n in picked]


def test_quality_targets_on_real_dances(real_dances):
    # Targets: joint-position RMS <= 5 cm and mean bone direction error <= 3 degrees (the length
    # wobble of the data alone puts the RMS floor near 3-4 cm).
    for motion in real_dances:
        solved = positions_to_rotations(motion)
        rep = solve_report(motion, solved)
        name = motion.meta["dance"]
        assert rep["rms_cm"] <= 5.0, (name, rep["rms_cm"])
        assert rep["mean_dir_err_deg"] <= 3.0, (name, rep["mean_dir_err_deg"])
        assert set(rep["per_bone"]) == set(motion.skeleton.joints[1:])
        # Rebuilt by FK with lengths fixed over time.
        np.testing.assert_allclose(solved.bone_lengths().std(0), 0.0, atol=1e-6)
        np.testing.assert_allclose(forward_kinematics(solved.skeleton, solved.rotations, solved.root), solved.positions)
