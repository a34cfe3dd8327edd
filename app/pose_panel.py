"""The pose panel: turn one joint of the pose shown at the playhead by typed angles and key it (the
frame becomes, or updates, a one-frame pin; one undo step per key; auto-fill then redraws the
gaps around it). It reads the document; it owns no data."""
from __future__ import annotations

from PySide6 import QtWidgets


class PosePanel(QtWidgets.QWidget):
    def __init__(self, window):
        super().__init__()
        self.win = window
        form = QtWidgets.QFormLayout(self)
        self.joint = QtWidgets.QComboBox()
        self.joint.setToolTip("The joint to turn (about its own axes, from the pose shown now)")
        form.addRow("Joint", self.joint)
        self.angles = []
        for axis in "XYZ":
            box = QtWidgets.QDoubleSpinBox()
            box.setRange(-180.0, 180.0)
            box.setSingleStep(5.0)
            box.setSuffix(" deg")
            form.addRow(f"Turn {axis}", box)
            self.angles.append(box)
        self.key_button = QtWidgets.QPushButton("Key this frame")
        self.key_button.setToolTip("Hold the shown pose, with the turn, as a one-frame pin at the playhead")
        self.key_button.clicked.connect(self.key)
        form.addRow(self.key_button)
        self._skeleton = None

    def refresh(self) -> None:
        doc = self.win.doc
        sk = None if doc is None else doc.skeleton
        if sk is not self._skeleton:
            self._skeleton = sk
            self.joint.clear()
            if sk is not None:
                self.joint.addItems(list(sk.joints))
        self.setEnabled(doc is not None and doc.fill is not None)

    def key(self) -> bool:
        ok = self.win.key_pose(self.joint.currentIndex(), [b.value() for b in self.angles])
        if ok:
            for b in self.angles:  # the turn is now part of the shown pose
                b.setValue(0.0)
        return ok
