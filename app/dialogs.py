"""The editor's small dialogs (seed, prediction, preferences, export options) and the About text.

Each dialog only collects values; the window acts on them, so scripts and tests can call the
window's actions with the values directly.
"""
from __future__ import annotations

import html
import re
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from .models import bundled_models, default_model_dir, model_card

ABOUT_HEAD = """<h3>CSGN Studio</h3>
<p>An animation editor built around the Convolutional Sequence Generation Network
(Yan et al., ICCV 2019). Pin motion where you want it; the model fills the rest.</p>
<p><b>Bundled models and their terms.</b> A model inherits the terms of the data it was trained on
(from each model's MODEL.md):</p>"""
ABOUT_TAIL = "<p>The program itself is MIT licensed.</p>"


def _md(text: str) -> str:
    """A MODEL.md table cell as HTML (escaped, `code` kept as code)."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def about_text() -> str:
    """The About box: the program, then each bundled model's data and licence from its MODEL.md."""
    from csgn_core.paths import RESOURCES

    items = []
    for name in bundled_models():
        try:
            card = model_card(RESOURCES / "models" / name)
        except OSError:
            items.append(f"<li><b>{html.escape(name)}</b>: no MODEL.md; check the terms of its training data "
                         "before using what it makes.</li>")
            continue
        items.append(f"<li><b>{html.escape(name)}</b>: {_md(card.get('title', ''))}<br>"
                     f"<i>data</i>: {_md(card.get('data', 'not stated'))}<br>"
                     f"<i>licence</i>: {_md(card.get('licence', 'not stated'))}</li>")
    return ABOUT_HEAD + "<ul>" + "".join(items) + "</ul>" + ABOUT_TAIL


def _ok_cancel(dialog: QtWidgets.QDialog, form: QtWidgets.QFormLayout) -> None:
    bb = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
    bb.accepted.connect(dialog.accept)
    bb.rejected.connect(dialog.reject)
    form.addRow(bb)


class PredictDialog(QtWidgets.QDialog):
    SOURCES = (("end", "the end of the timeline"), ("selection", "the selected range"),
               ("last_pin", "the last pin"))

    def __init__(self, parent=None, has_selection: bool = False, has_pins: bool = False):
        super().__init__(parent)
        self.setWindowTitle("Predict continuation")
        form = QtWidgets.QFormLayout(self)
        self.seconds = QtWidgets.QDoubleSpinBox()
        self.seconds.setRange(0.1, 600.0)
        self.seconds.setValue(5.0)
        self.seconds.setSuffix(" s")
        self.source = QtWidgets.QComboBox()
        for key, text in self.SOURCES:
            self.source.addItem(text, key)
        item = self.source.model().item
        item(1).setEnabled(has_selection)
        item(2).setEnabled(has_pins)
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(int(time.time()) % 100000)
        form.addRow("Length", self.seconds)
        form.addRow("Continue from", self.source)
        form.addRow("Seed", self.seed)
        note = QtWidgets.QLabel("The timeline ends where the continuation ends: frames after a selection or\n"
                                "pin in the middle are replaced (Undo brings them back).")
        note.setStyleSheet("color: gray")
        form.addRow(note)
        _ok_cancel(self, form)

    def values(self) -> tuple[float, str, int]:
        return self.seconds.value(), self.source.currentData(), self.seed.value()


