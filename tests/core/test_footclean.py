"""Foot contacts, the skating measure, two-bone IK and foot-slide clean-up."""
from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.contacts import detect_contacts, feet_for, foot_skating, skating_report
from csgn_core.motion.footclean import clean_feet, clean_for_export, two_bone_ik
from csgn_core.motion.skeleton import load_named

from ..conftest import DATA
from ..conftest import need as _need


@cache
def _bandai(kind: str):
    from csgn_core.io.archive import iter_files
    from csgn_core.io.bvh.read import read_bvh

    return read_bvh(next(iter_files(_need(DATA / "bandai-namco" / "dataset-1.zip"), f"*/data/*{kind}*.bvh")))


def _slid(motion: Motion, amplitude: float = 8.0) -> Motion:
    """The motion with its whole body drifting slowly sideways and back: planted feet slide."""
    t = np.arange(motion.n_frames) / motion.fps
    drift = np.stack([amplitude * np.sin(np.pi * t), 0 * t, amplitude * np.cos(0.6 * np.pi * t)], axis=1)
    return replace(motion, root=motion.root + drift, meta=dict(motion.meta))


def _planted_skeleton_motion(frames: int = 60, slide: float = 0.0) -> Motion:
    """tang23 standing still (rest pose, feet 2 cm above their floor) with the whole body moving
    sideways at ``slide`` cm per frame."""
    sk = load_named("tang23")
    rot = Q.identity((frames, sk.n_joints))
    rest = sk.rest_positions()
    lowest = rest[[sk.index("l_heel"), sk.index("l_toe")], 1].min()
    root = np.zeros((frames, 3))
    root[:, 1] = -lowest
    root[:, 0] = slide * np.arange(frames)
    return Motion(sk, 30, rotations=rot, root=root)


def test_skating_measure_on_known_motions():
    still = _planted_skeleton_motion()
    assert foot_skating(still.positions, still.skeleton, 30) == 0.0
    sliding = _planted_skeleton_motion(slide=0.5)
    rep = skating_report(sliding.positions, sliding.skeleton, 30)
    # Points on their floors (h = 0) weigh 1: the measure is the sliding speed, 15 cm/s.
    assert rep["skating"] == pytest.approx(15.0) and rep["low_fraction"] == 1.0
    high = sliding.positions + [0, 10, 0]
    assert foot_skating(high, sliding.skeleton, 30, floors=np.zeros(4)) == 0.0  # all above H


def test_two_bone_ik_reaches_keeps_lengths_and_bends_forward():
    rng = np.random.default_rng(0)
    F = 200
    hip = np.zeros((F, 3))
    knee = np.tile([0.0, -45.0, 3.0], (F, 1))
    ankle = np.tile([0.0, -85.0, 0.0], (F, 1))
    target = ankle + rng.normal(scale=8, size=(F, 3))
    side = np.tile([1.0, 0, 0], (F, 1))
    k, a = two_bone_ik(hip, knee, ankle, target, side)
    np.testing.assert_allclose(np.linalg.norm(k - hip, axis=1), np.linalg.norm(knee - hip, axis=1), rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(a - k, axis=1), np.linalg.norm(ankle - knee, axis=1), rtol=1e-9)
    reach = np.linalg.norm(target - hip, axis=1) < 0.999 * (45.1 + 40.1)
    np.testing.assert_allclose(a[reach], target[reach], atol=1e-6)
    # The knee stays on the side it bent to: the bend normal keeps pointing left (straight legs: 0).
    bend = np.sum(np.cross(k - hip, a - k) * side, axis=1)
    assert (bend > -1e-9).all() and (bend[reach] > 0).all()
    # A straight leg bends forward (the side axis decides).
    straight = np.tile([0.0, -90.0, 0.0], (1, 1))
    k, a = two_bone_ik(np.zeros((1, 3)), np.tile([0.0, -45, 0], (1, 1)), straight, np.array([[0.0, -80, 0]]), np.array([[1.0, 0, 0]]))
    assert k[0, 2] > 5


