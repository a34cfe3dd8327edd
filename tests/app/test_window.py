"""The editor window: every action, undo/redo, cancel, files, and a scripted editing session."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tests.app.conftest import run
from tests.conftest import require_data

WALK = ("bandai-namco", "dataset-2.zip", "dataset-2", "data", "dataset-2_walk_active_001.bvh")


def test_new_from_seed_shows_playable_motion(win, qtbot):
    assert win.doc.fill is not None and not win.doc.is_stale()
    assert win.undo.count() == 0 and not win.dirty
    win.play()
    qtbot.wait(200)
    assert win.frame > 0
    win.toggle_play()
    assert not win.playing


def test_pin_selection_delete_undo_redo(win):
    win.timeline.selection = (100, 130)
    assert win.pin_selection()
    pin = win.doc.pins[0]
    assert (pin.at, pin.length) == (100, 30)
    assert [g.start for g in win.doc.stale_gaps()] == [0, 130]
    assert win.dirty
    assert win.delete_pin(pin.id) and win.doc.pins == []
    win.undo.undo()
    assert win.doc.pins[0].id == pin.id
    win.undo.undo()
    assert win.doc.pins == [] and not win.dirty
    win.undo.redo()
    assert win.doc.pins[0].id == pin.id
    # Overlapping pins are refused with a message and push nothing.
    n = win.undo.count()
    assert not win.pin_selection(120, 140)
    assert "overlap" in win.last_error and win.undo.count() == n


def _drag(qtbot, view, x0, x1, y):
    """Press, move in five steps (painting the view after each, as a screen does), release."""
    from PySide6.QtTest import QTest

    QTest.mousePress(view, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, QtCore.QPoint(int(x0), y))
    for k in range(1, 6):
        QTest.mouseMove(view, QtCore.QPoint(int(x0 + (x1 - x0) * k / 5), y))
        view.repaint()
    QTest.mouseRelease(view, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, QtCore.QPoint(int(x1), y))


def test_drag_and_trim_push_one_command_each(win, qtbot):
    from app.timeline_view import PIN_H, PIN_Y

    tv = win.timeline
    tv.snapping = False
    win.pin_selection(100, 160)
    pin_id = win.doc.pins[0].id
    n = win.undo.count()
    y = PIN_Y + PIN_H // 2
    ppf = tv.px_per_frame
    _drag(qtbot, tv, tv.frame_to_x(130), tv.frame_to_x(130) + 40 * ppf, y)
    assert win.undo.count() == n + 1
    assert win.doc.pin(pin_id).at == pytest.approx(140, abs=1)
    at = win.doc.pin(pin_id).at
    # Trim the right end in by ~20 frames.
    right = tv.frame_to_x(win.doc.pin(pin_id).stop) - 1
    _drag(qtbot, tv, right, right - 20 * ppf, y)
    p = win.doc.pin(pin_id)
    assert win.undo.count() == n + 2 and p.at == at and p.length == pytest.approx(40, abs=1)
    win.undo.undo()
    win.undo.undo()
    assert win.doc.pin(pin_id).at == 100 and win.doc.pin(pin_id).length == 60


def test_pin_captions_say_the_source_and_the_current_range(win):
    """Issue 15: a moved pin kept a label of its old range, which read as its timeline position."""
    win.pin_selection(30, 60)
    pin = win.doc.pins[0]
    assert "30-59" not in pin.label and pin.label.startswith("take")
    assert win.timeline.pin_caption(pin).endswith("[30-59]")
    win.move_pin(pin.id, 100)
    assert win.timeline.pin_caption(win.doc.pins[0]).endswith("[100-129]")


def test_transport_jumps_loops_the_selection_and_the_window_keeps_its_geometry(win, make_window, qtbot):
    tr = win.transport
    tr.frame.setValue(77)
    assert win.frame == 77 and tr.frame.maximum() == win.doc.length - 1
    win.timeline.selection = (100, 130)
    tr.speed.setCurrentIndex(tr.speed.findData(2.0))
    win.play()
    assert win.playing and win.playback.span == (100, 130) and win.playback.speed == 2.0
    assert tr.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: win.frame >= 100, timeout=3000)
    qtbot.wait(300)
    assert 100 <= win.frame < 130
    win.pause()
    assert tr.play_button.text() == "Play"
    tr.loop.setChecked(False)
    assert tr.play_range() is None and not win.playback.loop
    win.move(40, 50)
    win.resize(760, 580)  # fits the offscreen platform's 800 x 600 screen too
    win.prompt_on_close = False
    win.close()
    from app.window import MainWindow

    w2 = MainWindow(settings=win.settings, worker=win.worker, recovery=win.recovery, offer_recovery=False,
                    autostart=False)
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == (760, 580)


def test_pin_panel_edits_label_position_and_source_range_as_undo_steps(win):
    panel = win.pin_panel
    assert not panel.label.isEnabled()  # nothing selected
    win.pin_selection(30, 60)
    pin = win.doc.pins[0]
    assert panel.label.text() == pin.label and panel.at.value() == 30
    assert (panel.src_start.value(), panel.src_end.value()) == (pin.src_start, pin.src_stop - 1)
    n = win.undo.count()
    panel.label.setText("intro step")
    panel.label.editingFinished.emit()
    assert win.doc.pins[0].label == "intro step" and win.undo.undoText() == "Rename pin"
    panel.at.setValue(150)
    assert win.doc.pins[0].at == 150 and panel.info.text().endswith("150-179.")
    panel.src_end.setValue(pin.src_stop - 11)  # ten frames shorter
    assert win.doc.pins[0].length == 20 and win.undo.count() == n + 3
    panel.src_end.setValue(pin.src_start - 1)  # an empty range is refused, nothing changes
    assert win.doc.pins[0].length == 20 and "at least one frame" in win.last_error
    panel.blend.setValue(1.5)
    assert win.doc.pins[0].blend == 1.5 and win.undo.undoText() == "Set pin blend" and win.doc.is_stale()
    panel.blend.setValue(0.0)  # back to the default
    assert win.doc.pins[0].blend is None
    for _ in range(5):
        win.undo.undo()
    assert (win.doc.pins[0].label, win.doc.pins[0].at, win.doc.pins[0].length) == (pin.label, 30, 30)
    assert panel.at.value() == 30


def test_posing_a_key_by_hand_is_a_one_frame_pin_per_undo_step(win):
    from csgn_core.motion import quaternion as Q

    panel = win.pose_panel
    assert panel.isEnabled() and panel.joint.count() == win.doc.skeleton.n_joints
    win.set_frame(50)
    j = 5
    before = win.doc.current_motion().rotations[50, j].copy()
    n = win.undo.count()
    panel.joint.setCurrentIndex(j)
    panel.angles[0].setValue(40.0)
    assert panel.key()
    pins = [p for p in win.doc.pins if p.length == 1]
    assert len(pins) == 1 and pins[0].at == 50 and win.undo.undoText() == "Key pose"
    after = win.doc.current_motion().rotations[50, j]
    assert abs(np.degrees(Q.angle(Q.multiply(Q.conjugate(before), after))) - 40.0) < 1e-6
    assert panel.angles[0].value() == 0.0  # the turn is now part of the shown pose
    panel.angles[1].setValue(-15.0)
    assert panel.key()  # the same key, updated
    assert [p.id for p in win.doc.pins if p.length == 1] == [pins[0].id] and win.undo.count() == n + 2
    win.undo.undo()
    win.undo.undo()
    assert not [p for p in win.doc.pins if p.length == 1]
    win.pin_selection(100, 130)
    win.set_frame(110)
    assert not panel.key() and "inside pin" in win.last_error


def test_ctrl_drag_in_the_viewport_turns_a_joint_into_one_key(win, qtbot):
    from PySide6.QtTest import QTest

    from app.viewport import DEG_PER_PX, pose_at
    from csgn_core.motion import quaternion as Q

    vp = win.viewport
    win.set_frame(60)
    pos, _ = pose_at(win.doc, 60)
    xy = vp.screen_positions(pos)
    j = max(range(len(xy)), key=lambda k: xy[k][0])  # the right-most joint: well apart from the others
    assert vp.pick(*xy[j]) == j
    before = win.doc.current_motion().rotations[60, j].copy()
    n, rows = win.undo.count(), len(win.doc.pins)
    start = QtCore.QPoint(int(round(xy[j][0])), int(round(xy[j][1])))
    ctrl = QtCore.Qt.ControlModifier
    QTest.mousePress(vp, QtCore.Qt.LeftButton, ctrl, start)
    assert win.pose_panel.joint.currentIndex() == j
    for k in (10, 20, 40):
        QTest.mouseMove(vp, start + QtCore.QPoint(k, 0))
    assert vp.preview is not None and win.undo.count() == n  # a preview, not an edit
    QTest.mouseRelease(vp, QtCore.Qt.LeftButton, ctrl, start + QtCore.QPoint(40, 0))
    assert vp.preview is None and win.undo.count() == n + 1 and len(win.doc.pins) == rows + 1
    after = win.doc.current_motion().rotations[60, j]
    assert abs(np.degrees(Q.angle(Q.multiply(Q.conjugate(before), after))) - 40 * DEG_PER_PX) < 0.5


def test_selection_by_mouse_and_scrub(win, qtbot):
    """With a pin on the timeline (issue 15: painting during a scrub raised AttributeError); pytest-qt
    fails the test on any exception raised inside a Qt handler."""
    from app.timeline_view import RULER_H, TRACK_H, TRACK_Y

    tv = win.timeline
    tv.snapping = False
    win.pin_selection(120, 150)
    _drag(qtbot, tv, tv.frame_to_x(50), tv.frame_to_x(80), TRACK_Y + TRACK_H // 2)
    a, b = tv.selection
    assert abs(a - 50) <= 1 and abs(b - 80) <= 1
    _drag(qtbot, tv, tv.frame_to_x(10), tv.frame_to_x(200), RULER_H // 2)
    assert abs(win.frame - 200) <= 1


def test_fill_undo_redo_does_not_resample(win, qtbot):
    win.pin_selection(100, 130)
    win.move_pin(win.doc.pins[0].id, 150)
    assert win.doc.is_stale()
    run(qtbot, win, win.fill_gaps(seed=3))
    assert not win.doc.is_stale()
    fill = win.doc.fill
    win.undo.undo()
    assert win.doc.is_stale()
    win.undo.redo()
    assert win.doc.fill is fill and not win.busy


def test_resample_gap(win, qtbot):
    win.pin_selection(100, 130)
    run(qtbot, win, win.fill_gaps(seed=3))
    before = win.doc.fill
    run(qtbot, win, win.resample_gap(frame=200, seed=9))
    assert win.doc.fill is not before and not win.doc.is_stale()
    assert win.undo.undoText().startswith("Resample gap 130")
    # On a pin there is no gap to resample.
    assert win.resample_gap(frame=110) is None and "pin" in win.last_error
    # A gap of a few frames between two pins is a spline transition: no variants, and the user is told.
    win.pin_selection(134, 150)
    run(qtbot, win, win.fill_gaps(seed=3))
    n = win.undo.count()
    assert win.resample_gap(frame=132, seed=5) is None and "spline" in win.last_error
    assert win.undo.count() == n
    # The timeline shows the difference: a spline gap is drawn in its own colour.
    from app.timeline_view import COL_GENERATED, COL_SPLINE

    short, long_ = win.doc.gap_at(132), win.doc.gap_at(200)
    assert win.timeline.gap_colour(short) == COL_SPLINE and win.timeline.gap_colour(long_) == COL_GENERATED
    from app.timeline_view import TRACK_H, TRACK_Y

    img = win.timeline.grab().toImage()
    y = int(TRACK_Y + TRACK_H / 2)
    assert img.pixelColor(int(win.timeline.frame_to_x(132.5)), y) == COL_SPLINE


def test_cancel_leaves_document_and_history(win, qtbot):
    win.pin_selection(10, 20)
    n, fill, pins = win.undo.count(), win.doc.fill, list(win.doc.pins)
    job = win.run_job("_sleep", {"steps": 500, "dt": 0.01}, "Long job", lambda r: win.doc.set_fill(None))
    assert win.busy and win.progress_bar.isVisible()
    qtbot.wait(100)
    win.cancel_job()
    assert not win.busy and not win.progress_bar.isVisible()
    assert "cancelled" in win.statusBar().currentMessage()
    assert win.undo.count() == n and win.doc.fill is fill and win.doc.pins == pins
    qtbot.wait(100)
    assert win.doc.fill is fill
    assert job is not None


def test_worker_crash_keeps_editor(win, qtbot):
    n, fill = win.undo.count(), win.doc.fill
    run(qtbot, win, win.run_job("_crash", {"code": 9}, "Crashing job", lambda r: None))
    assert "exit code 9" in win.last_error and "not changed" in win.last_error
    assert win.undo.count() == n and win.doc.fill is fill
    # The restarted worker answers the next job.
    run(qtbot, win, win.fill_gaps(seed=1))
    assert not win.doc.is_stale()


def test_a_failed_jobs_traceback_reaches_the_log_and_the_dialog(win, qtbot, caplog):
    import logging

    n, fill = win.undo.count(), win.doc.fill
    with caplog.at_level(logging.ERROR, logger="csgn_studio.worker"):
        run(qtbot, win, win.run_job("_raise", {}, "Buggy job", lambda r: None))
    assert "ZeroDivisionError" in win.last_error and "\n" not in win.last_error.split("\nThe document")[0]
    assert "Traceback" in win.last_error_details and "_run_job" in win.last_error_details
    assert any("Traceback" in r.getMessage() for r in caplog.records)
    assert win.undo.count() == n and win.doc.fill is fill


def test_busy_refuses_second_job(win, qtbot):
    win.run_job("_sleep", {"steps": 100, "dt": 0.01}, "Long job", lambda r: None)
    assert win.fill_gaps() is None and "busy" in win.last_error
    win.cancel_job()


def test_keyboard_shortcuts(win, qtbot):
    from PySide6.QtTest import QTest

    win.activateWindow()
    QTest.qWaitForWindowActive(win, 3000)  # window shortcuts need the active window on a real X server
    win.timeline.setFocus()
    win.set_frame(10)
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Right)
    assert win.frame == 11
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Left)
    assert win.frame == 10
    QTest.keyClick(win.timeline, QtCore.Qt.Key_End)
    assert win.frame == win.doc.length - 1
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Home)
    assert win.frame == 0
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Space)
    assert win.playing
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Space)
    assert not win.playing
    win.pin_selection(40, 50)
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Delete)
    assert win.doc.pins == []
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert len(win.doc.pins) == 1
    QTest.keyClick(win.timeline, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier | QtCore.Qt.ShiftModifier)
    assert win.doc.pins == []


def test_save_open_recent_and_unsaved_prompt(win, make_window, tmp_path, monkeypatch):
    win.pin_selection(30, 60)
    assert win.dirty
    path = tmp_path / "a.csgnproj"
    assert win.save_as(path) and not win.dirty and win.path == path
    assert str(path.resolve()) in win._recent()
    assert win.recent_menu.actions()[0].text() == "a.csgnproj"
    win.move_pin(win.doc.pins[0].id, 70)
    # Unsaved changes: Cancel keeps the document; Discard lets Open proceed.
    Q = QtWidgets.QMessageBox
    monkeypatch.setattr(Q, "question", lambda *a, **k: Q.Cancel)
    doc = win.doc
    assert not win.open_project(path) and win.doc is doc
    monkeypatch.setattr(Q, "question", lambda *a, **k: Q.Discard)
    assert win.open_project(path)
    assert [(p.at, p.length) for p in win.doc.pins] == [(30, 30)] and not win.dirty
    # A damaged file gives a message, not a traceback.
    bad = tmp_path / "bad.csgnproj"
    bad.write_bytes(b"not a zip")
    assert not win.open_project(bad, ask=False) and "not a CSGN project" in win.last_error


def test_autosave_and_recovery(win, make_window, tmp_path):
    assert not win.autosave()  # nothing unsaved
    win.pin_selection(30, 60)
    assert win.autosave() and win.recovery.is_file()
    w2 = make_window(recovery=win.recovery)
    assert w2.offer_recovery(accept=True)
    assert [(p.at, p.length) for p in w2.doc.pins] == [(30, 30)] and w2.dirty


def test_corrupt_projects_keep_the_document_and_offer_the_recovery_file(win, tmp_path, monkeypatch):
    import io
    import zipfile

    win.pin_selection(30, 60)
    good = tmp_path / "good.csgnproj"
    assert win.save_as(good)
    win.move_pin(win.doc.pins[0].id, 70)
    doc, undo_count, undo_index = win.doc, win.undo.count(), win.undo.index()
    raw = good.read_bytes()
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    member = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(member, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, data[: len(data) // 2] if info.filename.endswith(".npz") else data)
    cases = {"truncated": raw[: len(raw) // 2], "noise": bytes(range(256)) * 8, "json": b'{"format": "csgn-project"}',
             "foreign zip": foreign.getvalue(), "damaged pin": member.getvalue(), "empty": b""}
    Q = QtWidgets.QMessageBox
    asked = []
    monkeypatch.setattr(Q, "question", lambda *a, **k: asked.append(a[2]) or Q.No)
    for name, data in cases.items():
        bad = tmp_path / f"{name}.csgnproj"
        bad.write_bytes(data)
        assert not win.open_project(bad, ask=False), name
        assert win.doc is doc and win.undo.count() == undo_count and win.undo.index() == undo_index, name
        assert bad.name in win.last_error and "\n" not in win.last_error, (name, win.last_error)
    assert asked == []  # no recovery file: nothing to offer
    # A killed auto-save's partial temporary file is never offered.
    (win.recovery.parent / f".{win.recovery.name}.abcdefgh.tmp").write_bytes(raw[:100])
    assert not win.open_project(tmp_path / "noise.csgnproj", ask=False) and asked == []
    # With a finished recovery file: declining keeps it, accepting opens it.
    assert win.autosave()
    assert not win.open_project(tmp_path / "noise.csgnproj", ask=False)
    assert len(asked) == 1 and "noise.csgnproj could not be opened" in asked[0] and win.recovery.is_file()
    assert win.doc is doc
    monkeypatch.setattr(Q, "question", lambda *a, **k: Q.Yes)
    assert not win.open_project(tmp_path / "truncated.csgnproj", ask=False)
    assert win.doc is not doc and [(p.at, p.length) for p in win.doc.pins] == [(70, 30)]


def test_import_picks_a_clip_inside_a_zip(win, qtbot, tmp_path, monkeypatch):
    """Issue 15: the import dialog answered "File not found" for a zip; it now lists its motion files."""
    import zipfile

    from app.dialogs import ZipMemberDialog
    from csgn_core.io.bvh import write_bvh

    clip = write_bvh(win.doc.fill.motion.slice(0, 40), tmp_path / "step.bvh")
    archive = tmp_path / "clips.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(clip, "set/walk.bvh")
        z.writestr("set/readme.txt.md", "not motion")
        z.write(clip, "set/jump.bvh")
    starts = []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: starts.append(a[2]) or (str(archive), ""))
    seen = {}

    def pick(dlg):
        seen["items"] = [dlg.list.item(i).text() for i in range(dlg.list.count())]
        dlg.filter.setText("walk")
        return QtWidgets.QDialog.Accepted

    monkeypatch.setattr(ZipMemberDialog, "exec", pick)
    win.set_frame(0)
    n = len(win.doc.pins)
    run(qtbot, win, win.import_motion())
    assert seen["items"] == ["set/jump.bvh", "set/walk.bvh"]
    assert len(win.doc.pins) == n + 1 and win.doc.pins[-1].label == "walk" and win.doc.pins[-1].length == 40
    monkeypatch.setattr(ZipMemberDialog, "exec", lambda dlg: QtWidgets.QDialog.Rejected)
    assert win.import_motion() is None and len(win.doc.pins) == n + 1
    # The first dialog opened in the home folder, the second where the last import came from.
    assert starts == [str(Path.home()), str(tmp_path)]


def test_export_bvh(win, tmp_path, monkeypatch):
    """The export runs beside the UI: its timers keep ticking while the file is cleaned up and
    written; a failure inside it reaches the user as a message."""
    from csgn_core.editing import export
    from csgn_core.io import load_motion

    win.pin_selection(30, 60)
    ticks, slow = [], export.export_timeline
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    monkeypatch.setattr(export, "export_timeline", lambda *a, **k: time.sleep(0.2) or slow(*a, **k))
    out = win.export(tmp_path / "out.bvh")
    timer.stop()
    assert len(ticks) >= 10  # 200 ms of work: the event loop ran on
    m = load_motion(out)
    assert m.n_frames == win.doc.length and m.fps == win.doc.fps
    monkeypatch.setattr(export, "export_timeline", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    win.quiet = True
    assert win.export(tmp_path / "full.bvh") is None and "disk full" in win.last_error


def test_export_vmd_then_import_it_as_a_pin(win, qtbot, tmp_path):
    from csgn_core.io.vmd import read_vmd

    out = win.export(tmp_path / "ダンス.vmd")
    assert out is not None and read_vmd(out).n_frames > 0
    win.set_frame(0)
    run(qtbot, win, win.import_motion(out))
    pin = win.doc.pins[0]
    assert pin.source.skeleton.same_topology(win.doc.skeleton) and pin.at == 0 and pin.length > 100


def test_export_asks_for_the_formats_options(win, monkeypatch, tmp_path):
    """File > Export: a file name, then that format's options; the status says what clean-up did."""
    from app.dialogs import ExportDialog
    from csgn_core.io import load_motion

    out = tmp_path / "take 1.bvh"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))

    def accept_at_30(dlg):
        assert not dlg.vmd and dlg.fps.value() == win.doc.fps and dlg.clean.isChecked()
        dlg.fps.setValue(30.0)
        return QtWidgets.QDialog.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept_at_30)
    assert win.export() == out
    m = load_motion(out)
    assert m.fps == 30.0 and abs(m.n_frames - round(win.doc.length * 30 / win.doc.fps)) <= 1
    assert "foot skating" in win.statusBar().currentMessage()
    # Cancelling the options writes nothing.
    monkeypatch.setattr(ExportDialog, "exec", lambda dlg: QtWidgets.QDialog.Rejected)
    out.unlink()
    assert win.export() is None and not out.exists()


