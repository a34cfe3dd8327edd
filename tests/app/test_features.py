"""Predict continuation, Preferences, Auto-fill, onion skin, pinned colours and the About box."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
from PySide6 import QtCore

from tests.app.conftest import ACTIONS, run


def _state(doc):
    return doc.length, list(doc.pins), doc.fill


# --- predict continuation -------------------------------------------------------------------------------
def test_predict_continuation_is_one_undo_step(win, qtbot):
    win.pin_selection(100, 130)
    run(qtbot, win, win.fill_gaps(seed=3))
    length, pins, fill = _state(win.doc)
    n = win.undo.count()
    t = time.perf_counter()
    job = win.predict_continuation(seconds=2.0, source="end", seed=1)
    assert time.perf_counter() - t < 0.1  # the model runs in the worker, not here
    assert win.busy and win.progress_bar.isVisible()
    run(qtbot, win, job)
    doc = win.doc
    assert doc.length == 360 and not doc.is_stale(), win.last_error
    assert win.undo.count() == n + 1 and win.undo.undoText() == "Predict 2 s"
    assert doc.pins == pins
    # The old frames are untouched; the new ones continue them without a jump.
    assert np.array_equal(doc.fill.motion.rotations[:300], fill.motion.rotations)
    assert np.array_equal(doc.fill.motion.root[:300], fill.motion.root)
    steps = np.linalg.norm(np.diff(doc.fill.motion.root, axis=0), axis=1)
    assert steps[299] < 5 * np.median(steps[:299]) + 1.0
    new_fill = doc.fill
    t = time.perf_counter()
    win.undo.undo()
    assert time.perf_counter() - t < 0.1
    assert _state(doc) == (length, pins, fill) and doc.fill is fill and not doc.is_stale()
    assert win.frame < doc.length
    win.undo.redo()
    assert doc.length == 360 and doc.fill is new_fill and not win.busy  # redo does not sample again


def test_predict_from_last_pin_replaces_the_tail(win, qtbot):
    win.pin_selection(100, 130)
    win.pin_selection(200, 230)
    run(qtbot, win, win.fill_gaps(seed=2))
    before = _state(win.doc)
    run(qtbot, win, win.predict_continuation(seconds=1.0, source="last_pin", seed=4))
    doc = win.doc
    assert doc.length == 230 + 30 and [p.stop for p in doc.pins] == [130, 230] and not doc.is_stale()
    win.undo.undo()
    assert _state(doc) == before


def test_continued_state_cuts_pins_at_the_context_end(win):
    from csgn_core.editing.continuation import continued_state

    win.pin_selection(100, 130)
    win.pin_selection(200, 230)
    doc = win.doc
    cont = doc.fill.motion.slice(0, 20)
    new = continued_state(doc, 115, cont, seed=7)
    assert new.length == 135
    assert [(p.at, p.stop) for p in new.pins] == [(100, 115)]
    assert new.fill.motion.n_frames == 135
    assert np.array_equal(new.fill.motion.root[115:], cont.root)
    # Applying and undoing the state through the command restores everything.
    from app import commands as C
    from csgn_core.editing.continuation import DocState

    old = DocState.of(doc)
    win.undo.push(C.SetState(doc, old, new, "Predict"))
    assert doc.length == 135 and [(p.at, p.stop) for p in doc.pins] == [(100, 115)]
    win.undo.undo()
    assert (doc.length, tuple(doc.pins)) == (old.length, old.pins) and doc.fill is old.fill


def test_predict_cancel_and_failure_change_nothing(win, qtbot):
    n, before = win.undo.count(), _state(win.doc)
    # Cancelled: nothing reaches the document or the history.
    assert win.predict_continuation(seconds=60.0, source="end", seed=1) is not None
    win.cancel_job()
    assert "cancelled" in win.statusBar().currentMessage()
    qtbot.wait(300)
    assert win.undo.count() == n and _state(win.doc) == before
    # Refused before it starts: a clear message.
    win.timeline.selection = None
    assert win.predict_continuation(seconds=1.0, source="selection") is None
    assert "select a range" in win.last_error
    assert win.predict_continuation(seconds=1.0, source="last_pin") is None and "no pin" in win.last_error
    # The document changed while the model worked: the result is dropped with a message.
    qtbot.waitUntil(lambda: not win.busy)
    job = win.predict_continuation(seconds=1.0, source="end", seed=2)
    assert win.pin_selection(10, 20)
    run(qtbot, win, job)
    assert "changed while" in win.last_error
    assert win.undo.count() == n + 1 and win.doc.length == 300


# --- preferences -------------------------------------------------------------------------------------
def test_preferences_device_cuda_greyed_when_unavailable(win, qtbot):
    from app.dialogs import PreferencesDialog

    qtbot.waitUntil(lambda: win.worker.info is not None, timeout=60_000)
    info = win.worker.info
    assert info["device"] == "cpu" and info["requested_device"] == "cpu"
    cuda = win.cuda_available()
    dlg = PreferencesDialog(win, win.model_dir, win.worker.device, cuda)
    qtbot.addWidget(dlg)
    item = dlg.device_box.model().item(1)
    if cuda:
        assert item.isEnabled()
        return
    assert not item.isEnabled() and "torch.cuda.is_available()" in item.toolTip()
    assert dlg.device() == "cpu" and dlg.model() == "actions"
    assert not win.apply_preferences(device="cuda")
    assert "CUDA" in win.last_error and win.settings.value("device") is None and win.worker.device == "cpu"
    # Unknown availability (worker still loading) also keeps CUDA off with a reason.
    dlg2 = PreferencesDialog(win, win.model_dir, "cuda", None)
    qtbot.addWidget(dlg2)
    assert not dlg2.device_box.model().item(1).isEnabled() and dlg2.device() == "cpu"


def test_model_on_other_skeleton_is_refused_with_pins(win):
    from app.models import default_model_dir

    dance = default_model_dir("dance")
    if not (dance / "config.json").is_file():
        pytest.skip("the dance model is not bundled")
    win.pin_selection(10, 40)
    n, before, model_dir = win.undo.count(), _state(win.doc), win.model_dir
    assert not win.apply_preferences(model="dance")
    assert "tang23" in win.last_error and "unchanged" in win.last_error
    assert _state(win.doc) == before and win.undo.count() == n
    assert win.model_dir == model_dir and win.worker.model_dir == str(model_dir)
    assert win.settings.value("model") is None


def test_model_on_other_skeleton_without_pins_starts_a_new_motion(win, qtbot):
    from app.models import default_model_dir

    if not (default_model_dir("dance") / "model.safetensors").is_file():
        pytest.skip("the dance model is not bundled")
    old = win.doc
    try:
        assert win.apply_preferences(model="dance"), win.last_error
        assert win.settings.value("model") == "dance"
        qtbot.waitUntil(lambda: win.doc is not old and not win.busy, timeout=90_000)
        assert (win.doc.model, win.doc.fps, win.doc.length) == ("dance", 25.0, 250)
        assert win.worker.info["name"] == "dance"
    finally:
        win.apply_preferences(model=str(ACTIONS))
        qtbot.waitUntil(lambda: not win.busy and win.worker.info is not None, timeout=90_000)
    assert win.doc.model == "actions"


def test_model_switch_same_skeleton_is_persisted_and_used(win, make_window, qtbot, tmp_path):
    other = tmp_path / "actions-copy"
    other.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(ACTIONS / f, other / f)
    win.pin_selection(100, 130)
    try:
        assert win.apply_preferences(model=str(other), device="cpu"), win.last_error
        assert win.settings.value("model") == str(other) and win.settings.value("device") == "cpu"
        qtbot.waitUntil(lambda: win.worker.info is not None, timeout=60_000)
        assert win.worker.info["name"] == "actions-copy"
        # Same skeleton and rate: the document keeps working with the new model.
        run(qtbot, win, win.fill_gaps(seed=5))
        assert not win.doc.is_stale(), win.last_error
        w2 = make_window()
        assert w2.model_dir == other
    finally:
        win.apply_preferences(model=str(ACTIONS))
        qtbot.waitUntil(lambda: win.worker.info is not None, timeout=60_000)


# --- auto-fill ---------------------------------------------------------------------------------------
def test_auto_fill_after_edits_is_debounced_and_undoable(win, make_window, qtbot):
    started = []
    win.jobStarted.connect(lambda job, label: started.append(label))
    win.set_auto_fill(True)
    assert win.act_auto_fill.isChecked()
    assert win.pin_selection(100, 130)
    assert win.auto_fill_timer.isActive() and not win.busy and started == []  # waits for edits to settle
    # Let it start now (no event processing between here and the next edit, so it is still running).
    win.auto_fill_timer.stop()
    win._auto_fill_now()
    assert win.busy and started == ["Auto-fill"]
    # Another edit while it runs: the running auto-fill is cancelled and a new one follows the quiet time.
    assert win.move_pin(win.doc.pins[0].id, 150)
    assert not win.busy and win.auto_fill_timer.isActive()
    assert win.pin_selection(200, 210) and win.trim_pin(win.doc.pins[1].id, *_trimmed(win.doc.pins[1]))
    qtbot.waitUntil(lambda: len(started) == 2 and not win.busy and not win.doc.is_stale(), timeout=90_000)
    texts = [win.undo.text(i) for i in range(win.undo.count())]
    assert texts == ["Pin selection", "Move pin", "Pin selection", "Trim pin", "Auto-fill"]  # one fill for 3 edits
    # Undo is not an edit: the stale gaps stay stale until the next edit.
    win.undo.undo()
    qtbot.wait(600)
    assert win.doc.is_stale() and not win.busy and len(started) == 2
    assert _bool(win.settings.value("auto_fill"))
    assert make_window().act_auto_fill.isChecked()
    win.set_auto_fill(False)
    assert win.pin_selection(250, 260)
    qtbot.wait(600)
    assert not win.busy and win.doc.is_stale() and len(started) == 2


def _trimmed(pin):
    return pin.src_start, pin.src_stop - 2


def test_user_job_goes_before_auto_fill(win, qtbot):
    win.set_auto_fill(True)
    win.pin_selection(100, 130)
    win.auto_fill_timer.stop()
    win._auto_fill_now()
    assert win.busy
    run(qtbot, win, win.fill_gaps(seed=1))
    assert win.undo.undoText() == "Fill gaps" and not win.doc.is_stale()
    texts = [win.undo.text(i) for i in range(win.undo.count())]
    assert "Auto-fill" not in texts
    win.set_auto_fill(False)


def _bool(v):
    from app.window import _bool

    return _bool(v)


# --- viewport ----------------------------------------------------------------------------------------
def test_onion_skin_adds_ghosts_and_only_reads(win, make_window):
    from app.viewport import ONION_OFFSETS

    win.pin_selection(100, 130)
    doc, vp = win.doc, win.viewport
    seen = []
    doc.events.connect(lambda kind, payload: seen.append(kind))
    rot, root, n, dirty = doc.fill.motion.rotations.copy(), doc.fill.motion.root.copy(), win.undo.count(), win.dirty
    items = len(vp.items)
    assert not vp.ghosts
    win.act_onion.trigger()
    assert vp.onion and len(vp.items) == items + len(ONION_OFFSETS)
    win.set_frame(60)
    assert all(g in vp.items and g.visible() for g in vp.ghosts.values())
    # Ghosts near a pin take its frames; before frame 0 there is nothing to draw.
    win.set_frame(3)
    assert [off for off, g in vp.ghosts.items() if g.visible()] == [o for o in ONION_OFFSETS if o > 0]
    ghost = vp.ghosts[ONION_OFFSETS[-1]]
    assert ghost.color[3] < 0.5  # faint
    assert seen == [] and win.undo.count() == n and win.dirty == dirty
    assert np.array_equal(doc.fill.motion.rotations, rot) and np.array_equal(doc.fill.motion.root, root)
    assert _bool(win.settings.value("onion_skin")) and make_window().viewport.onion
    win.act_onion.trigger()
    assert not any(g.visible() for g in vp.ghosts.values())


def test_pinned_frames_use_the_pinned_colours(win, qtbot):
    from app.viewport import GENERATED, PINNED, STALE

    def rgb(c):
        return tuple(round(float(x), 2) for x in c[:3])

    pinned, generated = {rgb(c) for c in PINNED.values()}, {rgb(c) for c in GENERATED.values()}
    win.pin_selection(100, 130)
    win.set_frame(110)
    cols = {rgb(c) for c in win.viewport.bone_colors}
    assert cols and cols <= pinned
    win.set_frame(200)
    cols = {rgb(c) for c in win.viewport.bone_colors}
    assert cols and cols <= {rgb(c) for c in STALE.values()}  # the gap is out of date
    run(qtbot, win, win.fill_gaps(seed=1))
    win.set_frame(200)
    cols = {rgb(c) for c in win.viewport.bone_colors}
    assert cols and cols <= generated


def test_about_lists_each_bundled_model_from_its_card():
    import html

    from app.dialogs import about_text
    from app.models import bundled_models, model_card
    from csgn_core.paths import RESOURCES

    text = about_text()
    names = bundled_models()
    assert names
    for name in names:
        card = model_card(RESOURCES / "models" / name)
        assert card["licence"] and f"<b>{name}</b>" in text
        assert html.escape(card["licence"]).split("`")[0] in text
        assert html.escape(card["data"]).split("`")[0] in text


def test_settings_are_ini_backed(tmp_path):
    s = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    s.setValue("auto_fill", True)
    s.sync()
    from app.window import _bool as b

    assert b(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat).value("auto_fill"))
    assert not b("false") and not b(None)


def test_editor_process_does_not_import_torch():
    """Preferences, About and Predict's state building stay torch-free in the editor process."""
    import subprocess
    import sys

    from tests.app.conftest import REPO

    code = ("import sys; from PySide6 import QtWidgets; a = QtWidgets.QApplication([]); "
            "import app.window as W, csgn_core.editing.continuation, app.models as M; W.about_text(); "
            "M.model_header(M.default_model_dir('actions')); print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
                       env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.stdout.strip().endswith("False"), r.stderr[-1000:]


def test_onion_and_predict_shortcuts(win, qtbot):
    from PySide6.QtTest import QTest

    win.activateWindow()
    QTest.qWaitForWindowActive(win, 3000)
    win.timeline.setFocus()
    QTest.keyClick(win.timeline, QtCore.Qt.Key_O)
    assert win.viewport.onion
    QTest.keyClick(win.timeline, QtCore.Qt.Key_O)
    assert not win.viewport.onion
    assert win.act_predict.shortcut().toString() == "Ctrl+Shift+P"
    assert win.act_auto_fill.isCheckable() and win.act_prefs.shortcut().toString() == "Ctrl+,"


def test_dialogs_give_their_values(win, qtbot, monkeypatch):
    from PySide6 import QtWidgets

    from app.dialogs import PredictDialog, PreferencesDialog

    dlg = PredictDialog(win, has_selection=False, has_pins=True)
    qtbot.addWidget(dlg)
    seconds, source, _seed = dlg.values()
    assert (seconds, source) == (5.0, "end")
    assert not dlg.source.model().item(1).isEnabled() and dlg.source.model().item(2).isEnabled()
    # Preferences accepted unchanged: nothing restarts, True.
    monkeypatch.setattr(PreferencesDialog, "exec", lambda self: QtWidgets.QDialog.Accepted)
    info = win.worker.info
    assert win.preferences() and win.worker.info is info
    # Predict from the menu with the dialog accepted runs a job.
    monkeypatch.setattr(PredictDialog, "exec", lambda self: QtWidgets.QDialog.Accepted)
    monkeypatch.setattr(PredictDialog, "values", lambda self: (1.0, "end", 3))
    run(qtbot, win, win.predict_continuation())
    assert win.doc.length == 330 and win.undo.undoText() == "Predict 1 s"


def test_the_figure_has_a_spine_neck_and_collar_bones_a_floor_path_and_contact_dots(win):
    """Issue 15: tang23 joins heads and shoulders straight to the waist; the figure draws a torso."""
    import numpy as np

    from app.viewport import figure_segments
    from csgn_core.motion.skeleton import load_named

    sk = load_named("tang23")
    p = sk.rest_positions()
    segs, sides = figure_segments(sk, p)
    waist_fans = [s for s in segs if np.allclose(s[0], p[0]) and not np.allclose(s[1], p[0])]
    assert len(waist_fans) == 3  # the two hips and the spine, no longer heads and shoulders
    chest = p[[sk.joints.index("l_shoulder"), sk.joints.index("r_shoulder")]].mean(axis=0)
    assert any(np.allclose(s[0], chest) for s in segs) and (sides == 0).sum() == 4
    other = load_named("bandai22")
    assert len(figure_segments(other, other.rest_positions())[0]) == len(other.bones) - 1  # joint_Root dropped
    vp = win.viewport
    assert vp.path.visible() and len(vp.path.pos) == win.doc.length
    from csgn_core.motion.contacts import contacts_to_meta

    m = win.doc.fill.motion
    flags = np.zeros(m.n_frames, dtype=bool)
    flags[40:60] = True
    m.meta.update(contacts_to_meta({"Toes_L": flags, "Foot_R": ~flags}))
    win.set_frame(50)
    assert vp.contacts_shown == 1 and vp.contacts.visible()
    win.set_frame(10)
    assert vp.contacts_shown == 1  # the other foot now
    m.meta.pop("contacts")
    win.set_frame(11)
    assert vp.contacts_shown == 0 and not vp.contacts.visible()


def test_figure_mesh_is_shaded_tubes_and_spheres():
    from app.figure_mesh import HEAD_RADIUS, TUBE_SIDES, figure_mesh, segment_radii
    from app.viewport import figure, to_gl
    from csgn_core.motion.skeleton import load_named

    sk = load_named("tang23")
    p = to_gl(sk.rest_positions())
    segs, sides, head, _ = figure(sk, p)
    heads = [sk.joints.index("l_head"), sk.joints.index("r_head")]
    assert head is not None and np.allclose(segs[head, 1], p[heads].mean(0))
    colours = np.tile([0.3, 0.6, 1.0, 1.0], (len(segs), 1))
    md = figure_mesh(segs, colours, head)
    n = md.vertexNormals()
    assert n.shape == md.vertexes().shape
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-4)  # lighting needs unit normals
    assert md.faces().max() < len(md.vertexes())
    # each tube's rings sit at its radius from the segment's ends; the head is a head, not a joint dot
    r = segment_radii(segs.astype(np.float32), head)
    ring0 = md.vertexes()[:TUBE_SIDES]
    assert np.allclose(np.linalg.norm(ring0 - segs[0, 0], axis=1), r[0, 0], atol=1e-3)
    assert r[head, 1] == HEAD_RADIUS and r[:, 0].max() <= 6.5
    assert np.allclose(md.vertexColors()[:, :3], [0.3, 0.6, 1.0])


