import json
from pathlib import Path

import numpy as np
import pytest

from csgn_core.editing.completion import Cancelled, fill, fill_stale, new_timeline, predict, resample_gap
from csgn_core.editing.splice import (
    heading_angle,
    real_acceleration_quantile,
    seam_frames,
    seam_jumps,
    splice,
    turn_about_y,
)
from csgn_core.editing.timeline import Pin, Timeline
from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q

from .helpers import random_motion, toy_model, toy_skeleton

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    return toy_model()


def _doc(model, length, pins):
    doc = Timeline(length, model.fps, "tiny", model.skeleton)
    for at, src, a, b in pins:
        doc.add_pin(Pin(src, a, b, at))
    return doc


def _assert_pins_exact(doc, motion):
    for p in doc.pins:
        src = p.frames()
        np.testing.assert_allclose(motion.rotations[p.at:p.stop], src.rotations, atol=1e-12)
        np.testing.assert_allclose(motion.root[p.at:p.stop], src.root, atol=1e-12)


# Completion conditions the prior on H's latents only for a model whose H inverts G (the untrained
# tiny one does not); both paths must honour every pin.
BOTH_PATHS = pytest.mark.parametrize("fidelity", [0.0, 1.0], ids=["prior", "inverse"])


@BOTH_PATHS
def test_pinned_frames_equal_pins_any_layout(tiny, fidelity, monkeypatch):
    monkeypatch.setattr(tiny, "_inverse_fidelity", fidelity)
    sk = tiny.skeleton
    a, b = random_motion(sk, 50, seed=1), random_motion(sk, 40, seed=2)
    doc = _doc(tiny, 130, [(0, a, 5, 25), (37, b, 0, 1), (60, b, 10, 40), (129, a, 3, 4)])
    f = fill(doc, tiny, seed=3)
    assert f.motion.n_frames == 130 and np.isfinite(f.motion.rotations).all()
    _assert_pins_exact(doc, f.motion)
    assert set(f.seeds) == {(g.start, g.stop) for g in doc.gaps()}
    doc.set_fill(f)
    assert not doc.stale_gaps()
    # same seed, same result
    f2 = fill(doc, tiny, seed=3)
    np.testing.assert_array_equal(f2.motion.rotations, f.motion.rotations)


@BOTH_PATHS
def test_edges_single_frames_and_no_pins(tiny, fidelity, monkeypatch):
    monkeypatch.setattr(tiny, "_inverse_fidelity", fidelity)
    sk = tiny.skeleton
    src = random_motion(sk, 30, seed=4)
    for pins in ([(0, src, 0, 1)], [(49, src, 7, 8)], [(0, src, 0, 30), (49, src, 29, 30)], [(10, src, 0, 30)]):
        doc = _doc(tiny, 50, pins)
        f = fill(doc, tiny, seed=0)
        _assert_pins_exact(doc, f.motion)
    doc = new_timeline(tiny, 2.0, seed=1)
    assert doc.length == 60 and doc.fill is not None and not doc.pins


def test_one_frame_gaps_and_refinement(tiny):
    sk = tiny.skeleton
    src = random_motion(sk, 60, seed=5)
    doc = _doc(tiny, 60, [(0, src, 0, 20), (21, src, 21, 40), (41, src, 41, 60)])
    f = fill(doc, tiny, seed=0, refine_seconds=0.2)
    _assert_pins_exact(doc, f.motion)
    # a one-frame gap between continuous pins lands near the source frame
    assert np.linalg.norm(f.motion.root[20] - src.root[20]) < 10


def test_conditioning_on_h_follows_its_fidelity(tiny, monkeypatch):
    import csgn_core.model.inference as M
    from csgn_core.editing.completion import MIN_INVERSE_FIDELITY, uses_inverse
    calls = []
    real_encode = M.encode
    monkeypatch.setattr(M, "encode", lambda model, motion: calls.append(motion.n_frames) or real_encode(model, motion))
    src = random_motion(tiny.skeleton, 60, seed=3)
    doc = _doc(tiny, 100, [(0, src, 0, 30), (70, src, 30, 60)])
    for fidelity, encoded in ((MIN_INVERSE_FIDELITY - 0.01, False), (MIN_INVERSE_FIDELITY, True)):
        monkeypatch.setattr(tiny, "_inverse_fidelity", fidelity)
        calls.clear()
        f = fill(doc, tiny, seed=1)
        _assert_pins_exact(doc, f.motion)
        assert bool(calls) == encoded == uses_inverse(tiny)
    assert uses_inverse(tiny, "prior") is False and uses_inverse(tiny, "inverse") is True
    with pytest.raises(CSGNError, match="condition must be one of"):
        uses_inverse(tiny, "sometimes")