def test_export_vmd_options_reach_the_file(win, tmp_path):
    from app.dialogs import ExportDialog
    from csgn_core.io.vmd import read_vmd

    dlg = ExportDialog(win, tmp_path / "a.vmd", win.doc.fps)
    assert dlg.vmd and not dlg.fps.isEnabled()
    dlg.leg_ik.setCurrentIndex(dlg.leg_ik.findData("keys"))
    dlg.reduce.setValue(1.0)
    opts = dlg.values()
    assert opts == {"clean_feet": True, "leg_ik": "keys", "reduce_error": 1.0}
    full = read_vmd(win.export(tmp_path / "full.vmd"))
    opts.pop("clean_feet")
    small = read_vmd(win.export(tmp_path / "small.vmd", **opts))
    assert "左足ＩＫ" in small.bone_names() and "左足ＩＫ" not in full.bone_names()
    assert len(small.bones) < 0.8 * len(full.bones)
    # A broken target rest pose is one clear message and no file.
    bad = tmp_path / "rest.json"
    bad.write_text('{"arm_angle_deg": "down"}', encoding="utf-8")
    assert win.export(tmp_path / "bad.vmd", target_rest=str(bad)) is None
    assert "arm_angle_deg" in win.last_error and not (tmp_path / "bad.vmd").exists()