def test_contacts_on_a_real_walk_alternate():
    walk = _bandai("walk_normal")
    contacts = detect_contacts(walk.positions, walk.skeleton, walk.fps)
    assert set(contacts) == {"Foot_L", "Toes_L", "Foot_R", "Toes_R"}
    for name, flags in contacts.items():
        assert 0.2 < flags.mean() < 0.8, name
    # Mostly one heel down at a time while walking.
    both = contacts["Foot_L"] & contacts["Foot_R"]
    either = contacts["Foot_L"] | contacts["Foot_R"]
    assert both.sum() < 0.5 * either.sum()


@pytest.mark.parametrize("kind", ["walk_normal", "dance-short_normal"])
def test_clean_up_removes_added_sliding_down_to_real_data_level(kind):
    real = _bandai(kind)
    real_skating = foot_skating(real.positions, real.skeleton, real.fps)
    slid = _slid(real)
    cleaned, report = clean_feet(slid)
    assert report["skating_before"] > real_skating
    assert report["skating_after"] <= report["skating_before"]
    assert report["skating_after"] <= real_skating
    assert report["max_pin_error_cm"] < 6.0  # pins the drifted hips cannot reach
    # Only the legs changed, bones keep their lengths, and nothing jumps.
    sk = real.skeleton
    legs = {sk.index(j) for side in feet_for(sk).values() for k, j in side.items() if k in ("hip", "knee", "ankle")}
    others = [j for j in range(sk.n_joints) if j not in legs]
    np.testing.assert_allclose(cleaned.rotations[:, others], slid.rotations[:, others])
    np.testing.assert_allclose(cleaned.bone_lengths(), slid.bone_lengths(), atol=1e-6)
    step = np.linalg.norm(np.diff(cleaned.positions, axis=0), axis=-1).max()
    assert step < 1.3 * np.linalg.norm(np.diff(slid.positions, axis=0), axis=-1).max()


def test_held_ends_keep_the_first_and_last_feet():
    """A span cleaned to be spliced back between other frames (``hold_ends``): its first and last
    frames keep their feet, contacts running into them are pinned there, and it still slides less."""
    real = _bandai("walk_normal")
    span = _slid(real).slice(37, 127)
    cleaned, report = clean_feet(span, hold_ends=True)
    assert report["skating_after"] < 0.8 * report["skating_before"]
    np.testing.assert_allclose(cleaned.positions[[0, -1]], span.positions[[0, -1]], atol=1e-4)
    free, _ = clean_feet(span)
    assert np.abs(free.positions[[0, -1]] - span.positions[[0, -1]]).max() > 0.5  # what holding prevents


def test_strict_clean_up_lets_go_of_the_contacts_a_leg_cannot_reach():
    """``strict``: a contact whose pin its leg cannot reach (a straightened knee, a foot left hanging) is
    let go, and a leg whose foot would snap faster than the input's fastest frame is left as it was."""
    from csgn_core.motion.footclean import STRICT_PIN_CM

    span = _slid(_bandai("walk_normal")).slice(37, 127)
    _, loose = clean_feet(span, hold_ends=True)
    cleaned, strict = clean_feet(span, hold_ends=True, strict=True)
    assert loose["max_pin_error_cm"] > STRICT_PIN_CM and len(loose["feet_cleaned"]) == 2
    assert strict["max_pin_error_cm"] <= STRICT_PIN_CM and strict["feet_cleaned"]
    # The contacts the legs could not reach were let go, not pinned out of reach.
    assert sum(strict["contact_fraction"].values()) < sum(loose["contact_fraction"].values())
    assert strict["skating_after"] < strict["skating_before"]
    sk = span.skeleton
    points = [sk.index(j) for side in feet_for(sk).values() for k, j in side.items() if k in ("ankle", "heel", "toe")]
    step = lambda m: np.linalg.norm(np.diff(m.positions[:, points], axis=0), axis=-1).max(axis=0)  # noqa: E731
    assert (step(cleaned) <= 1.25 * step(span) + 1e-6).all()  # no foot snaps


