"""The transport bar: start, step back, play/pause, step forward, end, loop over the play range, speed
and a frame field to jump to, as in Blender's timeline header or MikuMikuDance's play panel. It
drives the window's Playback and reads the document; it owns no data."""
from __future__ import annotations

from PySide6 import QtWidgets

from .playback import Playback


class TransportBar(QtWidgets.QToolBar):
    """Buttons for the window's actions (``start``, ``step``, ``toggle_play``, ``end``), a loop toggle
    (plays the timeline selection when there is one), a speed box and a frame field."""

    def __init__(self, window, playback: Playback):
        super().__init__("Transport", window)
        self.setObjectName("transport")
        self.win, self.playback = window, playback
        self._button("|<", "Start (Home)", window.go_start)
        self._button("<", "Step back (Left)", lambda: window.step(-1))
        self.play_button = self._button("Play", "Play / pause (Space)", window.toggle_play)
        self._button(">", "Step forward (Right)", lambda: window.step(1))
        self._button(">|", "End (End)", window.go_end)
        self.addSeparator()
        self.loop = QtWidgets.QCheckBox("Loop")
        self.loop.setToolTip("Loop playback; with frames selected on the timeline, play only those")
        self.loop.setChecked(playback.loop)
        self.loop.toggled.connect(self._set_loop)
        self.addWidget(self.loop)
        self.speed = QtWidgets.QComboBox()
        self.speed.setToolTip("Playback speed")
        for v in Playback.SPEEDS:
            self.speed.addItem(f"{v:g}x", v)
        self.speed.setCurrentIndex(Playback.SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda i: playback.set_speed(self.speed.itemData(i)))
        self.addWidget(self.speed)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Frame "))
        self.frame = QtWidgets.QSpinBox()
        self.frame.setToolTip("Jump to a frame (type it and press Enter)")
        self.frame.setKeyboardTracking(False)  # jump on Enter or focus-out, not on every digit
        self.frame.valueChanged.connect(self._jump)
        self.addWidget(self.frame)
        playback.stopped.connect(self.sync)

    def _button(self, text: str, tip: str, slot) -> QtWidgets.QToolButton:
        b = QtWidgets.QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        self.addWidget(b)
        return b

    def _set_loop(self, on: bool) -> None:
        self.playback.loop = bool(on)

    def _jump(self, frame: int) -> None:
        if self.win.doc is not None and frame != getattr(self.win, "frame", None):
            self.win.pause()
            self.win.set_frame(frame)

    def sync(self) -> None:
        """Show the window's state: its frame, the timeline's length, playing or not."""
        doc = self.win.doc
        self.frame.blockSignals(True)
        self.frame.setRange(0, max(0, (doc.length - 1) if doc else 0))
        self.frame.setValue(int(getattr(self.win, "frame", 0)))
        self.frame.blockSignals(False)
        self.play_button.setText("Pause" if self.playback.playing else "Play")

    def play_range(self) -> tuple[int, int] | None:
        """The frames looping playback is limited to: the timeline selection, if any."""
        sel = self.win.timeline.selection
        if not self.loop.isChecked() or sel is None or sel[1] - sel[0] < 2:
            return None
        return int(sel[0]), int(sel[1])