def test_a_measured_completion_path_in_the_config_overrides_the_fidelity_rule(tiny, tmp_path):
    """A model whose config records the completion path that filled better on held-out gaps
    (``completion_condition``) takes it under "auto", whatever its fidelity; an explicit condition
    still wins; a bad record is a clear error."""
    from csgn_core.editing.completion import uses_inverse
    from csgn_core.model.inference import export_model, load_model
    for cond, fidelity, want in (("inverse", 0.2, True), ("prior", 0.95, False)):
        folder = export_model(tiny, tmp_path / cond, extra={"completion_condition": cond, "inverse_fidelity": fidelity})
        m = load_model(folder)
        assert m.inverse_fidelity == fidelity and m.completion_condition == cond
        assert uses_inverse(m) is want and uses_inverse(m, "prior") is False and uses_inverse(m, "inverse") is True
    plain = load_model(export_model(tiny, tmp_path / "plain"))
    assert plain.completion_condition is None
    bad = export_model(tiny, tmp_path / "bad", extra={"completion_condition": "sometimes"})
    with pytest.raises(CSGNError, match="completion_condition"):
        load_model(bad)


def test_inverse_fidelity_is_measured_and_saved(tiny, tmp_path):
    from csgn_core.model.inference import export_model, load_model, measure_inverse_fidelity
    fresh = measure_inverse_fidelity(tiny)
    assert -1.0 <= fresh <= 1.0 and measure_inverse_fidelity(tiny) == fresh  # fixed seed
    folder = export_model(tiny, tmp_path / "m")
    assert json.loads((folder / "config.json").read_text())["inverse_fidelity"] == round(tiny.inverse_fidelity, 4)
    assert load_model(folder)._inverse_fidelity == round(tiny.inverse_fidelity, 4)  # read, not re-measured
    doc = json.loads((folder / "config.json").read_text())
    doc["inverse_fidelity"] = "high"  # a hand-edited config: measured again instead
    (folder / "config.json").write_text(json.dumps(doc))
    assert abs(load_model(folder).inverse_fidelity - fresh) < 1e-5


def test_root_path_meets_both_pins_without_jumps(tiny):
    sk = tiny.skeleton
    src = random_motion(sk, 40, seed=6)
    moved = random_motion(sk, 40, seed=7)
    moved.root[:] += np.array([300.0, 0, -200.0])  # far away: the gap must travel there smoothly
    doc = _doc(tiny, 120, [(0, src, 0, 30), (90, moved, 0, 30)])
    f = fill(doc, tiny, seed=0)
    _assert_pins_exact(doc, f.motion)
    step = np.linalg.norm(np.diff(f.motion.root, axis=0), axis=-1)
    assert step[29:90].max() < 20  # 360 cm over 60 frames: about 6 cm a frame, no teleport


def test_resample_changes_only_its_gap(tiny):
    sk = tiny.skeleton
    src = random_motion(sk, 80, seed=8)
    doc = _doc(tiny, 200, [(20, src, 0, 30), (90, src, 30, 60), (170, src, 60, 70)])
    doc.set_fill(fill(doc, tiny, seed=1))
    old = doc.fill.motion
    g = doc.gaps()[2]  # 120 .. 170
    new = resample_gap(doc, tiny, g.start + 3, seed=99)
    m = new.motion
    outside = np.ones(doc.length, bool)
    outside[g.start:g.stop] = False
    assert np.array_equal(m.rotations[outside], old.rotations[outside])
    assert np.array_equal(m.root[outside], old.root[outside])
    assert not np.allclose(m.rotations[g.start:g.stop], old.rotations[g.start:g.stop])
    assert new.seeds[(g.start, g.stop)] == 99
    doc.set_fill(new)
    with pytest.raises(CSGNError):
        resample_gap(doc, tiny, 25, seed=1)  # inside a pin


