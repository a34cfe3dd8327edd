"""The 3D viewport: the skeleton at the current frame, a ground grid and a floor shadow.

It reads the document (never owns data): at frame f it draws the pin holding f, in the pinned
colours, or else the fill, in the generated colours (greyed where the fill is out of date). With
the onion skin on it also draws faint ghost skeletons a few frames before (cool tint) and after
(warm tint) the current frame.
Project units are cm, y up; OpenGL here is z up, so (x, y, z) maps to (x, -z, y).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from PySide6 import QtCore, QtGui

from app.figure_mesh import figure_mesh, figure_shader

BACKGROUND = (32, 34, 40)
# Bone colours (r, g, b) for the left side, right side and centre line.
GENERATED = {-1: (0.30, 0.60, 1.00), 1: (1.00, 0.35, 0.30), 0: (0.88, 0.88, 0.88)}
PINNED = {-1: (1.00, 0.80, 0.15), 1: (1.00, 0.50, 0.05), 0: (1.00, 0.92, 0.60)}
STALE = {-1: (0.45, 0.52, 0.62), 1: (0.62, 0.48, 0.47), 0: (0.60, 0.60, 0.60)}
# Onion skin: frame offsets of the ghosts, their tints (before / after) and opacity (nearest first).
ONION_OFFSETS = (-8, -4, 4, 8)
ONION_BEFORE = (0.45, 0.75, 1.00)
ONION_AFTER = (1.00, 0.75, 0.45)
ONION_ALPHA = {4: 0.38, 8: 0.2}
PICK_PX = 14  # a Ctrl+click this close to a joint picks it
DEG_PER_PX = 0.5  # Ctrl+drag: horizontal turns the joint about its Y axis, vertical about its X


def to_gl(p: np.ndarray) -> np.ndarray:
    """(..., 3) y-up cm -> z-up GL coordinates."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def pose_at(doc, frame: int):
    """(positions (J, 3), style) of the document at ``frame``; style is "pinned", "generated" or "stale"."""
    if doc is None or not (0 <= frame < doc.length):
        return None, None
    p = doc.pin_at(frame)
    if p is not None and not (p.partial and doc.fill is not None and frame < doc.fill.motion.n_frames):
        return p.source.positions[p.src_start + frame - p.at], "pinned"
    if p is not None:  # a partial pin: the fill holds its joints and the body generated around them
        return doc.fill.motion.positions[frame], "partial"
    if doc.fill is None or frame >= doc.fill.motion.n_frames:
        return None, None
    gap = doc.gap_at(frame)
    stale = gap is not None and doc.is_gap_stale(gap)
    return doc.fill.motion.positions[frame], ("stale" if stale else "generated")


