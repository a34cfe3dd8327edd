"""Start CSGN Studio: ``csgn-studio [--model NAME_OR_FOLDER] [--seed N] [--seconds S] [PROJECT]``.

The window appears at once; the model loads in the worker process and the first motion shows
as soon as it is generated.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="csgn-studio", description="CSGN Studio animation editor")
    ap.add_argument("project", nargs="?", help="a .csgnproj file to open")
    ap.add_argument("--model", help="model name under resources/models (dance, actions) or a model folder")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first motion (default 0)")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the first motion (default 10)")
    args = ap.parse_args(argv)

    from PySide6 import QtCore, QtWidgets

    from .models import default_model_dir
    from .worker import ModelWorker

    # One GL context group for every view: pyqtgraph caches shader programs across widgets.
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("CSGN Studio")
    app.setOrganizationName("csgn-studio")
    settings = QtCore.QSettings("csgn-studio", "editor")
    model_dir = default_model_dir(args.model or settings.value("model") or None)
    # Start the model process first: it imports torch while this one imports pyqtgraph and builds the window.
    device = str(settings.value("device") or "cpu").lower()
    worker = ModelWorker(model_dir, device=device if device in ("cpu", "cuda") else "cpu")
    from .window import MainWindow

    win = MainWindow(model_dir=model_dir, settings=settings, worker=worker, own_worker=True,
                     start_seconds=args.seconds, start_seed=args.seed, autostart=args.project is None)
    win.show()
    if os.environ.get("CSGN_STUDIO_STARTUP_PROBE"):
        _startup_probe(app, win)
    if args.project:
        win.open_project(args.project, ask=False)
    return app.exec()


def _startup_probe(app, win) -> None:
    """For benchmarks/bench_start.py: print wall-clock times of 'shown' and 'playing' (the first
    generated frame advanced on screen), then quit."""
    from PySide6 import QtCore

    app.processEvents()
    print(f"shown {time.time():.3f}", flush=True)
    timer = QtCore.QTimer(win)

    def check():
        if win.doc is not None and win.playing and getattr(win, "frame", 0) > 0:
            print(f"playing {time.time():.3f}", flush=True)
            timer.stop()
            win.setWindowModified(False)
            win.quiet = True
            QtCore.QTimer.singleShot(0, app.quit)

    timer.timeout.connect(check)
    timer.start(10)


if __name__ == "__main__":
    raise SystemExit(main())