def test_resample_refuses_an_all_spline_gap(tiny):
    src = random_motion(tiny.skeleton, 80, seed=8)
    doc = _doc(tiny, 120, [(20, src, 0, 30), (55, src, 30, 40)])  # a 5-frame gap (1/6 s) between pins
    doc.set_fill(fill(doc, tiny, seed=1))
    with pytest.raises(CSGNError, match="spline transitions and have no variants"):
        resample_gap(doc, tiny, 52, seed=2)
    assert resample_gap(doc, tiny, 100, seed=2).seeds[(65, 120)] == 2  # an open gap still resamples


def test_resample_without_fill_is_an_error(tiny):
    doc = _doc(tiny, 40, [])
    with pytest.raises(CSGNError, match="fill the timeline"):
        resample_gap(doc, tiny, 0, seed=1)


def test_cancel_and_progress(tiny):
    src = random_motion(tiny.skeleton, 40, seed=9)
    doc = _doc(tiny, 100, [(10, src, 0, 40)])
    seen = []
    fill(doc, tiny, progress=lambda f, msg: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0 <= x <= 1 for x in seen)
    with pytest.raises(Cancelled):
        fill(doc, tiny, cancel=lambda: True)
    calls = []
    with pytest.raises(Cancelled):
        fill(doc, tiny, refine_seconds=5.0, cancel=lambda: calls.append(1) or len(calls) > 3)


def test_predict_starts_with_prefix(tiny):
    src = random_motion(tiny.skeleton, 25, seed=10)
    out = predict(tiny, src, 1.0, seed=2)
    assert out.n_frames == 55 and out.meta["prefix_frames"] == 25
    np.testing.assert_allclose(out.rotations[:25], src.rotations, atol=1e-12)
    out60 = predict(tiny, random_motion(tiny.skeleton, 50, seed=1, fps=60.0), 0.5)  # resampled to 30 fps
    assert out60.n_frames == 25 + 15
    seen = []
    predict(tiny, src, 1.0, seed=2, progress=lambda f, msg: seen.append(f))
    assert seen and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        predict(tiny, src, 1.0, cancel=lambda: True)


def test_wrong_fps_pin_is_a_clear_error(tiny):
    doc = _doc(tiny, 50, [(0, random_motion(tiny.skeleton, 20, fps=60.0), 0, 10)])
    with pytest.raises(CSGNError, match="fps"):
        fill(doc, tiny)


def test_splice_is_smooth_on_synthetic_tracks():
    # A generated track offset from the pins by a constant: the splice must remove the offset
    # without a velocity jump larger than the track's own.
    sk = toy_skeleton()
    m = random_motion(sk, 100, seed=11)
    gen_rot, gen_root = m.rotations.copy(), m.root.copy() + np.array([30.0, 5.0, -20.0])
    pinned = np.zeros(100, bool)
    pinned[:30] = pinned[70:] = True
    rot, root = splice(gen_rot, gen_root, m.rotations, m.root, pinned, blend=15)
    # The horizontal path is re-integrated from the pins: a constant offset goes away exactly. The
    # height correction decays from the seams (a long gap keeps the generated height).
    np.testing.assert_allclose(root[:, [0, 2]], m.root[:, [0, 2]], atol=1e-6)
    assert np.abs(root[:, 1] - m.root[:, 1]).max() <= 5.0 + 1e-9
    assert np.abs(np.diff(root[:, 1], 2)).max() < np.abs(np.diff(m.root[:, 1], 2)).max() + 0.5
    np.testing.assert_allclose(np.abs((rot * m.rotations).sum(-1)), 1.0, atol=1e-9)


def test_splice_of_a_pin_facing_away_has_no_swing():
    # A joint whose pin is turned about 180 degrees from the generated motion, turning slowly so
    # that its error crosses 180 between the last two pin frames (the rotation vectors of the two
    # errors point opposite ways, almost 2 pi apart): the gap must turn smoothly, not swing round.
    F, J = 80, 2
    gen = np.tile(Q.identity((J,)), (F, 1, 1))
    pin = gen.copy()
    angle = np.radians(170.25 + 0.5 * np.arange(F))  # 179.75 at frame 19, the last but one pinned; 180.25 at 20
    pin[:, 1] = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), angle)
    pinned = np.zeros(F, bool)
    pinned[:21] = pinned[60:] = True
    rot, _ = splice(gen, np.zeros((F, 3)), pin, np.zeros((F, 3)), pinned, blend=12)
    step = np.degrees(2 * np.arccos(np.clip(np.abs((rot[1:, 1] * rot[:-1, 1]).sum(-1)), 0, 1)))
    assert step[19:24].max() < 25, step[17:26]  # a 2 pi rate error swung it by over 100 degrees a frame