def test_about_names_licences(win, monkeypatch):
    seen = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "about", lambda parent, title, text: seen.append(text))
    win.about()
    assert "CC BY-NC 4.0" in seen[0] and "academic" in seen[0]


def test_scripted_session(win, make_window, qtbot, tmp_path):
    """New from seed, import a real BVH, pin, drag, fill, resample, undo, save, reopen, export,
    re-import, with a project folder whose name has spaces and non-ASCII characters."""
    from csgn_core.io import load_motion

    bvh = require_data(*WALK[:2]).joinpath(*WALK[2:])  # a path through the zip
    win.set_frame(10)
    run(qtbot, win, win.import_motion(bvh))
    imported = win.doc.pins[0]
    assert (imported.at, imported.length) == (10, 207) and imported.label == "dataset-2_walk_active_001"
    assert win.pin_selection(250, 280)
    second = win.doc.pins[1]
    from app.timeline_view import PIN_H, PIN_Y

    tv = win.timeline
    tv.snapping = False
    _drag(qtbot, tv, tv.frame_to_x(265), tv.frame_to_x(245), PIN_Y + PIN_H // 2)
    assert win.doc.pin(second.id).at == pytest.approx(230, abs=1)
    run(qtbot, win, win.fill_gaps(seed=2))
    assert not win.doc.is_stale()
    texts = [win.undo.text(i) for i in range(win.undo.count())]
    assert texts[0].startswith("Import") and texts[1:] == ["Pin selection", "Move pin", "Fill gaps"]
    gap = win.doc.gaps()[0]
    before = win.doc.fill.motion.positions.copy()
    run(qtbot, win, win.resample_gap(gap.start, seed=7))
    after = win.doc.fill.motion.positions
    inside = slice(gap.start, gap.stop)
    assert not np.allclose(after[inside], before[inside])  # a new variant of that gap ...
    outside = np.ones(len(after), bool)
    outside[inside] = False
    assert np.array_equal(after[outside], before[outside])  # ... and nothing else changed
    assert win.undo.text(win.undo.count() - 1).startswith("Resample")
    win.undo.undo()
    assert np.array_equal(win.doc.fill.motion.positions, before)
    win.undo.undo()
    assert win.doc.is_stale()
    win.undo.redo()
    folder = tmp_path / "my takes ダンス"
    folder.mkdir()
    path = folder / "session.csgnproj"
    assert win.save_as(path)
    w2 = make_window()
    assert w2.open_project(path, ask=False)
    assert [(p.at, p.length, p.label) for p in w2.doc.pins] == [(p.at, p.length, p.label) for p in win.doc.pins]
    assert not w2.doc.is_stale()
    out = w2.export(folder / "session.bvh")
    m = load_motion(out)
    assert m.n_frames == 300
    # The pinned walk is in the export where it was placed.
    src = load_motion(bvh)
    assert np.allclose(m.root[20:30], src.root[10:20], atol=0.1)
    # Re-import the export as a pin of its own.
    for pin in list(w2.doc.pins):
        w2.delete_pin(pin.id)
    w2.set_frame(0)
    run(qtbot, w2, w2.import_motion(out))
    (back,) = w2.doc.pins
    assert (back.label, back.at, back.length) == ("session", 0, 300)


def test_startup_shows_motion_and_offers_recovery(make_window, qtbot, tmp_path, monkeypatch):
    import time

    t = time.perf_counter()
    w = make_window(autostart=True, start_seconds=4.0)
    assert time.perf_counter() - t < 3.0  # the window does not wait for the model
    qtbot.waitUntil(lambda: w.doc is not None, timeout=60_000)
    assert w.doc.length == 120 and w.playing
    w.pin_selection(10, 20)
    assert w.autosave()
    Q = QtWidgets.QMessageBox
    monkeypatch.setattr(Q, "question", lambda *a, **k: Q.Yes)
    w2 = make_window(autostart=True, offer_recovery=True, recovery=w.recovery)
    assert w2.doc is not None and len(w2.doc.pins) == 1 and not w2.busy


def test_model_folder_setting(tmp_path):
    from app.window import default_model_dir
    from csgn_core.paths import RESOURCES

    expected = "dance" if (RESOURCES / "models" / "dance" / "model.safetensors").is_file() else "actions"
    assert default_model_dir().name == expected
    assert default_model_dir("actions") == RESOURCES / "models" / "actions"
    assert default_model_dir(str(tmp_path)) == tmp_path


def test_main_help(capsys):
    from app.main import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "--model" in capsys.readouterr().out


def test_cancel_fill_keeps_document(win, qtbot):
    win.pin_selection(100, 130)
    n, fill = win.undo.count(), win.doc.fill
    assert win.fill_gaps(seed=4) is not None
    win.cancel_job()
    qtbot.wait(300)
    assert win.undo.count() == n and win.doc.fill is fill and win.doc.is_stale()
    run(qtbot, win, win.fill_gaps(seed=4))  # the worker is free again
    assert not win.doc.is_stale()


def test_import_other_skeleton_is_retargeted(win, qtbot):
    bvh = require_data("cmu-iclone", "bvh.zip").joinpath("cmu-iclone", "001_08.bvh")
    win.set_frame(200)
    run(qtbot, win, win.import_motion(bvh))
    pin = win.doc.pins[0]
    assert pin.source.skeleton.same_topology(win.doc.skeleton) and pin.source.fps == win.doc.fps
    assert (pin.at, pin.stop) == (200, 300)  # the 60 fps, 100-joint clip, cut where the timeline ends
    run(qtbot, win, win.fill_gaps(seed=1))
    assert not win.doc.is_stale()
    win.undo.undo()
    win.undo.undo()
    assert win.doc.pins == []


def test_import_bad_file_changes_nothing(win, qtbot, tmp_path):
    bad = tmp_path / "broken.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n")
    n = win.undo.count()
    run(qtbot, win, win.import_motion(bad))
    assert "broken.bvh" in win.last_error and win.undo.count() == n and win.doc.pins == []


def test_choose_model_rejects_non_model(win, tmp_path):
    assert not win.choose_model(tmp_path) and "no CSGN model" in win.last_error
