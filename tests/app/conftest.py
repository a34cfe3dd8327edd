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
