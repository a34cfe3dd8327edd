"""The main window: viewport, timeline, actions, undo, jobs (files and auto-save: files.py).

Actions that ask the user something (file names, seeds) take the answer as an optional argument,
so scripts and tests call them directly; with no argument they open the dialog.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from csgn_core.errors import CSGNError

from . import APP_NAME
from . import commands as C
from csgn_core.continuation import DocState, context_range, continued_state
from .dialogs import PredictDialog, PreferencesDialog, SeedDialog, about_text
from .files import FileActions, recovery_path
from .models import default_model_dir, model_header
from .timeline_view import TimelineView
from .viewport import Viewport
from .worker import ModelWorker

AUTOSAVE_MS = 60_000
AUTO_FILL_MS = 300  # quiet time after an edit before Auto-fill starts

def _bool(v) -> bool:
    """A QSettings value as a bool (INI files give back strings)."""
    return v is True or str(v).lower() in ("true", "1", "yes")


def _compatible(doc, skeleton, fps) -> bool:
    """Can a model with this skeleton and fps work on the document?"""
    own = doc.skeleton or (doc.fill.motion.skeleton if doc.fill is not None else None)
    return own is not None and own.same_topology(skeleton) and abs(doc.fps - float(fps)) < 1e-6


class MainWindow(FileActions, QtWidgets.QMainWindow):
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
        self.playing = False
        self._play_t0 = 0.0
        self._play_f0 = 0
        self._job = None  # (id, label, on_done, auto)
        self._own_worker = worker is None if own_worker is None else own_worker
        self.worker = worker or ModelWorker(self.model_dir, self, device=self._device_setting())
        self.worker.finished.connect(self._job_finished)
        self.worker.failed.connect(self._job_failed)
        self.worker.progress.connect(self._job_progress)
        self.worker.loadFailed.connect(self._worker_load_failed)
        self.worker.ready.connect(self._worker_ready)

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
        split.setSizes([600, 130])
        self.setCentralWidget(split)

        self.history = QtWidgets.QUndoView(self.undo)
        dock = QtWidgets.QDockWidget("History", self)
        dock.setObjectName("history")
        dock.setWidget(self.history)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [200], QtCore.Qt.Horizontal)
        self.history_dock = dock

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

        self.play_timer = QtCore.QTimer(self)
        self.play_timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.play_timer.timeout.connect(self._tick)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(AUTOSAVE_MS)
        self.auto_fill = _bool(self.settings.value("auto_fill", False))
        self.auto_fill_timer = QtCore.QTimer(self)
        self.auto_fill_timer.setSingleShot(True)
        self.auto_fill_timer.setInterval(AUTO_FILL_MS)
        self.auto_fill_timer.timeout.connect(self._auto_fill_now)

        self._build_actions()
        self.resize(1200, 760)
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
        self._act(g, "&Cancel job", self.cancel_job, "Esc")
        g.addSeparator()
        self._act(g, "Choose &model folder...", lambda: self.choose_model())
        v = mb.addMenu("&View")
        self._act(v, "&Play / pause", self.toggle_play, "Space")
        self._act(v, "Step &back", lambda: self.step(-1), "Left")
        self._act(v, "Step &forward", lambda: self.step(1), "Right")
        self._act(v, "&Start", lambda: self.set_frame(0), "Home")
        self._act(v, "&End", lambda: self.set_frame((self.doc.length - 1) if self.doc else 0), "End")
        v.addSeparator()
        self._act(v, "&Reset camera", self.viewport.reset_camera, "R")
        self.act_follow = self._act(v, "&Follow root", self.viewport.set_follow_root, "F", checkable=True)
        self.act_follow.setChecked(self.viewport.follow_root)
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
        self._update_title()

    def _on_stack_changed(self, *_) -> None:
        try:
            self._doc_changed()
        except RuntimeError:  # the window is being destroyed (Qt deletes children first)
            pass

    def _on_doc_event(self, kind, payload) -> None:
        if kind == "length_changed":
            self.timeline.fit()
            if self.frame >= self.doc.length:
                self.set_frame(self.doc.length - 1)
        self._doc_changed()

    def _doc_changed(self) -> None:
        self.viewport.refresh()
        self.timeline.update()
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
        self.frame = frame
        self.viewport.set_frame(frame)
        if self.timeline.frame != frame:
            self.timeline.set_frame(frame)
        self.frame_label.setText(f"frame {frame} / {self.doc.length - 1}   {frame / self.doc.fps:6.2f} s")

    def step(self, d: int) -> None:
        self.pause()
        self.set_frame(getattr(self, "frame", 0) + d)

    # --- playback ------------------------------------------------------------------------------------
    def play(self) -> None:
        if self.doc is None:
            return
        self.playing = True
        self._play_t0 = time.perf_counter()
        self._play_f0 = getattr(self, "frame", 0)
        self.play_timer.start(max(1, int(1000 / self.doc.fps / 2)))

    def pause(self) -> None:
        self.playing = False
        self.play_timer.stop()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def _tick(self) -> None:
        # Frame from the clock, so slow redraws drop frames instead of slowing the motion down.
        f = self._play_f0 + int((time.perf_counter() - self._play_t0) * self.doc.fps)
        f %= self.doc.length
        if f != getattr(self, "frame", -1):
            self.set_frame(f)

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

    def pin_selection(self, start: int | None = None, stop: int | None = None) -> bool:
        """Pin the current fill's frames [start, stop) (default: the timeline's selection)."""
        if self.doc is None:
            return False
        if start is None:
            if self.timeline.selection is None:
                self.error("select a range on the timeline first (drag on the track)")
                return False
            start, stop = self.timeline.selection
        if self.doc.fill is None:
            self.error("nothing generated to pin yet")
            return False
        from csgn_core.timeline import Pin

        start, stop = int(start), int(stop)
        if not (0 <= start < stop <= self.doc.length):
            self.error(f"frames {start}-{stop - 1} are outside the timeline")
            return False
        # The pin's source keeps a little of the fill either side, so a trim can grow it back a bit.
        margin = round(2 * self.doc.fps)
        a, b = max(0, start - margin), min(self.doc.fill.motion.n_frames, stop + margin)
        motion = self.doc.fill.motion.slice(a, b)
        pin = Pin(motion, start - a, stop - a, start, label=f"pinned {start}-{stop - 1}")
        ok = self._push(C.AddPin(self.doc, pin, "Pin selection"), self.doc.pins + [pin])
        if ok:
            self.timeline.selection = None
            self.timeline.selected_pin = pin.id
            self.timeline.update()
        return ok

    def delete_pin(self, pin_id: str | None = None) -> bool:
        pin_id = pin_id or self.timeline.selected_pin
        if self.doc is None or pin_id is None:
            return False
        ok = self._push(C.RemovePin(self.doc, pin_id))
        if ok:
            self.timeline.selected_pin = None
        return ok

    def move_pin(self, pin_id: str, at: int) -> bool:
        return self._replace_pin(pin_id, "Move pin", lambda: self.doc.moved(pin_id, at))

    def trim_pin(self, pin_id: str, src_start: int, src_stop: int) -> bool:
        return self._replace_pin(pin_id, "Trim pin", lambda: self.doc.trimmed(pin_id, src_start, src_stop))

    def _replace_pin(self, pin_id: str, label: str, edit) -> bool:
        """Push one ReplacePin for the pin ``edit()`` computes (the Timeline's rule), or say why not."""
        old = self.doc.pin(pin_id)
        try:
            new, _ = edit()
        except CSGNError as e:
            self.error(str(e))
            return False
        return self._push(C.ReplacePin(self.doc, old, new, label))

    # --- jobs ----------------------------------------------------------------------------------------
    def run_job(self, kind: str, args: dict, label: str, on_done, auto: bool = False) -> int | None:
        if self._job is not None and self._job[3] and not auto:
            self.cancel_job()  # the user's own job goes before an automatic fill
        if self._job is not None:
            self.error(f"busy: {self._job[1]} is still running (cancel it with Esc)")
            return None
        doc, info = args.get("doc"), self.worker.info
        if doc is not None and info is not None and doc.model != info["name"] and not _compatible(
                doc, info["skeleton"], info["fps"]):
            self.error(f"this project was made with the model '{doc.model}' but '{info['name']}' is loaded; "
                       f"start CSGN Studio with --model {doc.model}")
            return None
        job = self.worker.submit(kind, args)
        self._job = (job, label, on_done, auto)
        self.jobStarted.emit(job, label)
        self._show_progress(True)
        self.progress_bar.setValue(0)
        loading = "" if self.worker.info else " (loading the model first)"
        self.status(f"{label}...{loading}", 0)
        return job

    def _worker_ready(self, info) -> None:
        note = ""
        if info.get("requested_device") == "cuda" and info.get("device") != "cuda":
            note = "; CUDA is not available to the worker, so it runs on the CPU"
        self.status(f"model '{info['name']}' ready ({info['fps']:g} fps, {info.get('device', 'cpu')}){note}")

    def _worker_load_failed(self, message) -> None:
        self.error(message)

    def _disconnect_worker(self) -> None:
        for sig, slot in ((self.worker.finished, self._job_finished), (self.worker.failed, self._job_failed),
                          (self.worker.progress, self._job_progress), (self.worker.ready, self._worker_ready),
                          (self.worker.loadFailed, self._worker_load_failed)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def cancel_job(self) -> None:
        if self._job is not None:
            self.worker.cancel(self._job[0])

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _show_progress(self, on: bool) -> None:
        self.progress_bar.setVisible(on)
        self.cancel_button.setVisible(on)

    def _job_progress(self, job, frac, text) -> None:
        if self._job and job == self._job[0]:
            self.progress_bar.setValue(int(100 * frac))
            if text:
                self.status(f"{self._job[1]}: {text}", 0)

    def _job_finished(self, job, result) -> None:
        if not self._job or job != self._job[0]:
            return
        _, label, on_done, _auto = self._job
        self._job = None
        self._show_progress(False)
        try:
            on_done(result)
        except CSGNError as e:
            self.error(f"{label} failed: {e}")
            return
        self.status(f"{label}: done")

    def _job_failed(self, job, message) -> None:
        if not self._job or job != self._job[0]:
            return
        label = self._job[1]
        self._job = None
        self._show_progress(False)
        if message == "cancelled":
            self.status(f"{label}: cancelled; nothing changed")
        else:
            self.error(f"{label} failed: {message}\nThe document was not changed.", self.worker.details.pop(job, ""))

    # --- model actions -------------------------------------------------------------------------------
    def new_from_seed(self, seed: int | None = None, seconds: float | None = None, ask: bool = True) -> int | None:
        if seed is None or seconds is None:
            dlg = SeedDialog(self)
            if dlg.exec() != QtWidgets.QDialog.Accepted:
                return None
            seed, seconds = dlg.values()
        if ask and not self.maybe_save():
            return None

        def done(doc):
            self.set_document(doc)
            self.play()

        return self.run_job("new_timeline", {"seconds": float(seconds), "seed": int(seed)},
                            f"New motion (seed {seed}, {seconds:g} s)", done)

    def choose_model(self, folder: str | Path | None = None) -> bool:
        """Use another model folder (remembered in the settings); the worker restarts with it."""
        if folder is None:
            folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Model folder", str(self.model_dir))
            if not folder:
                return False
        return self.apply_preferences(model=Path(folder).resolve())

    def fill_gaps(self, seed: int | None = None, auto: bool = False) -> int | None:
        if self.doc is None:
            return None
        seed = int(time.time()) % 100000 if seed is None else seed
        doc = self.doc
        label = "Auto-fill" if auto else "Fill gaps"

        def done(fill):
            if self.doc is doc:
                self.undo.push(C.SetFill(doc, fill, label))

        return self.run_job("fill", {"doc": doc, "seed": seed}, label, done, auto=auto)

    # --- auto-fill -----------------------------------------------------------------------------------
    def set_auto_fill(self, on: bool) -> None:
        """Fill stale gaps by themselves AUTO_FILL_MS after each edit (remembered in the settings)."""
        self.auto_fill = bool(on)
        self.settings.setValue("auto_fill", self.auto_fill)
        if self.act_auto_fill.isChecked() != self.auto_fill:
            self.act_auto_fill.setChecked(self.auto_fill)
        if self.auto_fill:
            self._schedule_auto_fill()
        else:
            self.auto_fill_timer.stop()
            if self._job is not None and self._job[3]:
                self.cancel_job()

    def _schedule_auto_fill(self) -> None:
        """After an edit: (re)start the quiet-time timer; an auto-fill already running is now out of
        date, so it is cancelled (a new one follows)."""
        if not self.auto_fill or self.doc is None:
            return
        if self._job is not None and self._job[3]:
            self.cancel_job()
        self.auto_fill_timer.start()

    def _auto_fill_now(self) -> None:
        if not self.auto_fill or self.doc is None or not self.doc.stale_gaps():
            return
        if self._job is not None:
            if self._job[3]:
                self.cancel_job()
            else:  # the user's job runs: try again when it may be done
                self.auto_fill_timer.start()
                return
        self.fill_gaps(auto=True)

    # --- predict -------------------------------------------------------------------------------------
    def predict_continuation(self, seconds: float | None = None, source: str | None = None,
                             seed: int | None = None) -> int | None:
        """Continue the motion for ``seconds`` after a context: "end" (the timeline's last seconds),
        "selection" or "last_pin". The timeline becomes context end + the new frames long; it is one
        undo step. Frames after a context that ends before the timeline's end are replaced."""
        if self.doc is None:
            return None
        if seconds is None or source is None:
            dlg = PredictDialog(self, has_selection=self.timeline.selection is not None,
                                 has_pins=bool(self.doc.pins))
            if dlg.exec() != QtWidgets.QDialog.Accepted:
                return None
            seconds, source, seed = dlg.values()
        doc = self.doc
        if doc.fill is None or doc.fill.motion.n_frames != doc.length:
            self.error("nothing to continue yet: fill the timeline first")
            return None
        try:
            if not (float(seconds) > 0):
                raise CSGNError(f"the continuation must be longer than 0 s, got {seconds}")
            start, stop = context_range(doc, source, self.timeline.selection)
        except CSGNError as e:
            self.error(str(e))
            return None
        seed = int(time.time()) % 100000 if seed is None else int(seed)
        frames = max(1, round(float(seconds) * doc.fps))
        before = DocState.of(doc)

        def done(cont):
            if self.doc is not doc:
                return
            if doc.length != before.length or tuple(doc.pins) != before.pins or doc.fill is not before.fill:
                raise CSGNError("the document changed while the model was predicting; nothing was applied")
            new = continued_state(doc, stop, cont, seed)
            self.undo.push(C.SetState(doc, before, new, f"Predict {frames / doc.fps:g} s"))
            self.set_frame(stop)
            self._schedule_auto_fill()

        return self.run_job("predict", {"doc": doc, "start": start, "stop": stop, "frames": frames, "seed": seed},
                            f"Predict continuation ({frames / doc.fps:g} s)", done)

    # --- preferences ---------------------------------------------------------------------------------
    def _device_setting(self) -> str:
        v = str(self.settings.value("device") or "cpu").lower()
        return v if v in ("cpu", "cuda") else "cpu"

    def cuda_available(self) -> bool | None:
        """What the worker process found (torch.cuda.is_available() there); None until it has loaded."""
        info = self.worker.info
        return None if info is None else bool(info.get("cuda", False))

    def preferences(self) -> bool:
        dlg = PreferencesDialog(self, self.model_dir, self.worker.device, self.cuda_available())
        if dlg.exec() != QtWidgets.QDialog.Accepted:
            return False
        return self.apply_preferences(model=dlg.model(), device=dlg.device())

    def apply_preferences(self, model: str | Path | None = None, device: str | None = None) -> bool:
        """Use another model (a bundled name or a folder) and/or device ("cpu", "cuda"); both are
        remembered in the settings and the worker restarts with them. A model on another skeleton or
        frame rate is refused while the document has pins (the document stays as it is); a document
        without pins is replaced by a new motion from the new model."""
        folder = self.model_dir if model is None else default_model_dir(str(model))
        device = self.worker.device if device is None else str(device).lower()
        if device not in ("cpu", "cuda"):
            self.error(f"unknown device {device!r} (cpu or cuda)")
            return False
        if device == "cuda" and self.worker.device != "cuda" and self.cuda_available() is False:
            self.error("CUDA is not available to the model worker (torch.cuda.is_available() is False); "
                       "it stays on the CPU")
            return False
        model_changed = Path(folder).resolve() != Path(self.model_dir).resolve()
        renew = None
        if model_changed:
            if not (Path(folder) / "config.json").is_file():
                self.error(f"{folder}: no CSGN model here (expected config.json and model.safetensors)")
                return False
            try:
                skeleton, fps = model_header(folder)
            except CSGNError as e:
                self.error(str(e))
                return False
            doc = self.doc
            if doc is not None and not _compatible(doc, skeleton, fps):
                if doc.pins:
                    own = doc.skeleton.name if doc.skeleton else "?"
                    self.error(f"the model '{Path(folder).name}' uses the skeleton '{skeleton.name}' at {fps:g} fps "
                               f"but this document's pins are on '{own}' at {doc.fps:g} fps; the model was not "
                               f"switched and the document is unchanged (save it and remove its pins, or start "
                               f"a new document, then switch)")
                    return False
                if not self.maybe_save():
                    return False
                renew = doc.length / doc.fps
        if not model_changed and device == self.worker.device:
            return True
        self.cancel_job()
        self.auto_fill_timer.stop()
        self.model_dir = Path(folder)
        bundled = Path(folder).parent.resolve() == (default_model_dir("dance").parent).resolve()
        self.settings.setValue("model", Path(folder).name if bundled else str(folder))
        self.settings.setValue("device", device)
        self.worker.model_dir = str(folder)
        self.worker.device = device
        self.worker.restart()
        self.status(f"loading the model in {folder} on {device} ...", 0)
        if renew is not None:
            self.new_from_seed(0, renew, ask=False)
        return True

    # --- view ----------------------------------------------------------------------------------------
    def set_onion(self, on: bool) -> None:
        """Ghost skeletons a few frames before and after the current one (remembered in the settings)."""
        self.settings.setValue("onion_skin", bool(on))
        if self.act_onion.isChecked() != bool(on):
            self.act_onion.setChecked(bool(on))
        self.viewport.set_onion(on)

    def resample_gap(self, frame: int | None = None, seed: int | None = None) -> int | None:
        if self.doc is None:
            return None
        frame = getattr(self, "frame", 0) if frame is None else frame
        gap = self.doc.gap_at(frame)
        if gap is None:
            self.error("the playhead is on a pin; put it in a gap to resample that gap")
            return None
        from csgn_core.sampler import resample_refusal

        refusal = resample_refusal(self.doc, gap)  # said here, before a job starts
        if refusal:
            self.error(refusal)
            return None
        seed = int(time.time()) % 100000 if seed is None else seed
        doc = self.doc

        def done(fill):
            if self.doc is doc:
                self.undo.push(C.SetFill(doc, fill, f"Resample gap {gap.start}-{gap.stop - 1}"))

        return self.run_job("resample_gap", {"doc": doc, "gap_start": gap.start, "seed": seed},
                            "Resample gap", done)

    def closeEvent(self, e) -> None:
        if self.prompt_on_close and not self.maybe_save():
            e.ignore()
            return
        self.pause()
        self._clear_recovery()
        self.autosave_timer.stop()
        self.auto_fill_timer.stop()
        if self._job is not None:
            self.worker.cancel(self._job[0])
        if self._own_worker:
            self.worker.stop()
        else:
            self._disconnect_worker()
        e.accept()