def test_splice_does_not_spin_a_gap_to_meet_a_flip_of_the_generator_under_a_pin(monkeypatch):
    # The generator turns steadily through a gap and on under the right pin, but flips its root by
    # 130 degrees between the gap's last frame and the pin's first (frames it generated there, which
    # the pin replaces): the gap must meet the pin at the rate it turns, not spin 130 degrees into it.
    from csgn_core.editing import splice as S

    F = 80
    yaw = np.radians(2.0 * np.arange(F))
    yaw[60:] += np.radians(130.0)  # G's flip, under the pin from frame 60
    gen = np.tile(Q.identity((2,)), (F, 1, 1))
    gen[:, 0] = turn_about_y(yaw)
    pin = gen.copy()
    pin[:, 0] = turn_about_y(np.radians(2.0 * np.arange(F)))  # the pins turn as the gap does, no flip
    pinned = np.zeros(F, bool)
    pinned[:20] = pinned[60:] = True

    def worst_turn():
        rot, _ = splice(gen, np.zeros((F, 3)), pin, np.zeros((F, 3)), pinned, blend=12)
        return np.degrees(np.abs(np.diff(np.unwrap(heading_angle(rot[:, 0]))))).max()

    assert worst_turn() < 3.0  # the gap's own 2 degrees a frame
    monkeypatch.setattr(S, "SEAM_FLIP_DEG", 1e9)
    assert worst_turn() > 20.0  # measured against the flipped frames: the spin this prevents


def _bandai_clips(n=3):
    z = DATA / "bandai-namco" / "dataset-2.zip"
    if not z.is_file():
        pytest.skip(f"Bandai-Namco data not found at {z}")
    from csgn_core.io.archive import iter_files
    from csgn_core.io.bvh.read import read_bvh
    files = [p for p in iter_files(z, "*.bvh") if "_walk_" in p.name][:n]
    return [read_bvh(p) for p in files]


@BOTH_PATHS
def test_seam_velocity_within_real_95th_percentile_actions_model(fidelity):
    model_dir = REPO / "resources" / "models" / "actions"
    if not (model_dir / "model.safetensors").is_file():
        pytest.skip("the bundled actions model is missing")
    from csgn_core.model.inference import load_model
    clips = _bandai_clips(4)
    model = load_model(model_dir)
    model._inverse_fidelity = fidelity
    limit = real_acceleration_quantile(clips[1:])
    clip = clips[0]
    L = min(clip.n_frames, 180)
    doc = Timeline(L, model.fps, "actions", model.skeleton)
    doc.add_pin(Pin(clip, 0, 40, 0))
    doc.add_pin(Pin(clip, 90, 110, 90))
    if L > 150:
        doc.add_pin(Pin(clip, 150, L, 150))
    f = fill(doc, model, seed=0)
    _assert_pins_exact(doc, f.motion)
    jumps = seam_jumps(f.motion, seam_frames(doc.pinned_mask()))
    assert len(jumps) >= 2
    assert jumps.max() <= limit, (jumps, limit)


# --- plans and the command-line functions ---------------------------------------------------------------
def test_parse_pin_splits_at_last_colon():
    from csgn_core.editing.plan import parse_pin
    s = parse_pin("C:/data/a:b.bvh:10-59@120")
    assert (s.file, s.start, s.end, s.at) == ("C:/data/a:b.bvh", 10, 59, 120)
    for bad in ("walk.bvh", "walk.bvh:1-2", "walk.bvh:a-b@3", "walk.bvh:5@3", ":1-2@3"):
        with pytest.raises(CSGNError) as e:
            parse_pin(bad)
        assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def tiny_files(tiny, tmp_path_factory):
    from csgn_core.io.npz import write_npz
    from csgn_core.model.inference import export_model
    d = tmp_path_factory.mktemp("complete")
    export_model(tiny, d / "model")
    write_npz(random_motion(tiny.skeleton, 60, seed=1), d / "a.npz")
    write_npz(random_motion(tiny.skeleton, 120, seed=2, fps=60.0), d / "b60.npz")
    return d


