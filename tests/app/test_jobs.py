"""The job runner and playback without a window (app/jobs.py, app/playback.py)."""
import time

from PySide6 import QtCore

from app.jobs import JobRunner
from app.playback import Playback


class FakeWorker(QtCore.QObject):
    finished = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    progress = QtCore.Signal(int, float, str)
    ready = QtCore.Signal(object)
    loadFailed = QtCore.Signal(str)

    def __init__(self):
        super().__init__()
        self.info, self.details, self.sent, self.cancelled = {"name": "m"}, {}, [], []

    def submit(self, kind, args):
        self.sent.append((kind, args))
        return len(self.sent)

    def cancel(self, job):
        self.cancelled.append(job)
        self.failed.emit(job, "cancelled")


def test_one_job_at_a_time_answers_and_failures(qtbot):
    w = FakeWorker()
    said, wrong, results = [], [], []
    jobs = JobRunner(w, refuse=lambda args: "not this one" if args.get("bad") else None)
    jobs.said.connect(lambda text, ms: said.append(text))
    jobs.went_wrong.connect(lambda text, details: wrong.append((text, details)))
    j = jobs.submit("fill", {}, "Fill gaps", results.append)
    assert jobs.busy and jobs.submit("fill", {}, "Again", results.append) is None and "busy" in wrong[-1][0]
    w.progress.emit(j, 0.5, "sampling")
    assert said[-1] == "Fill gaps: sampling"
    w.finished.emit(j, "the fill")
    assert results == ["the fill"] and not jobs.busy and said[-1] == "Fill gaps: done"
    assert jobs.submit("fill", {"bad": True}, "Bad", results.append) is None and wrong[-1][0] == "not this one"
    j = jobs.submit("fill", {}, "Fill gaps", results.append)
    w.details[j] = "Traceback ..."
    w.failed.emit(j, "ZeroDivisionError: x")
    assert wrong[-1] == ("Fill gaps failed: ZeroDivisionError: x\nThe document was not changed.", "Traceback ...")


def test_a_users_job_cancels_an_automatic_one(qtbot):
    w = FakeWorker()
    jobs = JobRunner(w)
    auto = jobs.submit("fill", {}, "Auto-fill", lambda r: None, auto=True)
    assert jobs.auto_running
    mine = jobs.submit("resample_gap", {}, "Resample", lambda r: None)
    assert w.cancelled == [auto] and mine is not None and jobs.current.label == "Resample"


def test_playback_follows_the_clock_and_loops(qtbot):
    pb = Playback()
    frames = []
    pb.frameDue.connect(frames.append)
    pb.play(8, 10, 100.0)  # 100 fps over 10 frames: loops every 0.1 s
    qtbot.waitUntil(lambda: len(frames) >= 5, timeout=2000)
    pb.pause()
    assert not pb.playing and all(0 <= f < 10 for f in frames) and (0 in frames or 9 in frames)
    n = len(frames)
    time.sleep(0.05)
    QtCore.QCoreApplication.processEvents()
    assert len(frames) == n  # paused
