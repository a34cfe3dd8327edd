"""The Qt binding must not leak references to None: on Python 3.11 that aborts the editor once the
count reaches zero (PySide6 6.12.0 dropped one per QWidget.update(), so playback crashed in minutes)."""
import sys

from PySide6 import QtWidgets


def test_widget_update_keeps_none_alive(qtbot):
    w = QtWidgets.QWidget()
    qtbot.addWidget(w)
    before = sys.getrefcount(None)
    for _ in range(20000):
        w.update()
        w.isVisible()
    assert sys.getrefcount(None) >= before - 100
