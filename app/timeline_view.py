"""The timeline widget: ruler, playhead, pins as blocks, generated and stale spans.

Painted by hand. It reads the document and reports what the user did through signals; the window
turns those into undo commands, so a drag changes nothing until the mouse is released (then ONE
``pinMoved`` / ``pinTrimmed``). Zoom with Ctrl+wheel, scroll with the wheel.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

RULER_H = 26
TRACK_Y = 34
TRACK_H = 22
PIN_Y = 62
PIN_H = 30
EDGE_PX = 6
SNAP_PX = 8

COL_BG = QtGui.QColor(38, 40, 46)
COL_RULER = QtGui.QColor(52, 55, 62)
COL_TEXT = QtGui.QColor(200, 200, 205)
COL_GENERATED = QtGui.QColor(70, 130, 220)
COL_SPLINE = QtGui.QColor(90, 190, 160)  # a short gap's spline transition (csgn_core.motion.inbetween)
COL_STALE = QtGui.QColor(150, 110, 60)
COL_EMPTY = QtGui.QColor(60, 62, 68)
COL_PIN = QtGui.QColor(245, 180, 40)
COL_PIN_SEL = QtGui.QColor(255, 225, 120)
COL_SEL_OUTLINE = QtGui.QColor(255, 255, 255)  # the selected pin's outline
COL_SEL = QtGui.QColor(255, 255, 255, 50)
COL_PLAYHEAD = QtGui.QColor(255, 80, 80)


class TimelineView(QtWidgets.QWidget):
    frameChanged = QtCore.Signal(int)
    selectionChanged = QtCore.Signal(object)  # (start, stop) or None
    pinSelected = QtCore.Signal(object)  # pin id or None
    pinMoved = QtCore.Signal(str, int)  # id, new at
    pinTrimmed = QtCore.Signal(str, int, int)  # id, new src_start, src_stop

    def __init__(self, parent=None):
        super().__init__(parent)
        self.doc = None
        self.frame = 0
        self.px_per_frame = 4.0
        self.offset = 0.0  # first visible frame
        self.selection: tuple[int, int] | None = None
        self._selected_pin: str | None = None
        self.snapping = True
        self._drag = None  # (mode, pin, press_frame) while dragging
        self._ghost = None  # (at, src_start, src_stop) of the pin being dragged
        self.setMinimumHeight(PIN_Y + PIN_H + 14)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.StrongFocus)

    @property
    def selected_pin(self) -> str | None:
        return self._selected_pin

    @selected_pin.setter
    def selected_pin(self, pin_id: str | None) -> None:
        """Every change of the selected pin, by click or by an edit, tells ``pinSelected`` listeners."""
        if pin_id != self._selected_pin:
            self._selected_pin = pin_id
            self.pinSelected.emit(pin_id)
            self.update()

    # --- model ---------------------------------------------------------------------------------
    def set_document(self, doc) -> None:
        self.doc = doc
        self.selection = None
        self.selected_pin = None
        self.fit()

    def set_frame(self, frame: int) -> None:
        self.frame = int(frame)
        x = self.frame_to_x(frame)
        if x < 0 or x > self.width():  # keep the playhead in view while playing
            self.offset = max(0.0, frame - 0.1 * self.width() / self.px_per_frame)
        self.update()

    def fit(self) -> None:
        if self.doc is not None:
            self.px_per_frame = max(0.05, (self.width() - 20) / max(1, self.doc.length))
            self.offset = 0.0
        self.update()

    def zoom(self, factor: float, about_x: float | None = None) -> None:
        about_x = self.width() / 2 if about_x is None else about_x
        f = self.x_to_frame(about_x, exact=True)
        self.px_per_frame = min(60.0, max(0.05, self.px_per_frame * factor))
        self.offset = max(0.0, f - about_x / self.px_per_frame)
        self.update()

    # --- geometry ------------------------------------------------------------------------------
    def frame_to_x(self, frame: float) -> float:
        return (frame - self.offset) * self.px_per_frame

    def x_to_frame(self, x: float, exact: bool = False):
        f = x / self.px_per_frame + self.offset
        return f if exact else round(f)

    @staticmethod
    def pin_caption(pin) -> str:
        """What a pin's box says: its source (label) and the timeline frames it covers now."""
        return f"{pin.label or 'pin ' + pin.id[:4]}  [{pin.at}-{pin.stop - 1}]"

    def pin_rect(self, pin, at=None, length=None) -> QtCore.QRectF:
        at = pin.at if at is None else at
        length = pin.length if length is None else length
        x0 = self.frame_to_x(at)
        return QtCore.QRectF(x0, PIN_Y, max(2.0, length * self.px_per_frame), PIN_H)

    def hit(self, pos: QtCore.QPointF):
        """("ruler"|"pin-left"|"pin-right"|"pin"|"track", pin or None) under the point."""
        if pos.y() < RULER_H:
            return "ruler", None
        if self.doc is not None:
            for p in self.doc.pins:
                r = self.pin_rect(p)
                if r.adjusted(-EDGE_PX / 2, 0, EDGE_PX / 2, 0).contains(pos):
                    if abs(pos.x() - r.left()) <= EDGE_PX and r.width() > 2 * EDGE_PX:
                        return "pin-left", p
                    if abs(pos.x() - r.right()) <= EDGE_PX and r.width() > 2 * EDGE_PX:
                        return "pin-right", p
                    return "pin", p
        return "track", None

    def snap(self, frame: int, exclude=None) -> int:
        """The nearest pin edge, playhead or timeline end within a few pixels, else ``frame``."""
        if not self.snapping or self.doc is None:
            return frame
        targets = self.doc.snap_targets(self.frame, exclude)
        best = min(targets, key=lambda t: abs(t - frame))
        return best if abs(best - frame) * self.px_per_frame <= SNAP_PX else frame

    def gap_colour(self, gap) -> QtGui.QColor:
        """A filled gap's colour: the model's blue, turning green as far as the gap is a spline
        transition (short gaps between two pins, csgn_core.motion.inbetween.gap_spline_weight)."""
        from csgn_core.motion.inbetween import gap_spline_weight

        w = gap_spline_weight(gap.start, gap.stop, self.doc.length, self.doc.fps)
        a, b = COL_GENERATED, COL_SPLINE
        return QtGui.QColor(*(round(x + (y - x) * w) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3])))

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        qp = QtGui.QPainter(self)
        try:
            self._paint(qp)
        finally:  # a painter left active (by an exception) breaks every later paint of the window
            qp.end()

    def _paint(self, qp: QtGui.QPainter) -> None:
        qp.fillRect(self.rect(), COL_BG)
        qp.fillRect(QtCore.QRectF(0, 0, self.width(), RULER_H), COL_RULER)
        if self.doc is None:
            qp.setPen(COL_TEXT)
            qp.drawText(self.rect(), QtCore.Qt.AlignCenter, "waiting for the model ...")
            return
        doc = self.doc
        self._paint_ruler(qp, doc)
        # Generated / stale / empty spans of the fill.
        x0, x1 = self.frame_to_x(0), self.frame_to_x(doc.length)
        qp.fillRect(QtCore.QRectF(x0, TRACK_Y, x1 - x0, TRACK_H), COL_EMPTY)
        if doc.fill is not None:
            for g in doc.gaps():
                r = QtCore.QRectF(self.frame_to_x(g.start), TRACK_Y, g.length * self.px_per_frame, TRACK_H)
                if not doc.is_gap_stale(g):
                    qp.fillRect(r, self.gap_colour(g))
                else:
                    qp.fillRect(r, COL_STALE)
                    qp.fillRect(r, QtGui.QBrush(QtGui.QColor(40, 30, 20), QtCore.Qt.BDiagPattern))
            for p in doc.pins:
                qp.fillRect(QtCore.QRectF(self.frame_to_x(p.at), TRACK_Y, p.length * self.px_per_frame, TRACK_H),
                            COL_PIN.darker(140))
        # Selection.
        if self.selection is not None:
            a, b = self.selection
            qp.fillRect(QtCore.QRectF(self.frame_to_x(a), RULER_H, (b - a) * self.px_per_frame,
                                      self.height() - RULER_H), COL_SEL)
        # Pins.
        for p in doc.pins:
            dragged = self._drag[1] if self._drag is not None else None
            if dragged is not None and dragged.id == p.id and self._ghost is not None:
                at, s0, s1 = self._ghost
                r = self.pin_rect(p, at, s1 - s0)
                qp.setPen(QtGui.QPen(COL_PIN_SEL, 1, QtCore.Qt.DashLine))
                qp.setBrush(QtGui.QColor(245, 180, 40, 120))
            else:
                r = self.pin_rect(p)
                selected = p.id == self.selected_pin
                # The selected pin is outlined, not only tinted: it reads in greyscale and for colour-blind users.
                qp.setPen(QtGui.QPen(COL_SEL_OUTLINE, 2.5) if selected else QtGui.QPen(QtGui.QColor(20, 20, 20), 1))
                qp.setBrush(COL_PIN_SEL if selected else COL_PIN)
            qp.drawRoundedRect(r, 3, 3)
            qp.setPen(QtGui.QColor(20, 20, 20))
            box = r.adjusted(4, 0, -4, 0)
            qp.drawText(box, QtCore.Qt.AlignVCenter | QtCore.Qt.AlignLeft,
                        qp.fontMetrics().elidedText(self.pin_caption(p), QtCore.Qt.ElideMiddle, int(box.width())))
        # Playhead.
        x = self.frame_to_x(self.frame)
        qp.setPen(QtGui.QPen(COL_PLAYHEAD, 2))
        qp.drawLine(QtCore.QPointF(x, 0), QtCore.QPointF(x, self.height()))

    def _paint_ruler(self, qp, doc) -> None:
        # A tick step in frames that leaves ~70 px between labels.
        steps = [1, 2, 5, 10, 15, 25, 30, 50, 60, 100, 150, 250, 300, 500, 1000, 2500, 5000]
        step = next((s for s in steps if s * self.px_per_frame >= 70), steps[-1])
        first = int(self.offset // step) * step
        qp.setPen(COL_TEXT)
        f = first
        font = qp.font()
        font.setPointSizeF(7.5)
        qp.setFont(font)
        while self.frame_to_x(f) < self.width() and f <= doc.length:
            x = self.frame_to_x(f)
            qp.drawLine(QtCore.QPointF(x, RULER_H - 8), QtCore.QPointF(x, RULER_H))
            qp.drawText(QtCore.QPointF(x + 3, 11), f"{f}")
            qp.drawText(QtCore.QPointF(x + 3, 22), f"{f / doc.fps:.2f}s")
            f += step

    # --- mouse ---------------------------------------------------------------------------------
    def mousePressEvent(self, e) -> None:
        if self.doc is None or e.button() != QtCore.Qt.LeftButton:
            return
        pos = e.position()
        what, pin = self.hit(pos)
        f = min(max(self.x_to_frame(pos.x()), 0), self.doc.length)
        if what == "ruler":
            self._drag = ("scrub", None, f)
            self._scrub(f)
        elif pin is not None:
            self.selected_pin = pin.id
            self._drag = ({"pin": "move", "pin-left": "trim-left", "pin-right": "trim-right"}[what], pin, f)
            self._ghost = (pin.at, pin.src_start, pin.src_stop)
        else:
            self.selected_pin = None
            self._drag = ("select", None, f)
            self.selection = None
            self.selectionChanged.emit(None)
            self._scrub(min(f, self.doc.length - 1))
        self.update()

    def mouseMoveEvent(self, e) -> None:
        pos = e.position()
        if self._drag is None:
            what, _ = self.hit(pos)
            cursor = {"pin-left": QtCore.Qt.SizeHorCursor, "pin-right": QtCore.Qt.SizeHorCursor,
                      "pin": QtCore.Qt.OpenHandCursor}.get(what, QtCore.Qt.ArrowCursor)
            self.setCursor(cursor)
            return
        mode, pin, f0 = self._drag
        f = min(max(self.x_to_frame(pos.x()), 0), self.doc.length)
        if mode == "scrub":
            self._scrub(min(f, self.doc.length - 1))
        elif mode == "select":
            a, b = sorted((f0, self.snap(f)))
            self.selection = (a, b) if b > a else None
            self.selectionChanged.emit(self.selection)
        elif mode == "move":
            at = pin.at + (f - f0)
            # Snap either end of the block.
            s_at = self.snap(at, pin.id)
            s_end = self.snap(at + pin.length, pin.id) - pin.length
            at = s_at if s_at != at else s_end
            at = min(max(at, 0), self.doc.length - pin.length)
            self._ghost = (at, pin.src_start, pin.src_stop)
        elif mode == "trim-left":
            new_at = self.snap(f, pin.id)
            s0 = pin.src_start + (new_at - pin.at)
            s0 = min(max(s0, 0, pin.src_start - pin.at), pin.src_stop - 1)
            self._ghost = (pin.at + s0 - pin.src_start, s0, pin.src_stop)
        elif mode == "trim-right":
            new_stop = self.snap(f, pin.id)
            s1 = pin.src_stop + (new_stop - pin.stop)
            s1 = max(min(s1, pin.source.n_frames, pin.src_stop + self.doc.length - pin.stop), pin.src_start + 1)
            self._ghost = (pin.at, pin.src_start, s1)
        self.update()

    def mouseReleaseEvent(self, e) -> None:
        if self._drag is None:
            return
        mode, pin, _ = self._drag
        ghost = self._ghost
        self._drag, self._ghost = None, None
        if pin is not None and ghost is not None:
            at, s0, s1 = ghost
            if mode == "move" and at != pin.at:
                self.pinMoved.emit(pin.id, at)
            elif mode.startswith("trim") and (s0, s1) != (pin.src_start, pin.src_stop):
                self.pinTrimmed.emit(pin.id, s0, s1)
        self.update()

    def _scrub(self, f: int) -> None:
        self.frame = f
        self.frameChanged.emit(f)
        self.update()

    def wheelEvent(self, e) -> None:
        d = e.angleDelta().y() or e.angleDelta().x()
        if e.modifiers() & QtCore.Qt.ControlModifier:
            self.zoom(1.25 if d > 0 else 0.8, e.position().x())
        else:
            self.offset = max(0.0, self.offset - d / 120 * 60 / self.px_per_frame)
            self.update()

    def resizeEvent(self, e) -> None:
        if self.doc is not None and self.doc.length * self.px_per_frame < self.width() - 20:
            self.fit()
        super().resizeEvent(e)