def test_partial_pins_from_the_selection_and_the_pin_panel(win, qtbot):
    """Issue 17: pin the arms of a selection; the timeline says what the pin holds, the viewport draws
    the held bones in the pin's colours and the generated body in its own; the panel changes it."""
    from app.viewport import GENERATED, PINNED
    from csgn_core.editing.partial import group_joints

    def rgb(c):
        return tuple(round(float(x), 2) for x in c[:3])

    assert win.pin_selection(100, 140, joints="arms")
    pin = win.doc.pins[0]
    assert pin.joints == group_joints(win.doc.fill.motion.skeleton, "arms")
    assert win.undo.undoText() == "Pin arms of selection"
    assert "holds arms" in win.timeline.pin_caption(pin)
    run(qtbot, win, win.fill_gaps(seed=3))
    win.set_frame(120)
    cols = {rgb(c) for c in win.viewport.bone_colors}
    assert cols & {rgb(c) for c in PINNED.values()} and cols & {rgb(c) for c in GENERATED.values()}
    panel = win.pin_panel
    panel.holds.setCurrentText("legs")
    panel._set_holds(panel.holds.currentIndex())
    assert win.doc.pins[0].joints[0] == win.doc.skeleton.joints[0] and win.doc.is_stale()
    panel.holds.setCurrentText("all joints")
    panel._set_holds(panel.holds.currentIndex())
    assert win.doc.pins[0].joints is None
    win.undo.undo()
    win.undo.undo()
    assert win.doc.pins[0].joints == pin.joints


