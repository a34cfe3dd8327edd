"""Longest event-loop stall per editor action: a 5 ms QTimer ticks while a scripted session runs
(new from seed, play, import a real BVH, pin, drag, fill, resample, tempo and energy with their re-fills,
a floor path, an arms pin, a morphing gap, undo, redo, load a 60 s MP3 song,
play with it, fit the timeline to it, save, open, export, blend into a BVH);
any gap between ticks beyond 5 ms is time the UI could not respond. Target: no stall over 100 ms.
Runs offscreen (no 3D drawing) or under xvfb-run. Prints numbers; not a test.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

WALK = Path(__file__).resolve().parents[1].parent / "shared/data/bandai-namco/dataset-2.zip/dataset-2/data/dataset-2_walk_active_001.bvh"


def song(path: Path, seconds: float = 60.0, bpm: float = 118.0) -> Path:
    """A made-up song: a kick on every beat, a hat between, a bass line; written as MP3."""
    import numpy as np
    import soundfile

    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    beat = 60.0 / bpm
    phase = t % beat
    kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-phase * 30)) * phase) * np.exp(-phase * 12)
    off = (t + beat / 2) % beat
    hat = np.random.default_rng(0).standard_normal(len(t)) * np.exp(-off * 60) * 0.15
    bass = 0.2 * np.sin(2 * np.pi * 55 * (1 + (np.floor(t / (4 * beat)) % 2) * 0.5) * t)
    soundfile.write(path, (0.5 * kick + hat + bass).astype(np.float32) * 0.7, rate)
    return path


def free_range(doc, n: int) -> tuple[int, int]:
    """Frames [a, a + n) in the first gap long enough to leave 10 frames either side."""
    gap = next(g for g in doc.gaps() if g.length >= n + 20)
    return gap.start + 10, gap.start + 10 + n


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from app.window import MainWindow

    tmp = Path(tempfile.mkdtemp())
    settings = QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(settings=settings, recovery=tmp / "r.csgnproj", offer_recovery=False, autostart=False)
    win.quiet, win.prompt_on_close = True, False
    win.resize(1000, 700)
    win.show()

    last = [time.perf_counter()]
    worst = [0.0]

    def tick():
        now = time.perf_counter()
        worst[0] = max(worst[0], now - last[0] - 0.005)
        last[0] = now

    timer = QtCore.QTimer()
    timer.timeout.connect(tick)
    timer.start(5)

    def measure(name, action, wait_job=True, settle=0.3):
        app.processEvents()
        last[0], worst[0] = time.perf_counter(), 0.0
        t0 = time.perf_counter()
        action()
        while wait_job and win.busy:
            app.processEvents()
            time.sleep(0.001)
        end = time.perf_counter() + settle
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
        if getattr(win, "last_error", ""):
            print(f"  ({name}: {win.last_error})")
            win.last_error = ""
        print(f"{name:<28} longest stall {1e3 * worst[0]:6.1f} ms   (action took {time.perf_counter() - t0 - settle:5.2f} s)")
        return worst[0]

    mp3 = song(tmp / "song.mp3")  # made before the clock runs: writing it is not the editor's work
    results = [
        measure("new from seed (20 s)", lambda: win.new_from_seed(3, 20.0, ask=False)),
        measure("play 2 s", lambda: (win.play(), QtCore.QTimer.singleShot(2000, win.pause)), wait_job=False, settle=2.2),
    ]
    if WALK.parent.parent.parent.exists():
        results.append(measure("import real BVH as a pin", lambda: win.import_motion(WALK)))
    results += [
        measure("pin selection", lambda: win.pin_selection(200, 260), wait_job=False),
        measure("drag a pin (one command)", lambda: win.move_pin(win.doc.pins[-1].id, 300), wait_job=False),
        measure("fill gaps", lambda: win.fill_gaps(seed=4)),
        measure("resample this gap", lambda: win.resample_gap(100, seed=9)),
        measure("take tempo 1.25 (+ re-fill)", lambda: win.set_style((1.25, 1.0))),
        measure("one gap's energy (+ re-fill)", lambda: win.set_style((1.25, 0.7), win.doc.gaps()[0].key)),
        # A slow gap draws from its own stretched prior; the re-fill picks for it alone: four passes.
        measure("one gap slower, 0.75 (+ re-fill)", lambda: win.set_style((0.75, 1.0), win.doc.gaps()[0].key)),
        measure("one gap livelier, energy 1.5", lambda: win.set_style((1.0, 1.5), win.doc.gaps()[0].key)),
        measure("back to the default style", lambda: (win.set_style(None, win.doc.gaps()[0].key),
                                                      win.set_style((1.0, 1.0)))),
        measure("draw a floor path (+ re-fill)", lambda: win.pin_drawn_path(
            [[0, 0], [100, 50], [200, 0]], *free_range(win.doc, 50))),
        measure("pin arms of a range (+ fill)", lambda: (win.pin_selection(*free_range(win.doc, 40), joints="arms"),
                                                         win.refill_now())),
        # The controls together: every gap at a tempo (four passes each) around a path and an arms pin.
        measure("take tempo 1.25 with both (+ re-fill)", lambda: win.set_style((1.25, 1.0))),
        measure("morph a gap, spread 0.5", lambda: win.set_morph(next(
            g.key for g in win.doc.gaps() if None not in g.key), 0.5)),
        measure("undo", win.undo.undo, wait_job=False),
        measure("redo", win.undo.redo, wait_job=False),
        measure("load music (60 s MP3)", lambda: win.load_music(mp3)),
        measure("play 2 s with music", lambda: (win.play(), QtCore.QTimer.singleShot(2000, win.pause)),
                wait_job=False, settle=2.2),
        measure("fit timeline to song", win.fit_timeline_to_music, wait_job=False),
        measure("save as", lambda: win.save_as(tmp / "take 1.csgnproj"), wait_job=False),
        measure("open", lambda: (win.open_project(tmp / "take 1.csgnproj", ask=False),
                                                    QtCore.QTimer.singleShot(50, lambda: None))),
        measure("export BVH", lambda: win.export(tmp / "take 1.bvh"), wait_job=False),
    ]
    if WALK.parent.parent.parent.exists():
        win.set_frame(win.doc.length // 2)
        results.append(measure("blend into a BVH over 2 s", lambda: win.blend_into(WALK, 2.0, seed=5)))
    print(f"worst over the session: {1e3 * max(results):.1f} ms (target <= 100 ms)")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
