"""Playback: the frame to show, from the clock, so slow redraws drop frames instead of slowing the
motion down. Qt-light (a QObject with a timer and a signal), tested without a window."""
from __future__ import annotations

import time

from PySide6 import QtCore


class Playback(QtCore.QObject):
    """``play(frame, length, fps)`` starts from ``frame``; ``frameDue(f)`` asks for each new frame
    (looping over ``length``); ``pause()`` stops."""

    frameDue = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.playing = False
        self._t0, self._f0, self._length, self._fps, self._last = 0.0, 0, 1, 30.0, -1
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def play(self, frame: int, length: int, fps: float) -> None:
        self.playing = True
        self._t0, self._f0, self._length, self._fps, self._last = time.perf_counter(), int(frame), int(length), fps, int(frame)
        self.timer.start(max(1, int(1000 / fps / 2)))

    def pause(self) -> None:
        self.playing = False
        self.timer.stop()

    def frame_now(self) -> int:
        return (self._f0 + int((time.perf_counter() - self._t0) * self._fps)) % max(1, self._length)

    def _tick(self) -> None:
        f = self.frame_now()
        if f != self._last:
            self._last = f
            self.frameDue.emit(f)