def test_complete_short_form_and_plan(tiny_files, capsys):
    from csgn_core.cli.sampling import complete_main
    from csgn_core.io.npz import read_npz
    d = tiny_files
    out = d / "out.npz"
    assert complete_main(["--model", str(d / "model"), "--seconds", "4", "--pin", f"{d / 'a.npz'}:0-29@10",
                          "--pin", f"{d / 'b60.npz'}:0-59@60", "-o", str(out)]) == 0
    m = read_npz(out)
    src = read_npz(d / "a.npz")
    assert m.n_frames == 120
    np.testing.assert_allclose(m.rotations[10:40], src.rotations[:30], atol=1e-12)
    # the 60 fps source: 60 source frames are 30 model frames
    plan = {"seconds": 3, "seed": 4, "pins": [{"file": "a.npz", "start": 0, "end": 9, "at": 0},
                                              {"file": "a.npz", "start": 50, "end": 59, "at": 80}]}
    (d / "plan.json").write_text(json.dumps(plan))
    assert complete_main(["--model", str(d / "model"), "--plan", str(d / "plan.json"), "-o", str(d / "p.csgnproj")]) == 0
    from csgn_core.editing.project import load_project
    doc = load_project(d / "p.csgnproj")
    assert doc.length == 90 and len(doc.pins) == 2 and not doc.stale_gaps()
    np.testing.assert_allclose(doc.fill.motion.rotations[80:90], src.rotations[50:60], atol=1e-12)


@pytest.mark.parametrize("pins, match", [
    (["a.npz:0-29@10", "a.npz:0-29@30"], "overlap"),
    (["a.npz:0-99@0"], "outside a.npz"),
    (["a.npz:0-29@100"], "outside the timeline"),
])
def test_bad_plans_give_one_line_errors(tiny_files, pins, match):
    from csgn_core.cli.sampling import complete_main
    d = tiny_files
    argv = ["--model", str(d / "model"), "--seconds", "4", "-o", str(d / "x.npz")]
    for p in pins:
        argv += ["--pin", str(d / p)]
    with pytest.raises(CSGNError, match=match) as e:
        complete_main(argv)
    assert "\n" not in str(e.value)


def test_bad_plan_file(tiny_files):
    from csgn_core.cli.sampling import complete_main
    d = tiny_files
    (d / "bad.json").write_text('{"pins": [{"file": "a.npz", "start": 0}]}')
    with pytest.raises(CSGNError, match="needs file, start, end and at"):
        complete_main(["--model", str(d / "model"), "--plan", str(d / "bad.json"), "-o", str(d / "x.npz")])


def test_plans_and_the_command_line_take_the_draws_a_gap_is_picked_from(tiny_files):
    from csgn_core.cli.sampling import complete_main
    d = tiny_files
    plan = {"seconds": 3, "draws": 2, "pins": [{"file": "a.npz", "start": 0, "end": 9, "at": 0},
                                               {"file": "a.npz", "start": 50, "end": 59, "at": 80}]}
    (d / "draws.json").write_text(json.dumps(plan))
    assert complete_main(["--model", str(d / "model"), "--plan", str(d / "draws.json"), "-o", str(d / "d.npz")]) == 0
    (d / "many.json").write_text(json.dumps(dict(plan, draws=100)))
    with pytest.raises(CSGNError, match="draws must be a number in"):
        complete_main(["--model", str(d / "model"), "--plan", str(d / "many.json"), "-o", str(d / "x.npz")])
    with pytest.raises(CSGNError, match="^bad setting: --draws must be 1-32, got 0$"):  # names the flag, not a plan
        complete_main(["--model", str(d / "model"), "--plan", str(d / "draws.json"), "--draws", "0",
                       "-o", str(d / "x.npz")])


def test_predict_main(tiny_files):
    from csgn_core.cli.sampling import predict_main
    from csgn_core.io.npz import read_npz
    d = tiny_files
    assert predict_main(["--model", str(d / "model"), "--prefix", str(d / "a.npz"), "--seconds", "1",
                         "--seed", "3", "-o", str(d / "pred.npz")]) == 0
    assert read_npz(d / "pred.npz").n_frames == 90


def test_pin_on_unmapped_skeleton_is_one_line(tiny_files):
    from csgn_core.cli.sampling import complete_main
    from csgn_core.io.npz import write_npz
    from csgn_core.motion.skeleton import Skeleton
    d = tiny_files
    odd = Skeleton("odd3", ["a", "b", "c"], [-1, 0, 1], np.array([[0, 0, 0], [0, 10, 0], [0, 10, 0.0]]))
    write_npz(random_motion(odd, 20), d / "odd.npz")
    with pytest.raises(CSGNError, match="no joint map") as e:
        complete_main(["--model", str(d / "model"), "--seconds", "2", "--pin", f"{d / 'odd.npz'}:0-9@0",
                       "-o", str(d / "x.npz")])
    assert "\n" not in str(e.value)


