"""The style panel: tempo and energy of the whole take, or of the gap at the playhead, and whether that
gap morphs the pin before it into the pin after it. A slider edits on release (a drag is one undo
step), a typed value on Enter; the affected gaps fill again at once. It reads the document; it owns
no data."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from csgn_core.editing.styling import ENERGY_RANGE, TEMPO_RANGE

TAKE, GAP = 0, 1
MORPH_TIP = ("Fill the gap along the model's latent path from the pin before it to the pin after it (the two "
             "takes' latents, interpolated by the GP prior), not a new draw")


class StylePanel(QtWidgets.QWidget):
    def __init__(self, window):
        super().__init__()
        self.win = window
        form = QtWidgets.QFormLayout(self)
        self.scope = QtWidgets.QComboBox()
        self.scope.addItems(["the whole take", "the gap at the playhead"])
        self.tempo, self.tempo_box = self._control(TEMPO_RANGE, "x", "How quickly the generated moves go: under 1 "
                                                   "slower changes of move, over 1 the quicker of several draws")
        self.energy, self.energy_box = self._control(ENERGY_RANGE, "",
                                                     "How far the poses and steps reach (the latent's amplitude)")
        self.follow = QtWidgets.QPushButton("Follow the take")
        self.follow.setToolTip("The gap drops its own tempo and energy and takes the take's again")
        self.morph = QtWidgets.QCheckBox("Morph")
        self.morph.setToolTip(MORPH_TIP)
        self.spread = QtWidgets.QDoubleSpinBox()
        self.spread.setRange(0.0, 1.0)
        self.spread.setSingleStep(0.1)
        self.spread.setDecimals(2)
        self.spread.setPrefix("spread ")
        self.spread.setKeyboardTracking(False)
        self.spread.setToolTip("0: the smoothest morph (the path's mean); 1: a free draw (a plain fill keeps near the "
                               "path's mean beside the pins, as far as the model measured best)")
        self.transition = self._row(self.morph, self.spread)
        self.info = QtWidgets.QLabel()
        self.info.setWordWrap(True)
        form.addRow("Applies to", self.scope)
        form.addRow("Tempo", self._row(self.tempo, self.tempo_box))
        form.addRow("Energy", self._row(self.energy, self.energy_box))
        form.addRow(self.follow)
        self.transition_label = QtWidgets.QLabel("Transition")
        form.addRow(self.transition_label, self.transition)
        form.addRow(self.info)
        self.scope.currentIndexChanged.connect(lambda _i: self.refresh())
        self.follow.clicked.connect(self._follow)
        self.morph.toggled.connect(lambda _on: self._apply_morph())
        self.spread.valueChanged.connect(lambda _v: self._apply_morph())
        self.refresh()

    def _control(self, rng, suffix, tip):
        slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        slider.setRange(int(rng[0] * 100), int(rng[1] * 100))
        slider.setPageStep(10)
        box = QtWidgets.QDoubleSpinBox()
        box.setRange(*rng)
        box.setSingleStep(0.05)
        box.setDecimals(2)
        box.setSuffix(suffix)
        box.setKeyboardTracking(False)
        for w in (slider, box):
            w.setToolTip(tip)
        slider.valueChanged.connect(lambda v, b=box: self._slid(v, b))
        slider.sliderReleased.connect(self._apply)
        box.valueChanged.connect(lambda _v: self._apply())
        return slider, box

    @staticmethod
    def _row(*widgets):
        w = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        for x in widgets:
            lay.addWidget(x)
        return w

    def gap(self):
        doc = self.win.doc
        return None if doc is None else doc.gap_at(self.win.frame)

    def shown_style(self):
        """(tempo, energy) the panel shows: the take's, or the gap's (its own or the take's)."""
        doc = self.win.doc
        if doc is None:
            return (1.0, 1.0)
        if self.scope.currentIndex() == GAP:
            g = self.gap()
            return g.style if g is not None else doc.style
        return doc.style

    def follow_frame(self) -> None:
        """The playhead moved: in gap scope, show the gap it is in now (when it is another)."""
        if self.scope.currentIndex() == GAP:
            g = self.gap()
            key = None if g is None else (g.start, g.stop)
            if key != getattr(self, "_shown_gap", None):
                self.refresh()

    def refresh(self) -> None:
        doc = self.win.doc
        g0 = self.gap()
        self._shown_gap = None if g0 is None else (g0.start, g0.stop)
        gap = self.gap() if self.scope.currentIndex() == GAP else None
        usable = doc is not None and (self.scope.currentIndex() == TAKE or gap is not None)
        tempo, energy = self.shown_style()
        for w in (self.tempo, self.tempo_box, self.energy, self.energy_box):
            w.blockSignals(True)
            w.setEnabled(usable)
        self.tempo.setValue(int(round(tempo * 100)))
        self.tempo_box.setValue(tempo)
        self.energy.setValue(int(round(energy * 100)))
        self.energy_box.setValue(energy)
        for w in (self.tempo, self.tempo_box, self.energy, self.energy_box):
            w.blockSignals(False)
        own = gap is not None and gap.key in doc.gap_styles
        self.follow.setVisible(self.scope.currentIndex() == GAP)
        self.follow.setEnabled(own)
        self._refresh_morph(gap)
        if doc is None:
            self.info.setText("")
        elif self.scope.currentIndex() == TAKE:
            n = len(doc.gap_styles)
            self.info.setText("Every gap without a style of its own." + (f" {n} gap(s) have their own." if n else ""))
        elif gap is None:
            self.info.setText("The playhead is on a pin: move it into a gap.")
        else:
            text = f"Gap {gap.start}-{gap.stop - 1}: " + ("its own style." if own else "follows the take.")
            if gap.morph is not None:
                info = getattr(self.win.worker, "info", None) or {}
                text += (" It morphs the pin before it into the pin after it." if info.get("inverts", True) else
                         " Morph is on, but this model's inverse network does not invert its generator, so the "
                         "gap is filled from the prior as a plain gap is (docs/sampling.md).")
            self.info.setText(text)

    def _refresh_morph(self, gap) -> None:
        shown = self.scope.currentIndex() == GAP
        self.transition.setVisible(shown)
        self.transition_label.setVisible(shown)
        both = gap is not None and gap.left is not None and gap.right is not None
        for w in (self.morph, self.spread):
            w.blockSignals(True)
        self.morph.setEnabled(both)
        self.morph.setChecked(gap is not None and gap.morph is not None)
        self.spread.setEnabled(both and gap.morph is not None)
        self.spread.setValue(0.0 if gap is None or gap.morph is None else gap.morph)
        for w in (self.morph, self.spread):
            w.blockSignals(False)
        self.morph.setToolTip(MORPH_TIP if both else "A morph needs a pin on both sides of the gap")

    def _apply_morph(self) -> None:
        g = self.gap()
        if g is None or self.scope.currentIndex() != GAP:
            return
        self.win.set_morph(g.key, round(self.spread.value(), 3) if self.morph.isChecked() else None)
        self.refresh()

    def _slid(self, value: int, box) -> None:
        box.blockSignals(True)
        box.setValue(value / 100)
        box.blockSignals(False)
        slider = self.tempo if box is self.tempo_box else self.energy
        if not slider.isSliderDown():  # keys and clicks on the groove: no release will come
            self._apply()

    def _apply(self) -> None:
        style = (round(self.tempo_box.value(), 3), round(self.energy_box.value(), 3))
        if style == tuple(self.shown_style()):
            return
        if self.scope.currentIndex() == GAP:
            g = self.gap()
            if g is not None:
                self.win.set_style(style, g.key)
        else:
            self.win.set_style(style)
        self.refresh()

    def _follow(self) -> None:
        g = self.gap()
        if g is not None:
            self.win.set_style(None, g.key)
        self.refresh()