def test_clean_up_on_a_solved_tang_dance():
    from csgn_core.io.archive import iter_files
    from csgn_core.io.tang import read_tang
    from csgn_core.motion.solve import positions_to_rotations

    path = next(iter_files(_need(DATA / "tang2018-dance" / "dances.zip"), "*/DANCE_C_*/skeletons.json"))
    dance = read_tang(path).slice(0, 500)
    solved = positions_to_rotations(dance)
    cleaned, report = clean_feet(solved)
    assert report["skating_after"] <= report["skating_before"]
    assert sum(report["contacts"].values()) > 0
    assert np.isfinite(cleaned.positions).all()


@cache
def _tang_withheld(name: str = "DANCE_C_2", frames: int = 400) -> Motion:
    from csgn_core.io.tang import list_dances, read_tang

    path = next(p for p in list_dances(_need(DATA / "tang2018-dance")) if p.parent.name == name)
    m = read_tang(path)
    half = m.n_frames // 2  # the second half is the withheld (classifier) split
    return m.slice(half, min(m.n_frames, half + frames))


def test_export_clean_up_of_a_captured_dance_skates_less_than_the_capture():
    """A position capture is solved to rotations (which adds foot jitter: fixed bones against
    stretching markers), then the cleaned feet follow the capture with contacts pinned."""
    real = _tang_withheld()
    cleaned, report = clean_for_export(real)
    raw = foot_skating(real.positions, real.skeleton, real.fps)
    assert report["skating_before"] == pytest.approx(raw)
    assert report["skating_solved"] > raw  # the problem the reference clean-up removes
    after = foot_skating(cleaned.positions, cleaned.skeleton, cleaned.fps)
    assert after == pytest.approx(report["skating_after"])
    assert after < raw
    assert report["feet_cleaned"] and report["max_pin_error_cm"] < 8.0
    # The feet follow the capture more closely than the plain solve's do.
    from csgn_core.motion.solve import positions_to_rotations

    ank = [real.skeleton.index(j) for j in ("l_ankle", "r_ankle")]
    err = lambda m: np.median(np.linalg.norm(m.positions[:, ank] - real.positions[:, ank], axis=-1))  # noqa: E731
    assert err(cleaned) < 0.8 * err(positions_to_rotations(real))
    # Hips only ever sink (to let a fixed-length leg reach a stretched capture), and not far.
    drop = real.positions[:, 0, 1] - cleaned.root[:, 1]
    assert drop.min() > -1e-6 and drop.max() < 15.0
    np.testing.assert_allclose(cleaned.root[:, [0, 2]], real.positions[:, 0, [0, 2]], atol=1e-9)


def test_reference_positions_must_match_the_motion():
    solved = _planted_skeleton_motion(20)
    with pytest.raises(CSGNError, match="reference positions"):
        clean_feet(solved, reference=np.zeros((19, 23, 3)))
    bad = solved.positions.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(CSGNError, match="reference positions"):
        clean_feet(solved, reference=bad)


def test_clean_feet_input_checks():
    sk = load_named("tang23")
    with pytest.raises(CSGNError, match="rotation motion"):
        clean_feet(Motion(sk, 30, joint_positions=np.zeros((5, 23, 3))))
    toy = Motion(load_named("kinect20").with_offsets(load_named("kinect20").offsets, name="other"), 30,
                 rotations=Q.identity((5, 20)))
    assert feet_for(toy.skeleton)["left"]["toe"] == "FootLeft"  # found by joint names
    with pytest.raises(CSGNError, match="not a joint"):
        clean_feet(toy, feet={"left": {"hip": "x"}, "right": {}})
    # A still pose comes back unchanged.
    still = _planted_skeleton_motion(20)
    out, report = clean_feet(still)
    np.testing.assert_allclose(out.positions, still.positions, atol=1e-6)
    assert report["skating_before"] == report["skating_after"] == 0.0