def test_eval_infill_smoke(tiny, tiny_files, tmp_path):
    from csgn_core.cli.eval_infill import eval_infill_main
    from csgn_core.evaluation.infill import eval_infill, format_table, npss
    t = np.linspace(0, 6, 80)[:, None]
    assert npss(np.sin(t), np.sin(t)) < 1e-9 and npss(np.sin(t), np.sin(3 * t)) > 0.01
    clips = [random_motion(tiny.skeleton, 120, seed=s) for s in range(2)]
    res = eval_infill(tiny, clips, gaps=(5, 20), left=16, right=8, refine_seconds=0.05, max_windows=2)
    # toy9 has no foot table, so there is no clean-up row (test_infill_reports_the_exported_feet has one)
    assert len(res["rows"]) == 8 and all(r["windows"] == 2 for r in res["rows"])
    interp = [r for r in res["rows"] if r["method"] == "interp"]
    assert all(np.isfinite(r["l2p_cm"]) and r["npss"] >= 0 for r in interp)
    assert "| 5 | interp |" in format_table(res) and set(res["real_skate"]) == {5, 20}
    out = tmp_path / "infill.md"
    assert eval_infill_main(["--model", str(tiny_files / "model"), "--clips", str(tiny_files / "a.npz"),
                             "--gaps", "5", "--refine", "0", "--max-windows", "1", "--out", str(out), "--plot"]) == 0
    assert out.is_file() and out.with_suffix(".png").is_file()


def test_eval_infill_writes_only_where_told(tiny_files, tmp_path, monkeypatch, capsys):
    """Without --out the table is printed and no file is written (it used to land in docs/results/)."""
    from csgn_core.cli.eval_infill import eval_infill_main
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = ["--model", str(tiny_files / "model"), "--clips", str(tiny_files / "a.npz"), "--gaps", "5",
            "--refine", "0", "--max-windows", "1"]
    assert eval_infill_main(argv) == 0
    assert "| 5 | interp |" in capsys.readouterr().out and not any(work.rglob("*"))
    with pytest.raises(CSGNError, match="--out"):
        eval_infill_main([*argv, "--plot"])


