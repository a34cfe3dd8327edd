"""Playback: the frame to show, from the clock, so slow redraws drop frames instead of slowing the
motion down. Qt-light (a QObject with a timer and a signal), tested without a window."""
from __future__ import annotations

import time

from PySide6 import QtCore


class Playback(QtCore.QObject):
    """``play(frame, length, fps)`` starts from ``frame``; ``frameDue(f)`` asks for each new frame;
    ``pause()`` stops. ``speed`` scales the clock (0.25-2x); ``span`` (start, stop) limits playback
    to those frames (the play range), looping over them when ``loop``, else stopping at the end."""

    frameDue = QtCore.Signal(int)
    stopped = QtCore.Signal()

    SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.playing = False
        self.speed = 1.0
        self.loop = True
        self.span: tuple[int, int] | None = None
        self._t0, self._f0, self._length, self._fps, self._last = 0.0, 0, 1, 30.0, -1
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def range(self) -> tuple[int, int]:
        """The frames [start, stop) playback runs over: the span, clipped to the timeline."""
        if self.span is None:
            return 0, self._length
        a, b = max(0, int(self.span[0])), min(self._length, int(self.span[1]))
        return (a, b) if b > a else (0, self._length)

    def play(self, frame: int, length: int, fps: float) -> None:
        self.playing = True
        self._length, self._fps = int(length), fps
        a, b = self.range()
        frame = int(frame) if a <= frame < b else a  # outside the play range: start at its beginning
        self._t0, self._f0, self._last = time.perf_counter(), frame, frame
        self.timer.start(max(1, int(1000 / (fps * self.speed) / 2)))

    def set_speed(self, speed: float) -> None:
        """A new speed keeps the current frame (the clock restarts from it)."""
        speed = float(min(max(speed, self.SPEEDS[0]), self.SPEEDS[-1]))
        if self.playing:
            f = self.frame_now()
            self.speed = speed
            self.play(f, self._length, self._fps)
        else:
            self.speed = speed

    def pause(self) -> None:
        self.playing = False
        self.timer.stop()

    def frame_now(self) -> int:
        a, b = self.range()
        advanced = (self._f0 - a) + int((time.perf_counter() - self._t0) * self._fps * self.speed)
        if self.loop:
            return a + advanced % max(1, b - a)
        return a + min(advanced, b - a - 1)

    def _tick(self) -> None:
        f = self.frame_now()
        if f != self._last:
            self._last = f
            self.frameDue.emit(f)
        a, b = self.range()
        if not self.loop and f >= b - 1:
            self.pause()
            self.stopped.emit()