def test_drawing_a_floor_path_in_the_top_view_pins_it(win, qtbot):
    """Issue 17: in path mode a left drag over the floor draws where the dancer goes; on release the
    selected frames get a floor-path pin along the drawing (one undo step), shown as a curve."""
    from PySide6 import QtCore

    vp = win.viewport
    win.act_draw_path.trigger()
    assert vp.path_mode and vp.opts["elevation"] == 90
    win.timeline.selection = (120, 200)
    w, h = vp.width(), vp.height()
    pts = [QtCore.QPoint(int(w * f), int(h * 0.5 + h * 0.2 * (f - 0.3))) for f in (0.3, 0.4, 0.5, 0.6, 0.7)]
    floor = [vp.floor_point(p.x(), p.y()) for p in pts]
    assert all(f is not None for f in floor)
    n = win.undo.count()
    qtbot.mousePress(vp, QtCore.Qt.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, QtCore.Qt.LeftButton, pos=pts[-1])
    assert win.undo.count() == n + 1 and win.undo.undoText() == "Draw floor path"
    pin = next(p for p in win.doc.pins if p.path)
    assert (pin.at, pin.stop) == (120, 200)
    track = pin.source.root[:, [0, 2]]
    assert np.linalg.norm(track[0] - floor[0]) < 3.0 and np.linalg.norm(track[-1] - floor[-1]) < 3.0
    run(qtbot, win, True)  # the gaps around it fill at once
    win.set_frame(150)
    assert vp.path_pins.visible() and not win.doc.is_stale()
    out = win.doc.fill.motion.root[120:200][:, [0, 2]]
    assert np.linalg.norm(out - track, axis=-1).max() < 5.0  # the root follows the drawing
    win.act_draw_path.trigger()
    assert not vp.path_mode