class Viewport(gl.GLViewWidget):
    """Ctrl+click picks a joint (``jointPicked``); Ctrl+drag turns it (``poseDragged`` with the turn so
    far, X and Y degrees, for a preview) and the release asks for a key (``poseDropped``): one undo
    step per drag. Without Ctrl the mouse moves the camera as pyqtgraph's view does."""

    jointPicked = QtCore.Signal(int)
    poseDragged = QtCore.Signal(int, float, float)
    poseDropped = QtCore.Signal(int, float, float)
    pathDrawn = QtCore.Signal(object)  # (N, 2) floor points (x, z, cm) a drag in path mode drew

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pose_drag = None  # (joint, press position) during a Ctrl+drag
        self._path_key = None  # (fill motion, pin signatures) the floor path was drawn for
        self._contacts_key, self._contact_flags = None, None  # (fill motion, its contact meta) -> flags
        self.preview = None  # (J, 3) positions drawn instead of the document's while a drag previews
        self.path_mode = False  # a left drag draws a floor path (top view) instead of orbiting
        self._drawing: list | None = None  # floor points (x, z) of the path being drawn
        self.setBackgroundColor(BACKGROUND)
        self.doc = None
        self.frame = 0
        self.follow_root = True  # generated motion often travels metres away from the origin
        self._skeleton = None
        self.grid = gl.GLGridItem()
        self.grid.setSize(2000, 2000)
        self.grid.setSpacing(50, 50)
        self.grid.setColor((120, 120, 130, 110))
        self.addItem(self.grid)
        self.shadow = gl.GLLinePlotItem(mode="lines", width=6, color=(0.05, 0.05, 0.06, 0.65), antialias=True)
        self.shadow.setGLOptions("translucent")
        self.addItem(self.shadow)
        self.path = gl.GLLinePlotItem(mode="line_strip", width=1.5, color=(0.55, 0.60, 0.70, 0.35), antialias=True)
        self.path.setGLOptions("translucent")
        self.addItem(self.path)
        # the floor-path pins' tracks, and the path being drawn
        self.path_pins = gl.GLLinePlotItem(mode="lines", width=3, color=(1.0, 0.62, 0.1, 0.95), antialias=True)
        self.path_pins.setGLOptions("translucent")
        self.addItem(self.path_pins)
        self.sketch = gl.GLLinePlotItem(mode="line_strip", width=3, color=(1.0, 0.9, 0.3, 1.0), antialias=True)
        self.sketch.setGLOptions("translucent")
        self.sketch.setVisible(False)
        self.addItem(self.sketch)
        self.contacts = gl.GLScatterPlotItem(size=12, pxMode=True, color=(0.35, 0.95, 0.55, 0.85))
        self.contacts.setGLOptions("translucent")
        self.addItem(self.contacts)
        # The figure: shaded tapered limbs and joints (figure_mesh), one mesh redrawn per frame.
        self.bones = gl.GLMeshItem(shader=figure_shader(), smooth=True, glOptions="opaque")
        self.bones.setVisible(False)  # an item without mesh data fails to draw
        self.addItem(self.bones)
        self.bone_colors = np.zeros((0, 4))  # (S, 4) the colour of each segment drawn
        self.onion = False
        self.ghosts: dict[int, gl.GLLinePlotItem] = {}  # frame offset -> ghost, made when first shown
        self.reset_camera()

    # --- camera ---------------------------------------------------------------------------------
    def reset_camera(self) -> None:
        """Look at the middle of the motion's ground track from the front, slightly above."""
        self.setCameraPosition(distance=420, elevation=12, azimuth=-90)
        pos, _ = pose_at(self.doc, self.frame)
        c = to_gl(pos[0]) if pos is not None else np.zeros(3)
        self.opts["center"] = _vec(c[0], c[1], 85)
        self.update()

    def set_path_mode(self, on: bool) -> None:
        """Path drawing: the camera looks straight down, and a left drag draws where the dancer goes."""
        self.path_mode = bool(on)
        if self.path_mode:
            self.setCameraPosition(distance=900, elevation=90, azimuth=-90)
        else:
            self.reset_camera()
        self.update()

    def floor_point(self, x: float, y: float) -> np.ndarray | None:
        """The floor position (x, z, cm) under widget point (x, y), or None when the ray misses the floor."""
        vp = self.getViewport()
        inv, ok = (self.projectionMatrix(vp, vp) * self.viewMatrix()).inverted()
        if not ok:
            return None
        ndc_x, ndc_y = 2 * x / max(1, vp[2]) - 1, 1 - 2 * y / max(1, vp[3])
        near, far = (inv.map(QtGui.QVector4D(ndc_x, ndc_y, d, 1.0)) for d in (-1.0, 1.0))
        a = np.array([near.x(), near.y(), near.z()]) / near.w()
        b = np.array([far.x(), far.y(), far.z()]) / far.w()
        if abs(b[2] - a[2]) < 1e-9:
            return None
        t = -a[2] / (b[2] - a[2])  # GL z is up: the floor is z = 0
        if t < 0:
            return None
        g = a + t * (b - a)
        return np.array([g[0], -g[1]])  # GL (x, y) -> project (x, z)

    def set_onion(self, on: bool) -> None:
        """Show ghosts of the frames at ONION_OFFSETS around the current one."""
        self.onion = bool(on)
        if self.onion and not self.ghosts:
            for off in ONION_OFFSETS:
                g = gl.GLLinePlotItem(mode="lines", width=2, antialias=True)
                g.setGLOptions("translucent")
                g.setVisible(False)
                self.addItem(g)
                self.ghosts[off] = g
        self.refresh()

    def set_follow_root(self, on: bool) -> None:
        self.follow_root = bool(on)
        self.refresh()

    # --- data -----------------------------------------------------------------------------------
    def set_document(self, doc) -> None:
        self.doc = doc
        self.refresh()
        self.reset_camera()

    def set_frame(self, frame: int) -> None:
        self.frame = int(frame)
        self.refresh()

    def refresh(self) -> None:
        self._refresh_ghosts()
        pos, style = pose_at(self.doc, self.frame)
        if self.preview is not None and pos is not None:
            pos, style = self.preview, "pinned"
        if pos is None:
            for item in (self.bones, self.shadow, self.path, self.contacts, self.path_pins):
                item.setVisible(False)
            return
        skel = self._pose_skeleton()
        p = to_gl(pos)  # (J, 3)
        segs, seg_side, head, ends = figure(skel, p)  # (S, 2, 3), (S,)
        if style == "partial":  # the held joints' bones in the pin's colours, the generated body in its own
            pin = self.doc.pin_at(self.frame)
            held = {skel.joints.index(j) for j in (pin.joints or ()) if j in skel.joints} | ({0} if pin.path else set())
            self.bone_colors = np.array([(PINNED if e in held else GENERATED)[int(k)] + (1.0,)
                                         for k, e in zip(seg_side, ends)])
        else:
            palette = {"pinned": PINNED, "generated": GENERATED, "stale": STALE}[style]
            self.bone_colors = np.array([palette[int(k)] + (1.0,) for k in seg_side])  # (S, 4)
        self.bones.setMeshData(meshdata=figure_mesh(segs, self.bone_colors, head))
        self._refresh_floor_marks(p)
        sh = segs.reshape(-1, 3).copy()  # (2S, 3)
        sh[:, 2] = 0.3
        self.shadow.setData(pos=sh)
        for item in (self.bones, self.shadow):
            item.setVisible(True)
        # The grid moves in whole cells under the skeleton, so it looks fixed but never runs out.
        gx, gy = np.round(p[0, :2] / 50.0) * 50.0
        self.grid.resetTransform()
        self.grid.translate(gx, gy, 0)
        if self.follow_root:
            self.opts["center"] = _vec(p[0, 0], p[0, 1], 85)
        self.update()

    def _refresh_floor_marks(self, p_gl: np.ndarray) -> None:
        """The root's floor path over the whole take (faint), and a dot under every heel or toe the
        motion marks in contact at this frame. Both depend on the document, not the frame: they are
        rebuilt when the fill or a pin changes, not on every frame of playback."""
        from csgn_core.motion.contacts import contacts_from_meta

        doc = self.doc
        fill = doc.fill.motion if doc is not None and doc.fill is not None else None
        if fill is None:
            self.path.setVisible(False)
            self.path_pins.setVisible(False)
            self.contacts.setVisible(False)
            return
        key = (fill, tuple(pin.signature() for pin in doc.pins))
        if self._path_key is None or self._path_key[0] is not key[0] or self._path_key[1] != key[1]:
            root = to_gl(doc.current_motion().root)  # the root joint's track: no kinematics needed
            root[:, 2] = 0.2
            self.path.setData(pos=root)
            segs = []
            for pin in doc.pins:
                if pin.path:
                    track = to_gl(pin.source.root[pin.src_start:pin.src_stop])
                    track[:, 2] = 0.6
                    segs += [np.stack([a, b]) for a, b in zip(track[:-1], track[1:])]
            if segs:
                self.path_pins.setData(pos=np.concatenate(segs))
            self.path_pins.setVisible(bool(segs))
            self._path_key = key
        self.path.setVisible(True)
        marks = fill.meta.get("contacts")
        if self._contacts_key is None or self._contacts_key[0] is not fill or self._contacts_key[1] is not marks:
            self._contact_flags = contacts_from_meta(fill)
            self._contacts_key = (fill, marks)
        flags = self._contact_flags
        on = []
        if flags and doc.pin_at(self.frame) is None and self.frame < fill.n_frames:
            on = [fill.skeleton.joints.index(k) for k, f in flags.items() if f[self.frame]]
        if on:
            dots = p_gl[on].copy()
            dots[:, 2] = 0.5
            self.contacts.setData(pos=dots)
        self.contacts.setVisible(bool(on))
        self.contacts_shown = len(on)

    # --- posing by mouse --------------------------------------------------------------------------
    def screen_positions(self, pos: np.ndarray) -> np.ndarray:
        """(J, 2) widget pixels of (J, 3) y-up positions, through the camera's projection."""
        vp = self.getViewport()
        mvp = self.projectionMatrix(vp, vp) * self.viewMatrix()
        out = []
        for x, y, z in to_gl(np.asarray(pos, dtype=float)):
            v = mvp.map(QtGui.QVector4D(float(x), float(y), float(z), 1.0))
            w = v.w() if abs(v.w()) > 1e-12 else 1e-12
            out.append(((v.x() / w + 1) / 2 * vp[2], (1 - v.y() / w) / 2 * vp[3]))
        return np.asarray(out)

    def pick(self, x: float, y: float) -> int | None:
        """The joint drawn nearest to widget point (x, y), within PICK_PX, or None."""
        pos, _ = pose_at(self.doc, self.frame)
        if pos is None:
            return None
        d = np.linalg.norm(self.screen_positions(pos) - [x, y], axis=1)
        j = int(np.argmin(d))
        return j if d[j] <= PICK_PX else None

    def set_preview(self, positions) -> None:
        self.preview = None if positions is None else np.asarray(positions)
        self.refresh()

    def _turn(self, ev) -> tuple[float, float]:
        d = ev.position() - self._pose_drag[1]
        return float(d.y()) * DEG_PER_PX, float(d.x()) * DEG_PER_PX

    def mousePressEvent(self, ev) -> None:
        if self.path_mode and ev.button() == QtCore.Qt.LeftButton:
            pt = self.floor_point(ev.position().x(), ev.position().y())
            self._drawing = [] if pt is None else [pt]
            return
        if ev.modifiers() & QtCore.Qt.ControlModifier and ev.button() == QtCore.Qt.LeftButton:
            j = self.pick(ev.position().x(), ev.position().y())
            if j is not None:
                self._pose_drag = (j, ev.position())
                self.jointPicked.emit(j)
                return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        if self._drawing is not None:
            pt = self.floor_point(ev.position().x(), ev.position().y())
            if pt is not None and (not self._drawing or np.linalg.norm(pt - self._drawing[-1]) > 2.0):
                self._drawing.append(pt)
                d = np.asarray(self._drawing)
                self.sketch.setData(pos=np.stack([d[:, 0], -d[:, 1], np.full(len(d), 1.0)], axis=1))
                self.sketch.setVisible(len(d) > 1)
            return
        if self._pose_drag is not None:
            self.poseDragged.emit(self._pose_drag[0], *self._turn(ev))
            return
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:
        if self._drawing is not None:
            pts, self._drawing = np.asarray(self._drawing), None
            self.sketch.setVisible(False)
            if len(pts) > 1:
                self.pathDrawn.emit(pts)
            return
        if self._pose_drag is not None:
            j, turn = self._pose_drag[0], self._turn(ev)
            self._pose_drag = None
            self.set_preview(None)
            if turn != (0.0, 0.0):
                self.poseDropped.emit(j, *turn)
            return
        super().mouseReleaseEvent(ev)

    def _refresh_ghosts(self) -> None:
        for off, g in self.ghosts.items():
            f = self.frame + off
            pos, _ = pose_at(self.doc, f) if self.onion else (None, None)
            if pos is None:
                g.setVisible(False)
                continue
            seg = figure_segments(self._pose_skeleton(f), to_gl(pos))[0].reshape(-1, 3)  # (2S, 3)
            tint = ONION_BEFORE if off < 0 else ONION_AFTER
            g.setData(pos=seg, color=tint + (ONION_ALPHA.get(abs(off), 0.2),))
            g.setVisible(True)

    def _pose_skeleton(self, frame: int | None = None):
        frame = self.frame if frame is None else frame
        p = self.doc.pin_at(frame) if self.doc else None
        if p is not None and not (p.partial and self.doc.fill is not None):
            return p.source.skeleton
        return self.doc.fill.motion.skeleton


