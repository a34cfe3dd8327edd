"""Viewport redraw speed: frames per second of set_frame + a synchronous repaint, for the 23-joint
dance skeleton and a 100-joint CMU BVH. Needs an OpenGL display (run under `xvfb-run -a` for
software GL). Prints numbers; not a test.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def motions():
    from csgn_core.io import load_motion
    from csgn_core.motion.solve import positions_to_rotations

    dance = positions_to_rotations(load_motion(DATA / "tang2018-dance/dances.zip/tang2018-dance/DANCE_C_2/skeletons.json"))
    cmu = load_motion(DATA / "cmu-iclone/bvh.zip/cmu-iclone/001_01.bvh")
    return [("tang23 dance, 23 joints", dance.slice(0, 600)), (f"CMU 001_01, {cmu.skeleton.n_joints} joints", cmu.slice(0, 600))]


def main() -> int:
    from PySide6 import QtCore, QtWidgets

    from app.viewport import Viewport
    from csgn_core.editing.timeline import Fill, Timeline

    QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)  # as the editor does
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    view = Viewport()
    view.resize(1000, 650)
    view.show()
    app.processEvents()
    print(f"Qt platform: {app.platformName()}, viewport 1000 x 650")
    for name, m in motions():
        doc = Timeline(m.n_frames, m.fps, "bench", m.skeleton)
        doc.set_fill(Fill(m, {}, frozenset(g.signature() for g in doc.gaps())))
        view.set_document(doc)
        for f in range(30):  # warm up shaders and buffers
            view.set_frame(f)
            view.grabFramebuffer()
        n = m.n_frames
        t0 = time.perf_counter()
        for f in range(n):
            view.set_frame(f)
            view.grabFramebuffer()  # renders the frame now and waits for it

        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        for f in range(n):
            view.set_frame(f)
        dr = time.perf_counter() - t1
        print(f"{name}: {n / dt:6.1f} rendered frames/s ({1e3 * dt / n:.2f} ms each; pose update alone {1e3 * dr / n:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
