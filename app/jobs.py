"""The editor's job runner: one model job at a time on the worker, with its label, progress and answer.

Qt-light (a QObject with signals, no widgets), so it is tested without a window. The window connects
``said`` to its status bar, ``went_wrong`` to its error dialog, ``running``/``progressed`` to its
progress bar, and calls ``submit``/``cancel``; every answer arrives through the ``on_done`` callback
given with the job, on the GUI thread.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore

from csgn_core.errors import CSGNError


@dataclass(frozen=True)
class RunningJob:
    id: int
    label: str  # what the user reads: "Fill gaps", "Auto-fill", "Import x.bvh" ...
    on_done: Callable[[object], None]
    auto: bool  # started by the editor itself (auto-fill): the user's own jobs go first


class JobRunner(QtCore.QObject):
    """Submits jobs to a ``ModelWorker`` and turns its answers into the editor's messages."""

    started = QtCore.Signal(int, str)  # job id, label
    running = QtCore.Signal(bool)  # a job is (no longer) running: show or hide progress
    progressed = QtCore.Signal(int)  # percent of the running job
    said = QtCore.Signal(str, int)  # status text, milliseconds (0: until replaced)
    went_wrong = QtCore.Signal(str, str)  # one-line message, details (a traceback or "")

    def __init__(self, worker, refuse: Callable[[dict], str | None] | None = None, parent=None):
        super().__init__(parent)
        self.worker = worker
        self.refuse = refuse  # args -> a reason not to run them (e.g. a project for another model), or None
        self.current: RunningJob | None = None
        for sig, slot in self._wiring():
            sig.connect(slot)

    def _wiring(self):
        w = self.worker
        return ((w.finished, self._finished), (w.failed, self._failed), (w.progress, self._progress),
                (w.ready, self._ready), (w.loadFailed, self._load_failed))

    def disconnect_worker(self) -> None:
        """Stop listening to a worker this editor does not own (it may serve another window)."""
        for sig, slot in self._wiring():
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    # --- the user's side -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.current is not None

    @property
    def auto_running(self) -> bool:
        return self.current is not None and self.current.auto

    def submit(self, kind: str, args: dict, label: str, on_done, auto: bool = False) -> int | None:
        """Start a job, or say why not (busy, or ``refuse``) and return None. A user's job cancels an
        automatic one that is running."""
        if self.auto_running and not auto:
            self.cancel()
        if self.current is not None:
            self.went_wrong.emit(f"busy: {self.current.label} is still running (cancel it with Esc)", "")
            return None
        reason = self.refuse(args) if self.refuse is not None else None
        if reason:
            self.went_wrong.emit(reason, "")
            return None
        job = self.worker.submit(kind, args)
        self.current = RunningJob(job, label, on_done, auto)
        self.started.emit(job, label)
        self.running.emit(True)
        self.progressed.emit(0)
        loading = "" if self.worker.info else " (loading the model first)"
        self.said.emit(f"{label}...{loading}", 0)
        return job

    def cancel(self) -> None:
        if self.current is not None:
            self.worker.cancel(self.current.id)

    # --- the worker's side ----------------------------------------------------------------------
    def _ready(self, info) -> None:
        note = ""
        if info.get("requested_device") == "cuda" and info.get("device") != "cuda":
            note = "; CUDA is not available to the worker, so it runs on the CPU"
        self.said.emit(f"model '{info['name']}' ready ({info['fps']:g} fps, {info.get('device', 'cpu')}){note}", 8000)

    def _load_failed(self, message) -> None:
        self.went_wrong.emit(message, "")

    def _progress(self, job, frac, text) -> None:
        if self.current and job == self.current.id:
            self.progressed.emit(int(100 * frac))
            if text:
                self.said.emit(f"{self.current.label}: {text}", 0)

    def _end(self, job) -> RunningJob | None:
        if not self.current or job != self.current.id:
            return None
        done, self.current = self.current, None
        self.running.emit(False)
        return done

    def _finished(self, job, result) -> None:
        done = self._end(job)
        if done is None:
            return
        try:
            done.on_done(result)
        except CSGNError as e:
            self.went_wrong.emit(f"{done.label} failed: {e}", "")
            return
        self.said.emit(f"{done.label}: done", 8000)

    def _failed(self, job, message) -> None:
        done = self._end(job)
        if done is None:
            return
        if message == "cancelled":
            self.said.emit(f"{done.label}: cancelled; nothing changed", 8000)
        else:
            self.went_wrong.emit(f"{done.label} failed: {message}\nThe document was not changed.",
                                 self.worker.details.pop(job, ""))
