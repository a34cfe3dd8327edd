"""The main window: widgets, menus, the document and undo stack (file actions: files.py; model
actions: model_actions.py; pin edits and posing: pin_actions.py; the job runner: jobs.py; playback:
playback.py and the transport bar: transport.py; the pin and pose panels: pin_panel.py, pose_panel.py).

Actions that ask the user something (file names, seeds) take the answer as an optional argument,
so scripts and tests call them directly; with no argument they open the dialog.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from csgn_core.errors import CSGNError

from . import APP_NAME
from . import commands as C
from .dialogs import about_text
from .files import FileActions, recovery_path
from .jobs import JobRunner
from .model_actions import ModelActions, compatible
from .models import default_model_dir
from .music_actions import MusicActions
from .pin_actions import PinActions
from .pin_panel import PinPanel
from .pose_panel import PosePanel
from .style_actions import StyleActions
from .style_panel import StylePanel
from .playback import Playback
from .transport import TransportBar
from .timeline_view import TimelineView
from .viewport import Viewport
from .worker import ModelWorker

AUTOSAVE_MS = 60_000
AUTO_FILL_MS = 300  # quiet time after an edit before Auto-fill starts


def _bool(v) -> bool:
    """A QSettings value as a bool (INI files give back strings)."""
    return v is True or str(v).lower() in ("true", "1", "yes")


class MainWindow(FileActions, ModelActions, PinActions, MusicActions, StyleActions, QtWidgets.QMainWindow):
    jobStarted = QtCore.Signal(int, str)  # job id, label (Auto-fill, Fill gaps, ...)

    def __init__(self, model_dir: str | Path | None = None, settings: QtCore.QSettings | None = None,
                 worker: ModelWorker | None = None, start_seconds: float = 10.0, start_seed: int = 0,
                 recovery: str | Path | None = None, offer_recovery: bool = True, autostart: bool = True,
                 own_worker: bool | None = None):
        super().__init__()
        self.settings = settings or QtCore.QSettings("csgn-studio", "editor")
        if model_dir is None and worker is not None:
            model_dir = worker.model_dir  # the model actually in use
        self.model_dir = Path(model_dir) if model_dir else default_model_dir(self.settings.value("model") or None)
        self.recovery = Path(recovery) if recovery else recovery_path()
        self.doc = None
        self.path: Path | None = None
        self.prompt_on_close = True
        self.frame = 0
        self.last_error = ""
        self._own_worker = worker is None if own_worker is None else own_worker
        self.worker = worker or ModelWorker(self.model_dir, self, device=self._device_setting())
        self.jobs = JobRunner(self.worker, self._refusal, self)
        self.jobs.said.connect(self.status)
        self.jobs.went_wrong.connect(self.error)
        self.jobs.started.connect(self.jobStarted)

        self.undo = QtGui.QUndoStack(self)
        self.undo.cleanChanged.connect(self._on_stack_changed)
        self.undo.indexChanged.connect(self._on_stack_changed)

        self.viewport = Viewport()
        self.timeline = TimelineView()
        self.timeline.frameChanged.connect(self.set_frame)
        self.timeline.pinMoved.connect(self.move_pin)
        self.timeline.pinTrimmed.connect(self.trim_pin)
        split = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        split.addWidget(self.viewport)
        split.addWidget(self.timeline)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 1)
        split.setSizes([600, 150])
        self.setCentralWidget(split)

        self.history = QtWidgets.QUndoView(self.undo)
        dock = QtWidgets.QDockWidget("History", self)
        dock.setObjectName("history")
        dock.setWidget(self.history)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [200], QtCore.Qt.Horizontal)
        self.history_dock = dock
        self.pin_panel = PinPanel(self)
        pin_dock = QtWidgets.QDockWidget("Pin", self)
        pin_dock.setObjectName("pin")
        pin_dock.setWidget(self.pin_panel)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, pin_dock)
        self.timeline.pinSelected.connect(lambda _id: self.pin_panel.refresh())
        self.pose_panel = PosePanel(self)
        pose_dock = QtWidgets.QDockWidget("Pose", self)
        pose_dock.setObjectName("pose")
        pose_dock.setWidget(self.pose_panel)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, pose_dock)
        self.style_panel = StylePanel(self)
        style_dock = QtWidgets.QDockWidget("Style", self)
        style_dock.setObjectName("style")
        style_dock.setWidget(self.style_panel)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, style_dock)
        self.tabifyDockWidget(pose_dock, style_dock)
        pose_dock.raise_()
        self.viewport.jointPicked.connect(self.pose_panel.joint.setCurrentIndex)
        self.viewport.poseDragged.connect(self._preview_pose)
        self.viewport.poseDropped.connect(lambda j, ax, ay: self.key_pose(j, [ax, ay, 0.0]))
        self.viewport.pathDrawn.connect(self.pin_drawn_path)

        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setRange(0, 100)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.frame_label = QtWidgets.QLabel()
        sb = self.statusBar()
        sb.addPermanentWidget(self.frame_label)
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.cancel_button)
        self._show_progress(False)
        self.jobs.running.connect(self._show_progress)
        self.jobs.progressed.connect(self.progress_bar.setValue)

        self.playback = Playback(self)
        self.playback.frameDue.connect(self.set_frame)
        self.transport = TransportBar(self, self.playback)
        self.addToolBar(QtCore.Qt.BottomToolBarArea, self.transport)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(AUTOSAVE_MS)
        self.auto_fill = _bool(self.settings.value("auto_fill", False))
        self.auto_fill_timer = QtCore.QTimer(self)
        self.auto_fill_timer.setSingleShot(True)
        self.auto_fill_timer.setInterval(AUTO_FILL_MS)
        self.auto_fill_timer.timeout.connect(self._auto_fill_now)

        self._init_music()
        self._build_actions()
        self.resize(1200, 760)
        geometry = self.settings.value("geometry")
        if geometry is not None:  # where the user left the window last time
            self.restoreGeometry(geometry)
        self._update_title()
        if autostart:
            restored = offer_recovery and self.offer_recovery()
            if not restored:
                self.new_from_seed(start_seed, start_seconds, ask=False)

    # --- actions ----------------------------------------------------------------------------------
    def _act(self, menu, text, slot, shortcut=None, checkable=False):
        a = QtGui.QAction(text, self)
        if shortcut:
            a.setShortcut(QtGui.QKeySequence(shortcut))
            a.setShortcutContext(QtCore.Qt.WindowShortcut)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_new = self._act(f, "&New from seed...", lambda: self.new_from_seed(), "Ctrl+N")
        self.act_open = self._act(f, "&Open project...", lambda: self.open_project(), "Ctrl+O")
        self.recent_menu = f.addMenu("Open &recent")
        self._act(f, "&Save", lambda: self.save(), "Ctrl+S")
        self._act(f, "Save &as...", lambda: self.save_as(), "Ctrl+Shift+S")
        f.addSeparator()
        self._act(f, "&Import motion...", lambda: self.import_motion(), "Ctrl+I")
        self._act(f, "&Export BVH / VMD...", lambda: self.export(), "Ctrl+E")
        f.addSeparator()
        self._act(f, "&Quit", self.close, "Ctrl+Q")
        e = mb.addMenu("&Edit")
        self.act_undo = self.undo.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QtGui.QKeySequence("Ctrl+Z"))
        self.act_redo = self.undo.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
        e.addAction(self.act_undo)
        e.addAction(self.act_redo)
        e.addSeparator()
        self._act(e, "&Pin selection", lambda: self.pin_selection(), "P")
        joints_menu = e.addMenu("Pin &joints of selection")
        from csgn_core.editing.partial import GROUPS

        for group in GROUPS:
            self._act(joints_menu, group.capitalize(), lambda _=False, g=group: self.pin_selection(joints=g))
        joints_menu.addSeparator()
        self._act(joints_menu, "Floor &path", lambda: self.pin_selection(joints="path"))
        self._act(e, "&Delete pin", lambda: self.delete_pin(), "Delete")
        self.act_snap = self._act(e, "S&napping", lambda on: setattr(self.timeline, "snapping", on), checkable=True)
        self.act_snap.setChecked(True)
        e.addSeparator()
        self.act_prefs = self._act(e, "Pre&ferences...", lambda: self.preferences(), "Ctrl+,")
        self.act_prefs.setMenuRole(QtGui.QAction.PreferencesRole)
        g = mb.addMenu("&Generate")
        self._act(g, "&Fill gaps", lambda: self.fill_gaps(), "Ctrl+F")
        self._act(g, "&Resample this gap", lambda: self.resample_gap(), "Ctrl+R")
        self.act_predict = self._act(g, "&Predict continuation...", lambda: self.predict_continuation(),
                                     "Ctrl+Shift+P")
        self.act_auto_fill = self._act(g, "&Auto-fill", self.set_auto_fill, "Ctrl+Shift+F", checkable=True)
        self.act_auto_fill.setChecked(self.auto_fill)
        self.act_match_tempo = self._act(g, "&Match tempo to music", lambda: self.match_tempo_to_music())
        self._act(g, "&Blend into a clip...", lambda: self.blend_into())
        self._act(g, "&Cancel job", self.cancel_job, "Esc")
        g.addSeparator()
        self._act(g, "Choose &model folder...", lambda: self.choose_model())
        self._build_music_menu(mb.addMenu("&Music"))
        v = mb.addMenu("&View")
        self._act(v, "&Play / pause", self.toggle_play, "Space")
        self._act(v, "Step &back", lambda: self.step(-1), "Left")
        self._act(v, "Step &forward", lambda: self.step(1), "Right")
        self._act(v, "&Start", self.go_start, "Home")
        self._act(v, "&End", self.go_end, "End")
        v.addSeparator()
        self._act(v, "&Reset camera", self.viewport.reset_camera, "R")
        self.act_follow = self._act(v, "&Follow root", self.viewport.set_follow_root, "F", checkable=True)
        self.act_follow.setChecked(self.viewport.follow_root)
        self.act_draw_path = self._act(v, "&Draw floor path", self.viewport.set_path_mode, "D", checkable=True)
        self.act_onion = self._act(v, "&Onion skin", self.set_onion, "O", checkable=True)
        self.act_onion.setChecked(_bool(self.settings.value("onion_skin", False)))
        self.viewport.set_onion(self.act_onion.isChecked())
        self._act(v, "Zoom timeline &in", lambda: self.timeline.zoom(1.5), "Ctrl+=")
        self._act(v, "Zoom timeline &out", lambda: self.timeline.zoom(1 / 1.5), "Ctrl+-")
        v.addAction(self.history_dock.toggleViewAction())
        h = mb.addMenu("&Help")
        self._act(h, "&About", self.about)
        self._update_recent()

    # --- messages ------------------------------------------------------------------------------------
    def status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def error(self, text: str, details: str = "") -> None:
        """Say what went wrong (status bar and a dialog); ``details`` (a traceback) goes behind the
        dialog's "Show Details" button."""
        self.last_error, self.last_error_details = text, details
        self.status(text, 15000)
        if not getattr(self, "quiet", False):
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, APP_NAME, text, QtWidgets.QMessageBox.Ok, self)
            if details:
                box.setDetailedText(details)
            box.exec()

    def about(self) -> None:
        QtWidgets.QMessageBox.about(self, f"About {APP_NAME}", about_text())

    # --- document ------------------------------------------------------------------------------------
    def set_document(self, doc, path: Path | None = None) -> None:
        if self.doc is not None:
            self.doc.events.disconnect(self._on_doc_event)
        self.doc = doc
        self.path = Path(path) if path else None
        doc.events.connect(self._on_doc_event)
        self.undo.clear()
        self.undo.setClean()
        self.viewport.set_document(doc)
        self.timeline.set_document(doc)
        self.set_frame(0)
        self.pin_panel.refresh()
        self.pose_panel.refresh()
        self.style_panel.refresh()
        self._music_changed()
        self._update_title()

    def _on_stack_changed(self, *_) -> None:
        try:
            self._doc_changed()
        except RuntimeError:  # the window is being destroyed (Qt deletes children first)
            pass

    def _on_doc_event(self, kind, payload) -> None:
        if kind == "music_changed":
            self._music_changed()
        if kind == "length_changed":
            self.timeline.fit()
            if self.frame >= self.doc.length:
                self.set_frame(self.doc.length - 1)
        self._doc_changed()

    def _doc_changed(self) -> None:
        self.viewport.refresh()
        self.timeline.update()
        self.pin_panel.refresh()
        self.pose_panel.refresh()
        self.style_panel.refresh()
        self._update_title()

    @property
    def dirty(self) -> bool:
        return not self.undo.isClean()

    def _update_title(self) -> None:
        name = self.path.name if self.path else "untitled"
        self.setWindowTitle(f"{name}{' *' if self.dirty else ''} - {APP_NAME}")

    def set_frame(self, frame: int) -> None:
        if self.doc is None:
            return
        frame = int(min(max(frame, 0), self.doc.length - 1))
        moved = frame != self.frame
        self.frame = frame
        self.viewport.set_frame(frame)
        if self.timeline.frame != frame:
            self.timeline.set_frame(frame)
        self.frame_label.setText(f"frame {frame} / {self.doc.length - 1}   {frame / self.doc.fps:6.2f} s")
        self.transport.sync()
        self.style_panel.follow_frame()
        if moved or self.playing:
            self._music_follow(frame, scrubbed=moved)

    def go_start(self) -> None:
        self.set_frame(0)

    def go_end(self) -> None:
        self.set_frame((self.doc.length - 1) if self.doc else 0)

    def step(self, d: int) -> None:
        self.pause()
        self.set_frame(getattr(self, "frame", 0) + d)

    # --- playback ------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.playback.playing

    def play(self) -> None:
        if self.doc is not None:
            self.playback.span = self.transport.play_range()
            self.playback.play(self.frame, self.doc.length, self.doc.fps)
            self.transport.sync()
            self._music_follow(self.playback.frame_now(), scrubbed=False)

    def pause(self) -> None:
        self.playback.pause()
        self._music_stop()
        self.transport.sync()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    # --- edits ---------------------------------------------------------------------------------------
    def _push(self, cmd, pins=None) -> bool:
        try:
            if pins is not None:
                C.check(self.doc, pins)
            self.undo.push(cmd)
        except CSGNError as e:
            self.error(str(e))
            return False
        self._schedule_auto_fill()
        return True

    # --- jobs ----------------------------------------------------------------------------------------
    def run_job(self, kind: str, args: dict, label: str, on_done, auto: bool = False) -> int | None:
        """Run a model job (``JobRunner.submit``); ``on_done(result)`` applies its answer."""
        return self.jobs.submit(kind, args, label, on_done, auto)

    def _refusal(self, args: dict) -> str | None:
        doc, info = args.get("doc"), self.worker.info
        if doc is not None and info is not None and doc.model != info["name"] and not compatible(
                doc, info["skeleton"], info["fps"]):
            return (f"this project was made with the model '{doc.model}' but '{info['name']}' is loaded; "
                    f"start CSGN Studio with --model {doc.model}")
        return None

    def cancel_job(self) -> None:
        self.jobs.cancel()

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def _show_progress(self, on: bool) -> None:
        self.progress_bar.setVisible(on)
        self.cancel_button.setVisible(on)

    # --- view ----------------------------------------------------------------------------------------
    def set_onion(self, on: bool) -> None:
        """Ghost skeletons a few frames before and after the current one (remembered in the settings)."""
        self.settings.setValue("onion_skin", bool(on))
        if self.act_onion.isChecked() != bool(on):
            self.act_onion.setChecked(bool(on))
        self.viewport.set_onion(on)

    def closeEvent(self, e) -> None:
        if self.prompt_on_close and not self.maybe_save():
            e.ignore()
            return
        self.pause()
        self.audio.close()
        self.settings.setValue("geometry", self.saveGeometry())
        self._clear_recovery()
        self.autosave_timer.stop()
        self.auto_fill_timer.stop()
        self.jobs.cancel()
        if self._own_worker:
            self.worker.stop()
        else:
            self.jobs.disconnect_worker()
        e.accept()