def test_eval_infill_data_and_json(tiny, tiny_files, tmp_path, capsys):
    from csgn_core.cli.eval_infill import eval_infill_main
    from csgn_core.evaluation.infill import _is_dataset
    from csgn_core.io.npz import write_npz
    # A motion .npz is a file to evaluate on, not a dataset; a dataset name is one.
    assert not _is_dataset(str(tiny_files / "a.npz")) and _is_dataset("tang-dance")
    write_npz(random_motion(tiny.skeleton, 160, seed=5), tmp_path / "long.npz")
    capsys.readouterr()
    assert eval_infill_main(["--model", str(tiny_files / "model"), "--data", str(tmp_path / "long.npz"),
                             "--gaps", "5,8", "--refine", "0", "--max-windows", "1", "--json",
                             "--out", str(tmp_path / "r.md")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [(r["gap"], r["method"]) for r in res["rows"]][:2] == [(5, "csgn"), (5, "csgn-norefine")]
    assert all(r["windows"] == 1 for r in res["rows"]) and set(res["real_skate"]) == {"5", "8"}
    with pytest.raises(CSGNError, match="held-out clips"):
        eval_infill_main(["--model", str(tiny_files / "model"), "--out", str(tmp_path / "r.md")])


def test_eval_infill_windows_sample_every_clip():
    from csgn_core.evaluation.infill import windows
    # A long clip first must not use up the limit: every clip gives its first window before any
    # clip gives a second.
    got = windows([1000, 100, 30, 120], W=50, stride=40, limit=5)
    assert got == [(0, 0), (1, 0), (3, 0), (0, 40), (1, 40)]
    assert (2, 0) not in windows([1000, 100, 30, 120], 50, 40, None)  # shorter than a window
    assert len(windows([1000], 50, 40, None)) == len(range(0, 951, 40))


def test_fill_stale_keeps_current_gaps(tiny):
    from csgn_core.editing.completion import fill_stale
    src = random_motion(tiny.skeleton, 80, seed=12)
    doc = _doc(tiny, 160, [(20, src, 0, 20), (70, src, 20, 40), (130, src, 40, 60)])
    doc.set_fill(fill(doc, tiny, seed=1))
    old = doc.fill.motion
    doc.move_pin(doc.pins[2].id, 135)  # only the gaps around the last pin go stale
    stale = {(g.start, g.stop) for g in doc.stale_gaps()}
    assert (0, 20) not in stale and (40, 70) not in stale
    f = fill_stale(doc, tiny, seed=2)
    assert np.array_equal(f.motion.rotations[:70], old.rotations[:70])
    assert np.array_equal(f.motion.root[:70], old.root[:70])
    _assert_pins_exact(doc, f.motion)
    doc.set_fill(f)
    assert not doc.stale_gaps()


def test_splice_turns_heading_and_path_smoothly():
    from csgn_core.editing.splice import heading_angle
    sk = toy_skeleton()
    F = 120
    # generated: walking straight along +z, facing +z
    gen_rot = np.tile(Q.identity((sk.n_joints,)), (F, 1, 1))
    gen_root = np.zeros((F, 3))
    gen_root[:, 2] = np.arange(F) * 3.0
    gen_root[:, 1] = 90
    # pins: the same walk, but the right pin faces +x (turned 90 degrees) and sits elsewhere
    pin_rot, pin_root = gen_rot.copy(), gen_root.copy()
    turn = Q.from_axis_angle(np.array([0, 1.0, 0]), np.pi / 2)
    pin_rot[80:, 0] = Q.multiply(turn, pin_rot[80:, 0])
    pin_root[80:] = np.array([150.0, 90, 200]) + (np.arange(40)[:, None] * np.array([3.0, 0, 0]))
    pinned = np.zeros(F, bool)
    pinned[:30] = pinned[80:] = True
    rot, root = splice(gen_rot, gen_root, pin_rot, pin_root, pinned, blend=15)
    assert np.array_equal(rot[pinned], pin_rot[pinned]) and np.array_equal(root[pinned], pin_root[pinned])
    yaw = np.unwrap(heading_angle(rot[:, 0]))
    assert abs(yaw[-1] - yaw[0] - np.pi / 2) < 1e-6
    assert np.abs(np.diff(yaw)).max() < np.radians(5)  # 90 degrees spread over the 50-frame gap
    step = np.linalg.norm(np.diff(root, axis=0), axis=-1)
    assert step.max() < 12 and np.abs(np.diff(step)).max() < 1.5  # no jumps, no jolts


def test_gap_of_minutes(tiny):
    src = random_motion(tiny.skeleton, 40, seed=13)
    L = 3 * 60 * 30
    doc = _doc(tiny, L, [(0, src, 0, 20), (L - 20, src, 20, 40)])
    f = fill(doc, tiny, seed=0)
    _assert_pins_exact(doc, f.motion)
    assert np.isfinite(f.motion.root).all()
    doc.set_fill(f)
    g = resample_gap(doc, tiny, L // 2, seed=5)
    assert np.array_equal(g.motion.root[:20], f.motion.root[:20])


def test_plan_model_is_used_unless_the_command_line_names_one(tmp_path):
    from csgn_core.cli.sampling import complete_main
    from csgn_core.io import load_motion

    plan = tmp_path / "plan.json"
    plan.write_text('{"format": "csgn-plan", "model": "actions", "seconds": 2}', encoding="utf-8")
    assert complete_main(["--plan", str(plan), "-o", str(tmp_path / "a.npz")]) == 0
    out = load_motion(tmp_path / "a.npz")
    assert out.skeleton.name == "bandai22" and out.fps == 30.0 and out.n_frames == 60
    assert complete_main(["--plan", str(plan), "--model", "dance", "-o", str(tmp_path / "d.npz")]) == 0
    assert load_motion(tmp_path / "d.npz").skeleton.name == "tang23"


def test_eval_infill_reports_copies_apart(tiny):
    from csgn_core.evaluation.duplicates import WindowIndex
    from csgn_core.evaluation.infill import eval_infill, format_table
    from csgn_core.motion.clip import Motion

    held = [random_motion(tiny.skeleton, 120, seed=s, fps=tiny.fps) for s in range(2)]
    index = WindowIndex([Motion(tiny.skeleton, tiny.fps, rotations=held[0].rotations, root=held[0].root)])
    res = eval_infill(tiny, held, gaps=(5,), left=16, right=8, refine_seconds=0.0, max_windows=4,
                      methods=("interp",), index=index)
    assert res["copies"] == {5: 2}  # round robin: two windows of each clip; clip 0 is in the training split
    assert res["rows"][0]["windows"] == 4 and res["rows_novel"][0]["windows"] == 2
    assert "copy in the training split: 2 of 4" in format_table(res)


def test_each_pin_bends_the_fill_over_its_own_blend_length(tmp_path):
    """Issue 15: the blend at a pin's edges is the pin's (seconds, saved), honoured by the splice."""
    from csgn_core.editing.project import load_project, save_project
    from csgn_core.editing.splice import splice
    from csgn_core.editing.timeline import Pin, Timeline

    F, J = 100, 3
    gen_rot = np.tile(Q.identity((J,)), (F, 1, 1))
    gen_root = np.zeros((F, 3))
    pin_rot, pin_root = gen_rot.copy(), gen_root.copy()
    pin_root[:, 1] = 10.0  # the pins sit 10 cm higher than what was generated
    pinned = np.zeros(F, bool)
    pinned[:20] = pinned[80:] = True
    per_frame = np.full(F, 3)
    per_frame[80:] = 30  # the left pin bends in over 3 frames, the right one over 30
    _, root = splice(gen_rot, gen_root, pin_rot, pin_root, pinned, per_frame)
    assert root[19, 1] == 10.0 and root[80, 1] == 10.0
    assert abs(root[26, 1]) < 0.5  # 7 frames from the short blend: back to the generated height
    assert root[73, 1] > 3.0  # 7 frames from the long blend: still bending towards the pin
    sk = toy_skeleton()
    doc = Timeline(90, 30.0, "dance", sk)
    doc.pins = [Pin(random_motion(sk, 30, seed=1), 0, 30, 10, label="a", blend=1.25)]
    back = load_project(save_project(doc, tmp_path / "b.csgnproj"))
    assert back.pins[0].blend == 1.25
    moved = Pin(doc.pins[0].source, 0, 30, 10, id=doc.pins[0].id, blend=0.2)
    assert moved.signature() != doc.pins[0].signature()  # a new blend makes the gaps beside it stale


def test_the_editors_refills_and_variants_take_the_better_of_their_draws(dance_held_out):
    """``fill_stale`` and ``resample_gap`` with ``draws``: each gap from the draw whose feet slide least,
    the first draw being the seed's own, so no gap slides more than the one draw would; the pins and
    every frame outside a resampled gap stay as they were."""
    from csgn_core.editing.completion import _pin_floors
    from csgn_core.motion.contacts import foot_skating

    model, clips = dance_held_out
    src = clips[2]
    doc = Timeline(300, model.fps, "dance", model.skeleton)
    for at in (0, 130, 260):
        doc.add_pin(Pin(src, at, at + 40, at))
    floors = _pin_floors(model.skeleton, [p.frames() for p in doc.pins])

    def slid(fill_, a, b):
        m = fill_.motion.slice(a, b)
        return foot_skating(m.positions, model.skeleton, model.fps, floors=floors)

    one, two = fill(doc, model, seed=5), fill_stale(doc, model, seed=5, draws=2)
    pairs = [(slid(two, g.start, g.stop), slid(one, g.start, g.stop)) for g in doc.gaps()]
    assert all(b <= a + 1e-9 for b, a in pairs) and any(b < a - 1e-6 for b, a in pairs), pairs
    np.testing.assert_array_equal(two.motion.rotations[130:170], one.motion.rotations[130:170])
    # a gap the caller will not keep is not scored: it stays the seed's own draw, the others are picked
    moved = [g for g, (b, a) in zip(doc.gaps(), pairs) if b < a - 1e-6][0]
    skip = fill(doc, model, seed=5, draws=2, wanted=lambda g: g.start != moved.start)
    for g in doc.gaps():
        ref = one if g.start == moved.start else two
        np.testing.assert_array_equal(skip.motion.rotations[g.start:g.stop], ref.motion.rotations[g.start:g.stop])
    doc.set_fill(two)
    gap = doc.gaps()[0]
    var = resample_gap(doc, model, gap.start, seed=11, draws=2)
    np.testing.assert_array_equal(var.motion.rotations[gap.stop:], two.motion.rotations[gap.stop:])
    assert not np.array_equal(var.motion.rotations[gap.start:gap.stop], two.motion.rotations[gap.start:gap.stop])
