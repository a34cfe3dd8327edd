"""Qt set-up for the editor tests: offscreen unless a display is there (xvfb-run gives one)."""
from __future__ import annotations

import os

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from pathlib import Path

from PySide6 import QtCore

# Every GL view shares one context group, so pyqtgraph's cached shader programs (one per item
# class) stay valid in windows made after the first; the editor's main() does the same.
QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)

REPO = Path(__file__).resolve().parents[2]
ACTIONS = REPO / "resources" / "models" / "actions"


@pytest.fixture(scope="session")
def qapp_args():
    return ["csgn-studio-tests"]


@pytest.fixture(scope="module")
def worker(qapp):
    """One real model worker process per test module (starting one loads torch and the model)."""
    from app.worker import ModelWorker

    if not (ACTIONS / "model.safetensors").is_file():
        pytest.skip(f"bundled model missing at {ACTIONS}")
    w = ModelWorker(ACTIONS)
    yield w
    w.stop()


def run(qtbot, win, job, timeout=90_000):
    """Wait until the window's job ``job`` (which must have started) is answered."""
    assert job is not None, getattr(win, "last_error", "")
    qtbot.waitUntil(lambda: not win.busy, timeout=timeout)


@pytest.fixture
def make_window(qtbot, worker, tmp_path):
    """A main window on the module's worker with its own settings file; errors go to the status bar
    and ``last_error`` instead of modal dialogs."""
    def make(**kw):
        from app.window import MainWindow

        settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
        kw.setdefault("recovery", tmp_path / "recovery.csgnproj")
        kw.setdefault("offer_recovery", False)
        kw.setdefault("autostart", False)
        w = MainWindow(settings=settings, worker=worker, **kw)
        w.quiet = True
        w.prompt_on_close = False
        qtbot.addWidget(w)
        w.resize(1000, 700)
        w.show()
        return w

    return make


@pytest.fixture
def win(make_window, qtbot):
    """A window showing a fresh 10 s motion (seed 5) of the bundled actions model, paused."""
    w = make_window()
    run(qtbot, w, w.new_from_seed(5, 10.0, ask=False))
    w.pause()
    assert w.doc is not None and w.doc.length == 300
    return w
