"""Model work in a separate process, so a crash or out-of-memory there leaves the editor running.

The worker process (multiprocessing 'spawn') loads the model once and then answers jobs, one at a
time, read from a pipe. It reports ``progress`` while a job runs and a ``result`` or ``error`` at
the end. Cancelling is cooperative (the job's ``cancel`` callback sees a shared job id) and, from
the editor's side, immediate: a cancelled job's result is thrown away, so the document never sees
it. If the process dies, the running job fails with a clear message and a fresh process starts.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import time
from pathlib import Path

from PySide6 import QtCore

from .messages import Job, JobError, LoadError, Progress, Ready, Result
from .worker_process import worker_main

log = logging.getLogger("csgn_studio.worker")

# --- the editor side -------------------------------------------------------------------------------


class ModelWorker(QtCore.QObject):
    """Owns the worker process; signals carry the answers back on the GUI thread.

    ``submit(kind, args)`` returns a job id; later exactly one of ``finished(id, result)`` or
    ``failed(id, message)`` arrives for it (``failed`` with "cancelled" after ``cancel``). A failure's
    traceback, when there is one, goes to the ``csgn_studio.worker`` log and to ``details[id]``.
    """

    ready = QtCore.Signal(object)  # {"fps", "skeleton", "name", "device", "requested_device", "cuda"}
    loadFailed = QtCore.Signal(str)
    progress = QtCore.Signal(int, float, str)
    finished = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    busyChanged = QtCore.Signal(bool)

    # The pipe is polled often while a job runs (its answer waits for the next poll: at 30 ms a re-fill
    # answered 15 ms later on average) and seldom while idle (the ready message, a dead process).
    BUSY_POLL_MS, IDLE_POLL_MS = 4, 50

    def __init__(self, model_dir: str | Path, parent=None, poll_ms: int | None = None, device: str = "cpu"):
        super().__init__(parent)
        self.model_dir = str(model_dir)
        self.device = device  # "cpu" or "cuda"; takes effect at the next (re)start
        self.info: dict | None = None
        self._ctx = mp.get_context("spawn")
        self._cancel_id = self._ctx.Value("i", -1)
        self._next_id = 0
        self._pending: list[int] = []  # submitted, not yet answered, in order
        self._cancelled: set[int] = set()
        self.details: dict[int, str] = {}  # job -> traceback of its failure
        self._proc = None
        self._conn = None
        self._busy_ms = self.BUSY_POLL_MS if poll_ms is None else int(poll_ms)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(self.IDLE_POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.start()

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=worker_main, args=(child_conn, self.model_dir, self._cancel_id,
                                                                 self.device),
                                       daemon=True, name="csgn-model-worker")
        self._proc.start()
        child_conn.close()
        self._conn = parent_conn
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._proc is None:
            return
        try:
            self._conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self._proc.join(2)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2)
        self._conn.close()
        self._proc = None

    def restart(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2)
        self._proc = None
        self.info = None
        self.start()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    # --- jobs ----------------------------------------------------------------------------------
    def submit(self, kind: str, args: dict | None = None) -> int:
        args = dict(args or {})
        self._next_id += 1
        job = self._next_id
        was_busy = self.busy
        self._pending.append(job)
        self._conn.send(Job(job, kind, args))  # pickled now: later edits of the document stay here
        if not was_busy:
            self._timer.setInterval(self._busy_ms)
            self.busyChanged.emit(True)
        return job

    def cancel(self, job: int | None = None) -> None:
        """Cancel ``job`` (default: every pending job); its result, if it comes, is discarded."""
        jobs = [job] if job is not None else list(self._pending)
        for j in jobs:
            if j in self._pending:
                self._cancelled.add(j)
                self._cancel_id.value = j
                self._answer(j)
                self.failed.emit(j, "cancelled")

    def _answer(self, job: int) -> None:
        if job in self._pending:
            self._pending.remove(job)
            if not self._pending:
                self._timer.setInterval(self.IDLE_POLL_MS)
                self.busyChanged.emit(False)

    def _poll(self) -> None:
        try:
            while self._conn is not None and self._conn.poll():
                self._handle(self._conn.recv())
        except (EOFError, OSError):
            pass
        if self._proc is not None and not self._proc.is_alive():
            code = self._proc.exitcode
            jobs = list(self._pending)
            self._pending.clear()
            self._cancelled.clear()
            self._timer.setInterval(self.IDLE_POLL_MS)
            self.restart()
            if jobs:
                self.busyChanged.emit(False)
            for j in jobs:
                self.failed.emit(j, f"the model worker stopped unexpectedly (exit code {code}); it was restarted")

    def _handle(self, msg) -> None:
        if isinstance(msg, Ready):
            self.info = msg.info
            self.ready.emit(msg.info)
            return
        if isinstance(msg, LoadError):
            self.loadFailed.emit(msg.message)
            return
        if msg.job in self._cancelled:
            if isinstance(msg, (Result, JobError)):
                self._cancelled.discard(msg.job)
            return
        if isinstance(msg, Progress):
            self.progress.emit(msg.job, msg.fraction, msg.text)
        elif isinstance(msg, Result):
            self._answer(msg.job)
            self.finished.emit(msg.job, msg.value)
        elif isinstance(msg, JobError):
            self._answer(msg.job)
            if msg.details:
                self.details[msg.job] = msg.details
                log.error("model job %d failed: %s\n%s", msg.job, msg.message, msg.details)
            self.failed.emit(msg.job, msg.message)

    def wait(self, job: int, timeout: float = 60.0):
        """Block (processing events) until ``job`` is answered; returns ("ok", result) or ("error", msg).
        For scripts and tests."""
        out = {}

        def done(j, r):
            if j == job:
                out["r"] = ("ok", r)

        def fail(j, m):
            if j == job:
                out["r"] = ("error", m)

        self.finished.connect(done)
        self.failed.connect(fail)
        try:
            t = time.monotonic()
            app = QtCore.QCoreApplication.instance()
            while "r" not in out and time.monotonic() - t < timeout:
                app.processEvents(QtCore.QEventLoop.AllEvents, 20)
                self._poll()
                time.sleep(0.005)
        finally:
            self.finished.disconnect(done)
            self.failed.disconnect(fail)
        return out.get("r", ("error", "timed out"))
