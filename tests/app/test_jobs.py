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


def test_playback_speed_and_play_range(qapp, monkeypatch):
    """Transport (issue 15): 0.25-2x speed from the clock; a span loops over its frames or stops at its end."""
    import app.playback as P

    now = [100.0]
    monkeypatch.setattr(P.time, "perf_counter", lambda: now[0])
    pb = Playback()
    pb.set_speed(2.0)
    pb.play(10, 300, 30.0)
    now[0] += 1.0
    assert pb.frame_now() == 70  # two seconds of motion in one
    pb.set_speed(0.25)  # keeps the frame it was at
    now[0] += 2.0
    assert pb.frame_now() == 85
    pb.set_speed(9.0)
    assert pb.speed == 2.0
    pb.pause()
    pb.set_speed(1.0)
    pb.span = (100, 130)
    pb.play(5, 300, 30.0)  # outside the range: starts at its beginning
    assert pb.frame_now() == 100
    now[0] += 1.5  # 45 frames: loops inside the 30-frame range
    assert pb.frame_now() == 115
    pb.loop = False
    pb.play(100, 300, 30.0)
    now[0] += 5.0
    assert pb.frame_now() == 129
    stops = []
    pb.stopped.connect(lambda: stops.append(1))
    pb._tick()
    assert not pb.playing and stops == [1]