def test_path_from_points_keeps_the_pace_and_turns_the_facing():
    from csgn_core.editing.partial import path_from_points
    from csgn_core.errors import CSGNError
    from tests.core.helpers import random_motion, toy_skeleton

    m = random_motion(toy_skeleton(), 50, fps=25.0)
    m.root[:, 0] = np.linspace(0, 100, 50) ** 2 / 100  # speeding up along +x
    m.root[:, 2] = 0
    out = path_from_points(m, [[0, 0], [0, 200]])  # drawn along +z
    assert np.allclose(out.root[[0, -1]][:, [0, 2]], [[0, 0], [0, 200]], atol=1e-6)
    z = out.root[:, 2]
    assert np.all(np.diff(z) >= -1e-9) and np.diff(z)[-1] > 3 * np.diff(z)[1]  # it still speeds up
    assert np.allclose(out.root[:, 1], m.root[:, 1])
    with pytest.raises(CSGNError, match="at least two points"):
        path_from_points(m, [[0, 0]])


def test_blend_into_a_clip_is_one_undo_step(win, qtbot, tmp_path):
    """Issue 17: the take up to the playhead, a transition, then the clip; Undo gives the old take back."""
    from csgn_core.io import load_motion
    from tests.conftest import require_data

    clip = require_data("bandai-namco", "dataset-2.zip") / "dataset-2" / "data" / "dataset-2_walk_active_001.bvh"
    before = win.doc.fill
    win.set_frame(150)
    shown = win.doc.current_motion().rotations[:150].copy()
    run(qtbot, win, win.blend_into(clip, seconds=1.5, seed=2))
    b = load_motion(clip)
    assert win.undo.undoText() == f"Blend into {clip.name}"
    assert abs(win.doc.length - (150 + 45 + b.n_frames * win.doc.fps / b.fps)) <= 2  # A, 1.5 s, then the clip
    assert np.allclose(win.doc.fill.motion.rotations[:150], shown, atol=1e-6)  # the take up to the playhead stays
    win.undo.undo()
    assert win.doc.fill is before and win.doc.length == 300
