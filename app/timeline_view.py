"""The timeline widget: ruler, playhead, pins as blocks, generated and stale spans, and the music
track (its waveform in a lane under the pins, its beats as lines across the tracks).

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
MUSIC_Y = PIN_Y + PIN_H + 6
MUSIC_H = 24
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
COL_WAVE = QtGui.QColor(120, 200, 170)
COL_MUSIC_BG = QtGui.QColor(44, 50, 50)
COL_BEAT = QtGui.QColor(150, 220, 200, 45)
COL_DOWNBEAT = QtGui.QColor(150, 220, 200, 110)
BEAT_MIN_PX = 4  # closer beat lines than this are not drawn (a zoomed-out timeline would be a wall)


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
        self.music_media = None  # LoadedMusic of the document's track (waveform), drawn when present
        self._wave_key, self._wave_lines = None, []  # the waveform's lines for one view of the lane
        self.setMinimumHeight(MUSIC_Y + MUSIC_H + 4)
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

    def set_music_media(self, media) -> None:
        self.music_media = media
        self.update()

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
        """What a pin's box says: its source (label), the joints it holds when not all, and the timeline
        frames it covers now."""
        held = ""
        if pin.partial:
            from csgn_core.editing.partial import describe

            held = f"  holds {describe(pin.source.skeleton, pin.holds)}"
        return f"{pin.label or 'pin ' + pin.id[:4]}{held}  [{pin.at}-{pin.stop - 1}]"

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
        self._paint_music(qp, doc)
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
            if p.partial:  # hatched: the rest of the body under it is generated
                qp.fillRect(r.adjusted(1, 1, -1, -1), QtGui.QBrush(QtGui.QColor(70, 130, 220, 150), QtCore.Qt.BDiagPattern))
            qp.setPen(QtGui.QColor(20, 20, 20))
            box = r.adjusted(4, 0, -4, 0)
            qp.drawText(box, QtCore.Qt.AlignVCenter | QtCore.Qt.AlignLeft,
                        qp.fontMetrics().elidedText(self.pin_caption(p), QtCore.Qt.ElideMiddle, int(box.width())))
        # Playhead.
        x = self.frame_to_x(self.frame)
        qp.setPen(QtGui.QPen(COL_PLAYHEAD, 2))
        qp.drawLine(QtCore.QPointF(x, 0), QtCore.QPointF(x, self.height()))

    def _paint_music(self, qp, doc) -> None:
        """The song's waveform (min/max per pixel column) in its lane and a line on every beat
        (brighter every fourth), or a hint where there is no song."""
        track = doc.music
        lane = QtCore.QRectF(0, MUSIC_Y, self.width(), MUSIC_H)
        qp.fillRect(lane, COL_MUSIC_BG)
        font = qp.font()
        font.setPointSizeF(7.5)
        qp.setFont(font)
        if track is None:
            qp.setPen(COL_TEXT.darker(150))
            qp.drawText(lane.adjusted(6, 0, 0, 0), QtCore.Qt.AlignVCenter, "no music (Music > Load music...)")
            return
        media = self.music_media
        if media is not None and len(media.envelope):
            self._paint_waveform(qp, doc, track, media)
        beats = track.beat_frames(doc.fps, doc.length + 1)
        if len(beats) > 1 and (beats[1] - beats[0]) * self.px_per_frame >= BEAT_MIN_PX:
            x_max = self.width()
            for i, b in enumerate(beats):
                x = self.frame_to_x(b)
                if 0 <= x <= x_max:
                    qp.setPen(COL_DOWNBEAT if i % 4 == 0 else COL_BEAT)
                    qp.drawLine(QtCore.QPointF(x, RULER_H), QtCore.QPointF(x, MUSIC_Y + MUSIC_H))
        tempo = f"  {track.bpm:.0f} BPM" if track.bpm else ""
        state = "" if media is not None else "  (decoding ...)"
        text = f"{track.name}{tempo}{state}"
        box = QtCore.QRectF(4, MUSIC_Y + 2, qp.fontMetrics().horizontalAdvance(text) + 6, qp.fontMetrics().height())
        qp.fillRect(box, QtGui.QColor(30, 34, 34, 210))  # the name stays readable over the waveform
        qp.setPen(COL_TEXT)
        qp.drawText(box.adjusted(3, 0, 0, 0), QtCore.Qt.AlignVCenter | QtCore.Qt.AlignLeft, text)

    def _paint_waveform(self, qp, doc, track, media) -> None:
        key = (id(media), track.offset, self.offset, self.px_per_frame, self.width(), doc.fps)
        if self._wave_key != key:
            self._wave_key, self._wave_lines = key, waveform_lines(media.envelope, self.width(), self.offset,
                                                                   self.px_per_frame, doc.fps, track.offset)
        if self._wave_lines:
            qp.setPen(COL_WAVE)
            qp.drawLines(self._wave_lines)

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


def waveform_lines(env, width: int, offset: float, px_per_frame: float, fps: float, song_offset: float) -> list:
    """One vertical line per pixel column of the music lane, from the lowest to the highest sample
    the column covers (``env`` (B, 2) at ``ENVELOPE_RATE`` bins a second)."""
    import numpy as np

    from csgn_core.io.audio import ENVELOPE_RATE

    cols = np.arange(width + 1, dtype=float)
    t = (cols / px_per_frame + offset) / fps - song_offset  # the song's time at each column's left edge
    b = np.floor(t * ENVELOPE_RATE).astype(np.int64)
    xs = np.flatnonzero((t[:-1] >= 0) & (b[:-1] < len(env)))
    if len(xs) == 0:
        return []
    starts = b[xs]
    end = int(min(len(env), max(b[xs[-1] + 1], starts[-1] + 1)))
    lo = np.minimum.reduceat(env[:end, 0], starts)
    hi = np.maximum.reduceat(env[:end, 1], starts)
    # drawn to the song's own peak, as audio editors do: a quiet master still shows its shape
    mid, half = MUSIC_Y + MUSIC_H / 2, (MUSIC_H / 2 - 2) / max(float(np.abs(env).max()), 1e-3)
    return [QtCore.QLineF(float(x), mid - float(h) * half, float(x), mid - float(lw) * half)
            for x, lw, h in zip(xs, lo, hi)]
