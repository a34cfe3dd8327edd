"""The model worker process: results, progress, cancel and crash recovery."""
from __future__ import annotations

import time


def test_generate_progress_and_result(worker, qtbot):
    seen = []
    worker.progress.connect(lambda j, f, t: seen.append((j, f, t)))
    job = worker.submit("generate", {"seconds": 2.0, "seed": 1})
    status, motion = worker.wait(job, 90)
    assert status == "ok", motion
    assert motion.positions.shape == (60, 22, 3)
    assert any(j == job for j, _, _ in seen)
    assert not worker.busy
    assert worker.info["fps"] == 30.0


def test_cancel_discards_result(worker, qtbot):
    job = worker.submit("_sleep", {"steps": 400, "dt": 0.01})
    time.sleep(0.1)
    got = []
    worker.finished.connect(lambda j, r: got.append(j))
    worker.cancel(job)
    assert not worker.busy
    # The next job still runs and answers; the cancelled one never reports a result.
    job2 = worker.submit("generate", {"seconds": 1.0, "seed": 2})
    status, _motion = worker.wait(job2, 60)
    assert status == "ok"
    assert job not in got


def test_crash_leaves_editor_running_and_restarts(worker, qtbot):
    job = worker.submit("_crash", {"code": 7})
    status, msg = worker.wait(job, 30)
    assert status == "error" and "exit code 7" in msg
    job2 = worker.submit("generate", {"seconds": 1.0, "seed": 3})
    status, motion = worker.wait(job2, 90)
    assert status == "ok", motion


def test_bad_job_reports_error(worker, qtbot):
    status, msg = worker.wait(worker.submit("import", {"path": "/nonexistent/file.bvh"}), 60)
    assert status == "error" and "nonexistent" in msg


def test_worker_reports_and_uses_its_device(qtbot):
    """A worker asked for CUDA says whether torch sees a GPU there and which device it loaded on."""
    from app.worker import ModelWorker
    from tests.app.conftest import ACTIONS

    if not (ACTIONS / "model.safetensors").is_file():
        import pytest

        pytest.skip(f"bundled model missing at {ACTIONS}")
    w = ModelWorker(ACTIONS, device="cuda")
    try:
        status, info = w.wait(w.submit("info"), 90)
        assert status == "ok", info
        qtbot.waitUntil(lambda: w.info is not None, timeout=10_000)
        assert w.info["requested_device"] == "cuda"
        assert w.info["device"] == ("cuda" if w.info["cuda"] else "cpu")
        status, motion = w.wait(w.submit("generate", {"seconds": 1.0, "seed": 1}), 90)
        assert status == "ok", motion
    finally:
        w.stop()


def test_a_big_job_sent_while_a_big_result_comes_back_does_not_deadlock(worker, qtbot):
    """The editor sends a document (hundreds of KB) while the worker sends the previous job's fill
    back: if each side waits for the other to read, both freeze (seen as a hung editor under load).
    The submit must return at once and both answers arrive."""
    big = b"x" * (4 << 20)  # far more than an OS pipe buffer holds
    got = {}
    worker.finished.connect(lambda j, r: got.__setitem__(j, r))
    first = worker.submit("_sleep", {"steps": 5, "dt": 0.01, "payload": big})
    time.sleep(0.3)  # the worker is now writing its 4 MB answer, which nobody reads yet
    t = time.perf_counter()
    second = worker.submit("_sleep", {"steps": 1, "dt": 0.0, "payload": big})
    assert time.perf_counter() - t < 2.0, "submit blocked on a full pipe"
    qtbot.waitUntil(lambda: first in got and second in got, timeout=30_000)
    assert got[first] == big and got[second] == big


def test_the_worker_uses_the_cores_the_waiting_ui_leaves():
    from app.worker_process import worker_threads

    assert [worker_threads(n) for n in (1, 2, 4, 8)] == [1, 2, 3, 7]