class PreferencesDialog(QtWidgets.QDialog):
    """Model (a bundled one or a folder) and device. CUDA is offered only when the worker process
    found it (the editor process never imports torch)."""

    def __init__(self, parent, model_dir: Path, device: str, cuda: bool | None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        form = QtWidgets.QFormLayout(self)
        self.model_box = QtWidgets.QComboBox()
        for name in bundled_models():
            self.model_box.addItem(f"{name} (bundled)", name)
        self.model_box.addItem("a model folder...", "")
        self.folder = QtWidgets.QLineEdit()
        browse = QtWidgets.QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        model_dir = Path(model_dir)
        i = self.model_box.findData(model_dir.name)
        if i >= 0 and default_model_dir(model_dir.name).resolve() == model_dir.resolve():
            self.model_box.setCurrentIndex(i)
        else:
            self.model_box.setCurrentIndex(self.model_box.count() - 1)
            self.folder.setText(str(model_dir))
        self.model_box.currentIndexChanged.connect(self._sync)
        self.device_box = QtWidgets.QComboBox()
        self.device_box.addItem("CPU", "cpu")
        self.device_box.addItem("CUDA (GPU)", "cuda")
        cuda_item = self.device_box.model().item(1)
        if not cuda:
            cuda_item.setEnabled(False)
            tip = ("torch.cuda.is_available() is False in the model worker: no usable GPU" if cuda is False
                   else "the model worker has not loaded yet; open Preferences again when the model is ready")
            cuda_item.setToolTip(tip)
            self.device_box.setItemData(1, tip, QtCore.Qt.ToolTipRole)
        self.device_box.setCurrentIndex(1 if device == "cuda" and cuda else 0)
        form.addRow("Model", self.model_box)
        form.addRow("Folder", row)
        form.addRow("Device", self.device_box)
        _ok_cancel(self, form)
        self._sync()

    def _sync(self) -> None:
        self.folder.setEnabled(self.model_box.currentData() == "")

    def _browse(self) -> None:
        d = QtWidgets.QFileDialog.getExistingDirectory(self, "Model folder", self.folder.text())
        if d:
            self.folder.setText(d)
            self.model_box.setCurrentIndex(self.model_box.count() - 1)

    def model(self) -> str:
        return self.model_box.currentData() or self.folder.text().strip()

    def device(self) -> str:
        return self.device_box.currentData()


class SeedDialog(QtWidgets.QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New from seed")
        form = QtWidgets.QFormLayout(self)
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seconds = QtWidgets.QDoubleSpinBox()
        self.seconds.setRange(1.0, 600.0)
        self.seconds.setValue(10.0)
        self.seconds.setSuffix(" s")
        form.addRow("Seed", self.seed)
        form.addRow("Length", self.seconds)
        _ok_cancel(self, form)

    def values(self) -> tuple[int, float]:
        return self.seed.value(), self.seconds.value()


class ExportDialog(QtWidgets.QDialog):
    """Options of one export, for the format the chosen file name says (.bvh, .vmd or .npz): what
    ``csgn export`` takes as flags. ``values()`` gives export_timeline's keyword arguments."""

    def __init__(self, parent, path: Path, model_fps: float):
        super().__init__(parent)
        self.vmd = Path(path).suffix.lower() == ".vmd"
        self.setWindowTitle(f"Export {Path(path).name}")
        form = QtWidgets.QFormLayout(self)
        self.clean = QtWidgets.QCheckBox("Clean up foot sliding (two-bone IK on contacts)")
        self.clean.setChecked(True)
        form.addRow(self.clean)
        self.fps = QtWidgets.QDoubleSpinBox()
        self.fps.setRange(1.0, 240.0)
        self.fps.setDecimals(3)
        self.fps.setValue(30.0 if self.vmd else model_fps)
        self.fps.setSuffix(" fps")
        self.fps.setEnabled(not self.vmd)
        if self.vmd:
            self.fps.setToolTip("MikuMikuDance plays 30 fps; VMD keys are written at 30 fps")
        form.addRow("Frame rate", self.fps)
        self._model_fps = model_fps
        if self.vmd:
            self.leg_ik = QtWidgets.QComboBox()
            self.leg_ik.addItem("off: the leg rotations play (IK off at frame 0)", "off")
            self.leg_ik.addItem("keys: key 足ＩＫ at the feet, IK stays on", "keys")
            self.reduce = QtWidgets.QDoubleSpinBox()
            self.reduce.setRange(0.0, 10.0)
            self.reduce.setSingleStep(0.5)
            self.reduce.setSuffix(" deg")
            self.reduce.setSpecialValueText("off (a key every frame)")
            self.reduce.setValue(0.0)
            self.rest = QtWidgets.QLineEdit()
            self.rest.setPlaceholderText("standard MMD rest (arms 35 degrees down)")
            browse = QtWidgets.QPushButton("Browse...")
            browse.clicked.connect(self._browse_rest)
            row = QtWidgets.QHBoxLayout()
            row.addWidget(self.rest)
            row.addWidget(browse)
            form.addRow("Leg IK", self.leg_ik)
            form.addRow("Key reduction", self.reduce)
            form.addRow("Target rest pose", row)
        _ok_cancel(self, form)

    def _browse_rest(self) -> None:
        f, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Target model rest pose", self.rest.text(), "JSON (*.json)")
        if f:
            self.rest.setText(f)

    def values(self) -> dict:
        out: dict = {"clean_feet": self.clean.isChecked()}
        if self.vmd:
            out["leg_ik"] = self.leg_ik.currentData()
            out["reduce_error"] = self.reduce.value() or None
            if self.rest.text().strip():
                out["target_rest"] = self.rest.text().strip()
        elif abs(self.fps.value() - self._model_fps) > 1e-6:
            out["fps"] = self.fps.value()
        return out



class ZipMemberDialog(QtWidgets.QDialog):
    """Pick one motion file inside a zip archive (as the command line reads ``set.zip/dir/clip.bvh``).
    A filter box narrows the list; ``member()`` is the chosen name."""

    def __init__(self, parent, archive: Path, members: list[str]):
        super().__init__(parent)
        self.setWindowTitle(f"Import from {Path(archive).name}")
        self.resize(520, 460)
        lay = QtWidgets.QVBoxLayout(self)
        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText(f"filter {len(members)} motion files")
        self.list = QtWidgets.QListWidget()
        self.list.addItems(members)
        if members:
            self.list.setCurrentRow(0)
        self.filter.textChanged.connect(self._apply_filter)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(self.filter)
        lay.addWidget(self.list)
        lay.addWidget(buttons)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())
            if first is None and not item.isHidden():
                first = item
        if first is not None:
            self.list.setCurrentItem(first)

    def member(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None or item.isHidden() else item.text()