def figure_segments(skel, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, 2, 3) line segments and (S,) sides (-1 left, 1 right, 0 centre) that draw the figure."""
    segs, sides, _, _ = figure(skel, p)
    return segs, sides


def figure(skel, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, int | None, np.ndarray]:
    """The figure's segments and sides (as ``figure_segments``), the index of the segment that ends
    at the head (drawn as a sphere) or None, and (S,) the joint each segment ends at (-1 for the
    display-only spine, neck and head lines).

    Display only: where a skeleton joins both shoulders and both sides of the head straight to the
    waist (tang23, as the Tang capture has it), the figure gets a spine to a chest point between the
    shoulders, collar bones, a neck to the middle of the head and a line across the head, so it
    reads as a dancer rather than a fan of lines from the hips."""
    bones = _bones(skel)
    side = skel.side()
    names = [n.lower() for n in skel.joints]
    root = 0
    kids = [c for par, c in bones if par == root]
    shoulders = [c for c in kids if "shoulder" in names[c]]
    heads = [c for c in kids if "head" in names[c]]
    if len(shoulders) != 2 or len(heads) not in (1, 2):
        ends = [i for i, (_, b) in enumerate(bones) if names[b].endswith("head")]
        return p[bones], side[bones[:, 1]], (ends[0] if ends else None), bones[:, 1].copy()
    chest = p[shoulders].mean(axis=0)
    head = p[heads].mean(axis=0)
    neck = chest + 0.35 * (head - chest)
    keep = [(a, b) for a, b in bones if not (a == root and b in shoulders + heads)]
    segs = [p[[a, b]] for a, b in keep]
    sides = [side[b] for _, b in keep]
    ends = [b for _, b in keep] + [-1, -1, -1]
    segs += [np.stack([p[root], chest]), np.stack([chest, neck]), np.stack([neck, head])]
    sides += [0, 0, 0]
    head_seg = len(segs) - 1
    for s_ in shoulders:
        segs.append(np.stack([chest, p[s_]]))
        sides.append(side[s_])
        ends.append(s_)
    if len(heads) == 2:
        segs.append(p[heads])
        sides.append(0)
        ends.append(-1)
    return np.asarray(segs), np.asarray(sides), head_seg, np.asarray(ends)


def _bones(skel) -> np.ndarray:
    """(B, 2) parent/child joint pairs to draw."""
    bones = np.array(skel.bones, dtype=int).reshape(-1, 2)
    if skel.joints[0].lower().endswith("root") and len(bones) > 1:
        bones = bones[bones[:, 0] != 0]  # a ground node (BVH joint_Root), not a bone
    return bones


def _vec(x, y, z):
    from pyqtgraph import Vector

    return Vector(float(x), float(y), float(z))
