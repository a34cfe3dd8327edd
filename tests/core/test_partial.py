"""Partial-pose pins: joint groups on every skeleton, the document and its files, and fills that hold
the chosen joints exactly with the body generated around them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from csgn_core.editing.partial import describe, group_joints, resolve_joints
from csgn_core.editing.timeline import Pin, Timeline, TimelineError
from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.skeleton import load_named

REPO = Path(__file__).resolve().parents[2]
DANCE = REPO / "resources" / "models" / "dance"


@pytest.mark.parametrize("name", ["tang23", "bandai22", "kinect20"])
def test_groups_exist_on_every_skeleton(name):
    sk = load_named(name)
    left, right, arms = (group_joints(sk, g) for g in ("left arm", "right arm", "arms"))
    assert left and right and set(left) | set(right) <= set(arms) and not set(left) & set(right)
    legs = group_joints(sk, "legs")
    assert legs[0] == sk.joints[0] and len(legs) >= 5  # the legs hold the root: they carry the body
    assert group_joints(sk, "head")
    assert describe(sk, arms) == "arms" and describe(sk, None) == "all" and describe(sk, left[:1]) == "1 joints"


def test_bad_joint_specs_are_clear():
    sk = load_named("tang23")
    with pytest.raises(CSGNError, match="unknown joint group"):
        resolve_joints(sk, "tail")
    with pytest.raises(CSGNError, match="no joint 'nose'"):
        resolve_joints(sk, ["nose"])
    assert resolve_joints(sk, ["r_hand", "l_hand"]) == ("l_hand", "r_hand")  # skeleton order


@pytest.fixture(scope="module")
def dance(dance_held_out):
    return dance_held_out


def _root_frame(pos, rot):
    return Q.rotate(Q.conjugate(rot[:, None, 0]), pos - pos[:, :1])


def _seam_peak(pos, fps, at, n):
    acc = np.linalg.norm(np.diff(pos, 2, axis=0), axis=-1).mean(axis=1) * fps ** 2
    return np.r_[acc[at - 4:at + 4], acc[at + n - 4:at + n + 4]].max() / np.median(acc)


def test_fills_hold_the_joints_and_generate_the_rest(dance, tmp_path):
    from csgn_core.editing.completion import fill, fill_stale
    from csgn_core.editing.project import load_project, save_project

    model, clips = dance
    sk = model.skeleton
    peaks = {"whole": [], "partial": []}
    for i, src in enumerate(clips):
        for group in ("arms", "legs"):
            joints = group_joints(sk, group)
            doc = Timeline(250, model.fps, "dance", sk)
            pin = doc.add_pin(Pin(src, 100, 150, 100, joints=joints))
            f = fill(doc, model, seed=i)
            doc.set_fill(f)
            out, ref = f.motion, src.slice(100, 150)
            idx = [sk.joints.index(j) for j in joints]
            held = _root_frame(out.positions[100:150], out.rotations[100:150])[:, idx]
            assert np.abs(held - _root_frame(ref.positions, ref.rotations)[:, idx]).max() < 1.0  # cm
            if group == "legs":  # the root is held too: the body travels as the pin's did
                assert np.abs(out.positions[100:150][:, idx] - ref.positions[:, idx]).max() < 1.0
            free = [j for j in range(sk.n_joints) if j not in idx]
            assert np.abs(out.rotations[100:150][:, free] - ref.rotations[:, free]).max() > 0.05  # generated
            assert doc.current_motion() is f.motion or np.allclose(doc.current_motion().rotations, out.rotations)
            peaks["partial"].append(_seam_peak(out.positions, model.fps, 100, 50))
            whole = Timeline(250, model.fps, "dance", sk)
            whole.add_pin(Pin(src, 100, 150, 100))
            peaks["whole"].append(_seam_peak(fill(whole, model, seed=i).motion.positions, model.fps, 100, 50))
            # a fill of nothing new keeps the generated body under the pin bit for bit
            again = fill_stale(doc, model, seed=99)
            assert np.array_equal(again.motion.rotations, out.rotations)
            back = load_project(save_project(doc, tmp_path / f"{group}.csgnproj"))
            assert back.pins[0].joints == joints and not back.is_stale() and back.pins[0].id == pin.id
    # seams as smooth as a whole pin's (the peak acceleration at the edges over the take's median)
    assert np.median(peaks["partial"]) <= 1.25 * np.median(peaks["whole"])


def test_a_partial_pin_names_joints_its_source_has():
    src_sk = load_named("tang23")
    from .helpers import random_motion

    m = random_motion(src_sk, 10, fps=25.0)
    with pytest.raises(TimelineError, match="no joint 'Head'"):
        Pin(m, 0, 5, 0, joints=("Head",))
    p = Pin(m, 0, 5, 0, joints=("l_hand",))
    assert p.partial and len(p.signature()) == 7 and len(Pin(m, 0, 5, 0).signature()) == 6


def test_plans_take_partial_pins(dance, tmp_path):
    from csgn_core.editing.plan import build_timeline, read_plan
    from csgn_core.io import save_motion

    model, clips = dance
    save_motion(clips[0], tmp_path / "clip.npz")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"seconds": 8, "pins": [
        {"file": "clip.npz", "start": 0, "end": 24, "at": 10, "joints": "head"},
        {"file": "clip.npz", "start": 50, "end": 74, "at": 100, "joints": ["l_hand", "l_wrist"]}]}))
    _, pins = read_plan(plan)
    doc = build_timeline(model, pins, seconds=8)
    assert doc.pins[0].joints == group_joints(model.skeleton, "head")
    assert doc.pins[1].joints == ("l_wrist", "l_hand")
    plan.write_text(json.dumps({"pins": [{"file": "clip.npz", "start": 0, "end": 5, "at": 0, "joints": 3}]}))
    with pytest.raises(CSGNError, match="joints must be"):
        read_plan(plan)


def test_floor_path_pins_carry_the_body_along_the_path(dance, tmp_path):
    """A path pin holds the root's floor track and facing only: the fill's root follows it (within
    5 cm), the body is generated (not the source's), the height is the generated one."""
    from csgn_core.editing.completion import fill
    from csgn_core.editing.project import load_project, save_project
    from csgn_core.editing.splice import heading_angle, wrap_angle

    model, clips = dance
    src = clips[1]
    doc = Timeline(260, model.fps, "dance", model.skeleton)
    doc.add_pin(Pin(src, 0, 40, 0))
    path = doc.add_pin(Pin(src, 40, 160, 40, path=True))
    doc.set_fill(fill(doc, model, seed=3))
    out = doc.fill.motion
    assert np.linalg.norm(out.root[40:160][:, [0, 2]] - src.root[40:160][:, [0, 2]], axis=-1).max() < 5.0
    assert np.abs(wrap_angle(heading_angle(out.rotations[40:160, 0]) - heading_angle(src.rotations[40:160, 0]))).max() < 1e-3
    assert np.abs(out.rotations[40:160, 1:] - src.rotations[40:160, 1:]).max() > 0.05  # the body is generated
    assert path.partial and path.holds == "path" and "('path',)" not in str(Pin(src, 0, 5, 0).signature())
    back = load_project(save_project(doc, tmp_path / "path.csgnproj"))
    assert back.pins[1].path and not back.is_stale()
    with pytest.raises(TimelineError, match="holds no joints"):
        Pin(src, 0, 5, 0, path=True, joints=("waist",))


def test_a_floor_paths_body_plants_its_feet_only_where_the_legs_hold_and_keeps_its_seams(dance, monkeypatch):
    """Carried along a path its legs did not step for, the generated body's feet are planted again
    where its legs can reach the pins (``clean_feet(strict=True)``): they never slide more than the
    same body's unplanted, no foot snaps, and the path's first and last frames (its seams with the
    pins beside it) do not move."""
    from csgn_core.editing import completion
    from csgn_core.motion.contacts import feet_for, foot_skating

    model, clips = dance
    sk = model.skeleton
    cleaned = []
    for ci, off, seed in ((0, 150, 5), (1, 150, 5), (2, 0, 6), (3, 0, 5)):
        src = clips[ci].slice(off, off + 140)
        doc = Timeline(220, model.fps, "dance", sk)
        doc.add_pin(Pin(src, 0, 40, 0))
        doc.add_pin(Pin(src, 40, 100, 40, path=True))
        doc.add_pin(Pin(src, 100, 140, 100))
        model.first_passes.clear()
        planted = completion.fill(doc, model, seed=seed).motion
        with monkeypatch.context() as mp:
            mp.setattr(completion, "_plant_path_feet", lambda motion, contacts: motion)
            model.first_passes.clear()  # the path's kept pose is the planted one
            raw = completion.fill(doc, model, seed=seed).motion
        p, r = planted.positions[40:100], raw.positions[40:100]
        cleaned.append(not np.array_equal(p, r))
        assert foot_skating(p, sk, model.fps) <= foot_skating(r, sk, model.fps) + 1e-9
        np.testing.assert_allclose(p[[0, -1]], r[[0, -1]], atol=1e-3)
        np.testing.assert_allclose(planted.root[40:100], raw.root[40:100])  # the path itself is untouched
        points = [sk.index(j) for side in feet_for(sk).values() for k, j in side.items() if k in ("ankle", "toe")]
        step = lambda x: np.linalg.norm(np.diff(x[:, points], axis=0), axis=-1).max(axis=0)  # noqa: E731
        assert (step(p) <= 1.25 * step(r) + 1e-6).all()  # no foot snaps
    assert sum(cleaned) >= 2  # legs were planted here (three of these four on the development machine)


def test_a_floor_paths_root_gives_a_little_where_that_keeps_a_planted_foot_still(dance):
    """``path_slack``: a real dance carried along a path that drifts from the one its legs stepped
    (a wobble of 6 cm) gets floor offsets that stay within the slack, vanish at the path's ends, and
    take part of the drift off its planted feet; a body whose feet never touch the floor gets none."""
    from csgn_core.editing.completion import _pin_floors
    from csgn_core.editing.partial import PATH_SLACK_CM, path_slack
    from csgn_core.motion.clip import Motion
    from csgn_core.motion.contacts import contact_point_indices, foot_skating

    model, clips = dance
    sk = model.skeleton
    src = clips[0].slice(100, 160)
    root = src.root.copy()
    root[:, 0] += 6.0 * np.sin(np.linspace(0, 3 * np.pi, 60))  # the path the body is carried along
    carried = Motion(sk, src.fps, rotations=src.rotations, root=root)
    floors = _pin_floors(sk, [clips[0].slice(0, 100)])
    pts = contact_point_indices(sk)
    e = path_slack(carried.positions, pts, floors)
    assert np.linalg.norm(e, axis=1).max() <= PATH_SLACK_CM + 1e-9 and not e[[0, -1]].any()
    eased = root.copy()
    eased[:, [0, 2]] += e
    before = foot_skating(carried.positions, sk, src.fps, floors=floors)
    after = foot_skating(Motion(sk, src.fps, rotations=src.rotations, root=eased).positions, sk, src.fps,
                         floors=floors)
    assert after < 0.9 * before, (before, after)
    assert not path_slack(carried.positions, pts, floors - 100.0).any()  # no foot near that floor


def test_a_refill_redoes_a_partial_pins_first_pass_only_when_the_whole_pins_change(dance, monkeypatch):
    """A partial pin's first pass sees the whole pins only: an edit of another pin away from it, or of
    the partial pins themselves, re-fills without redoing it (a path's are a dozen decodes), and a
    pin whose gaps did not change keeps its frames bit for bit; moving a whole pin redoes them."""
    from csgn_core.editing import completion

    model, clips = dance
    model.first_passes.clear()
    src = clips[0]
    doc = Timeline(400, model.fps, "dance", model.skeleton)
    doc.add_pin(Pin(src, 0, 30, 0))
    doc.add_pin(Pin(src, 60, 120, 60, path=True))
    beside = doc.add_pin(Pin(src, 130, 145, 130))
    arms = doc.add_pin(Pin(src, 170, 200, 170, joints=group_joints(model.skeleton, "arms")))
    doc.add_pin(Pin(src, 230, 260, 230))
    far = doc.add_pin(Pin(src, 300, 330, 300))
    doc.set_fill(completion.fill(doc, model, seed=1))
    before = doc.fill.motion
    passes = []
    real = completion._draws  # every pass is a draw: a path's candidates are drawn together
    monkeypatch.setattr(completion, "_draws", lambda *a, **k: passes.extend(a[2]) or real(*a, **k))

    def refill(edit):
        passes.clear()
        edit()
        doc.set_fill(completion.fill_stale(doc, model, seed=1))
        return len(passes)

    assert refill(lambda: doc.move_pin(far.id, 320)) == 1  # the second pass only
    assert np.array_equal(doc.fill.motion.rotations[60:200], before.rotations[60:200])
    # The arms' shared first pass runs once for the whole pins as they are now, then not again.
    assert refill(lambda: doc.move_pin(arms.id, 175)) == 2
    assert refill(lambda: doc.move_pin(arms.id, 178)) == 1
    assert np.array_equal(doc.fill.motion.rotations[60:120], before.rotations[60:120])
    assert refill(lambda: doc.move_pin(beside.id, 132)) == completion.PATH_CANDIDATES + 2
    assert len(model.first_passes) <= completion.FIRST_PASS_CACHE


def test_a_floor_path_keeps_its_seed_and_its_body_when_a_pin_lands_beside_it(dance, monkeypatch):
    """The editor re-fills with a new seed each time; a path that stays where it is keeps the seed of
    its first passes (recorded in the fill's seeds under its range), so a pin placed beside it re-fills
    without them and the body along the path stays as the user saw it."""
    from csgn_core.editing import completion

    model, clips = dance
    model.first_passes.clear()
    src = clips[1]
    doc = Timeline(300, model.fps, "dance", model.skeleton)
    doc.add_pin(Pin(src, 0, 30, 0))
    path = doc.add_pin(Pin(src, 60, 120, 60, path=True))
    doc.set_fill(completion.fill_stale(doc, model, seed=1))
    assert doc.fill.seeds[(60, 120)] == 1
    before = doc.fill.motion
    passes = []
    real = completion._draws  # every pass is a draw: a path's candidates are drawn together
    monkeypatch.setattr(completion, "_draws", lambda *a, **k: passes.extend(a[2]) or real(*a, **k))
    doc.add_pin(Pin(src, 210, 240, 210))  # the gap beside the path changes, the path's window does not
    doc.set_fill(completion.fill_stale(doc, model, seed=2))
    assert len(passes) == 1 and doc.fill.seeds[(60, 120)] == 1
    assert np.array_equal(doc.fill.motion.rotations[60:120], before.rotations[60:120])
    doc.move_pin(path.id, 64)  # moved: a path of its own, from the fill's seed
    doc.set_fill(completion.fill_stale(doc, model, seed=3))
    assert doc.fill.seeds[(64, 124)] == 3
    passes.clear()
    doc.add_pin(Pin(src, 140, 160, 140))  # inside the path's window: its passes run again, with its seed
    doc.set_fill(completion.fill_stale(doc, model, seed=4))
    assert len(passes) == completion.PATH_CANDIDATES + 1 and doc.fill.seeds[(64, 124)] == 3
