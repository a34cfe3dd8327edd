"""The pin panel: the selected pin's label, timeline position, source range and edge blend. Each edit
is one undo command through the window (``rename_pin``, ``move_pin``, ``trim_pin``), so the
Timeline's rules (overlaps, range) decide and refuse as they do for a drag. It reads the document;
it owns no data."""
from __future__ import annotations

from PySide6 import QtWidgets

from csgn_core.editing.partial import GROUPS, describe
from csgn_core.editing.splice import BLEND_SECONDS
from csgn_core.editing.timeline import MAX_BLEND, MIN_BLEND


class PinPanel(QtWidgets.QWidget):
    def __init__(self, window):
        super().__init__()
        self.win = window
        form = QtWidgets.QFormLayout(self)
        self.label = QtWidgets.QLineEdit()
        self.label.setPlaceholderText("name of the pin")
        self.at = QtWidgets.QSpinBox()
        self.at.setToolTip("Timeline frame of the pin's first frame")
        self.src_start, self.src_end = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for box in (self.at, self.src_start, self.src_end):
            box.setKeyboardTracking(False)  # apply on Enter or when focus leaves, not per digit
            box.setRange(0, 10**7)
        self.src_start.setToolTip("First frame of the source clip that the pin plays")
        self.src_end.setToolTip("Last frame of the source clip that the pin plays (inclusive)")
        self.blend = QtWidgets.QDoubleSpinBox()
        self.blend.setRange(0.0, MAX_BLEND)
        self.blend.setSingleStep(0.05)
        self.blend.setDecimals(2)
        self.blend.setSuffix(" s")
        self.blend.setSpecialValueText(f"default ({BLEND_SECONDS:g} s)")  # 0 shows as the default
        self.blend.setKeyboardTracking(False)
        self.blend.setToolTip("How long the fill takes to bend into this pin at its edges: short for a sharp "
                              "hit, long for a soft arrival")
        self.holds = QtWidgets.QComboBox()
        self.holds.addItems(["all joints"] + list(GROUPS) + ["floor path"])
        self.holds.setToolTip("The joints the pin holds; the rest of the body is generated around them")
        self.info = QtWidgets.QLabel()
        self.info.setWordWrap(True)
        form.addRow("Label", self.label)
        form.addRow("At frame", self.at)
        form.addRow("Source from", self.src_start)
        form.addRow("Source to", self.src_end)
        # one row for both keeps the panel short enough for a laptop screen beside the others
        row = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.blend)
        lay.addWidget(QtWidgets.QLabel("holds"))
        lay.addWidget(self.holds)
        form.addRow("Edge blend", row)
        form.addRow(self.info)
        self.label.editingFinished.connect(self._rename)
        self.at.valueChanged.connect(self._move)
        self.src_start.valueChanged.connect(self._trim)
        self.src_end.valueChanged.connect(self._trim)
        self.blend.valueChanged.connect(self._set_blend)
        self.holds.activated.connect(self._set_holds)
        self.refresh()

    def pin(self):
        doc, pid = self.win.doc, self.win.timeline.selected_pin
        if doc is None or pid is None:
            return None
        return next((p for p in doc.pins if p.id == pid), None)

    def refresh(self) -> None:
        """Show the selected pin (or say there is none)."""
        p = self.pin()
        for w in (self.label, self.at, self.src_start, self.src_end, self.blend, self.holds):
            w.blockSignals(True)
            w.setEnabled(p is not None)
        if p is None:
            self.label.setText("")
            self.info.setText("Select a pin on the timeline to edit it.")
        else:
            self.label.setText(p.label)
            self.at.setRange(0, max(0, self.win.doc.length - p.length))
            self.at.setValue(p.at)
            n = p.source.n_frames
            self.src_start.setRange(0, n - 1)
            self.src_end.setRange(0, n - 1)
            self.src_start.setValue(p.src_start)
            self.src_end.setValue(p.src_stop - 1)
            self.blend.setValue(0.0 if p.blend is None else p.blend)
            held = describe(p.source.skeleton, p.holds)
            if self.holds.findText(held) < 0:
                self.holds.addItem(held)
            self.holds.setCurrentText("all joints" if held == "all" else held)
            self.info.setText(f"{p.length} frames ({p.length / self.win.doc.fps:.2f} s) of a {n}-frame source; "
                              f"on the timeline {p.at}-{p.stop - 1}.")
        for w in (self.label, self.at, self.src_start, self.src_end, self.blend, self.holds):
            w.blockSignals(False)

    def _set_holds(self, index: int) -> None:
        p = self.pin()
        text = self.holds.itemText(index)
        if p is not None and text in ("all joints", *GROUPS, "floor path"):
            spec = {"all joints": None, "floor path": "path"}.get(text, text)
            if describe(p.source.skeleton, p.holds) != {None: "all", "path": "floor path"}.get(spec, spec):
                self.win.set_pin_joints(p.id, spec)
        self.refresh()

    def _set_blend(self, seconds: float) -> None:
        p = self.pin()
        value = None if seconds < MIN_BLEND else float(seconds)
        if p is not None and value != p.blend:
            self.win.set_pin_blend(p.id, value)
        self.refresh()

    def _rename(self) -> None:
        p = self.pin()
        if p is not None and self.label.text() != p.label:
            self.win.rename_pin(p.id, self.label.text())

    def _move(self, at: int) -> None:
        p = self.pin()
        if p is not None and at != p.at:
            self.win.move_pin(p.id, at)
        self.refresh()

    def _trim(self, _value: int) -> None:
        p = self.pin()
        if p is None:
            return
        s0, s1 = self.src_start.value(), self.src_end.value() + 1
        if (s0, s1) != (p.src_start, p.src_stop):
            if s1 <= s0:
                self.win.error("the source range must hold at least one frame")
            else:
                self.win.trim_pin(p.id, s0, s1)
        self.refresh()
