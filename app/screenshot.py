"""Screenshots of the editor for the docs and the drawing test: ``python -m app.screenshot OUT_DIR``.

Starts the editor on the bundled model, pins a range, and writes ``editor.png`` (the window),
``editor-generated.png`` and ``editor-pinned.png`` (the 3D viewport at a generated and at a pinned
frame), then ``editor-onion.png`` / ``editor-onion-viewport.png`` with the onion skin on, and
``editor-partial.png`` (a pin holding the arms only), ``editor-path.png`` (a floor-path pin drawn in
the top view) and ``editor-modal.png`` (the view's screen
pixels under a modal message box). Needs a display with OpenGL (run under ``xvfb-run -a`` on a headless machine); exits with
status 3 when no OpenGL context could be made.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

NO_GL = 3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m app.screenshot")
    ap.add_argument("out", type=Path)
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--music", type=Path, default=None, help="a song to load on the timeline first")
    args = ap.parse_args(argv)

    from PySide6 import QtCore, QtWidgets

    from .window import MainWindow, default_model_dir

    # One GL context group for every view: pyqtgraph caches shader programs across widgets.
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    tmp = QtCore.QTemporaryDir()
    settings = QtCore.QSettings(str(Path(tmp.path()) / "s.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(model_dir=default_model_dir(args.model), settings=settings, start_seconds=args.seconds,
                     start_seed=args.seed, recovery=Path(tmp.path()) / "r.csgnproj", offer_recovery=False)
    win.quiet = True
    win.prompt_on_close = False
    win.resize(1200, 760)
    win.show()
    t0 = time.monotonic()
    while (win.doc is None or win.busy) and time.monotonic() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    if win.doc is None:
        print(f"no document: {getattr(win, 'last_error', 'timed out')}", file=sys.stderr)
        return 1
    win.pause()
    ctx = win.viewport.context()
    if ctx is None or not ctx.isValid():
        print("no OpenGL context", file=sys.stderr)
        return NO_GL
    n = win.doc.length
    def settle():
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)

    if args.music is not None:
        win.load_music(args.music)
        t0 = time.monotonic()
        while (win.busy or win.audio.samples is None) and time.monotonic() - t0 < 120:
            app.processEvents()
            time.sleep(0.01)
    win.pin_selection(n // 2, n // 2 + n // 5)
    win.fill_gaps(seed=args.seed + 1)
    t0 = time.monotonic()
    while win.busy and time.monotonic() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    args.out.mkdir(parents=True, exist_ok=True)
    win.set_frame(n // 4)
    settle()
    win.viewport.grabFramebuffer().save(str(args.out / "editor-generated.png"))
    win.set_frame(n // 2 + n // 10)
    settle()
    win.viewport.grabFramebuffer().save(str(args.out / "editor-pinned.png"))
    win.grab().save(str(args.out / "editor.png"))
    # The onion skin: ghosts before (cool) and after (warm) a generated frame, while the motion moves.
    win.set_onion(True)
    win.set_frame(n // 4)
    settle()
    win.grab().save(str(args.out / "editor-onion.png"))
    win.viewport.grabFramebuffer().save(str(args.out / "editor-onion-viewport.png"))
    # A partial pin: the arms of a range held, the rest of the body generated around them.
    win.set_onion(False)
    a = n // 10
    win.pin_selection(a, a + n // 6, joints="arms")
    win.fill_gaps(seed=args.seed + 2)
    t0 = time.monotonic()
    while win.busy and time.monotonic() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    win.set_frame(a + n // 12)
    settle()
    win.grab().save(str(args.out / "editor-partial.png"))
    # A floor-path pin drawn in the top view: an arc from where the take is at the range's start.
    import numpy as np

    win.viewport.set_path_mode(True)
    b0, b1 = n // 2 + n // 5 + 5, n - 5
    start = win.doc.fill.motion.root[b0, [0, 2]]
    ang = np.linspace(0, np.pi, 24)
    win.pin_drawn_path(start + np.stack([150 * (1 - np.cos(ang)), 120 * np.sin(ang)], axis=1), b0, b1)
    t0 = time.monotonic()
    while win.busy and time.monotonic() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    win.set_frame((b0 + b1) // 2)
    settle()
    win.grab().save(str(args.out / "editor-path.png"))
    win.viewport.set_path_mode(False)
    _shoot_under_modal(app, win, args.out / "editor-modal.png")
    win.close()
    return 0


def _shoot_under_modal(app, win, path: Path) -> None:
    """The screen's pixels of the 3D view while a modal message box is open over the window (the
    view must keep drawing the figure, not go blank): what the X server shows, not a re-render."""
    from PySide6 import QtCore, QtWidgets

    def shoot():
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)
        vp = win.viewport
        top_left = vp.mapToGlobal(QtCore.QPoint(0, 0))
        app.primaryScreen().grabWindow(0, top_left.x(), top_left.y(), vp.width(), vp.height()).save(str(path))
        box.done(0)

    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Information, "CSGN Studio", "A modal dialog", parent=win)
    box.setModal(True)
    QtCore.QTimer.singleShot(200, shoot)
    box.exec()


if __name__ == "__main__":
    raise SystemExit(main())
