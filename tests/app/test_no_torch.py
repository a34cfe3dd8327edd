"""The editor process never imports torch (issue 15): the model runs in the worker process, so a
menu action that waits on torch's 1.5 s import would freeze the window. In a fresh process (this
test process has torch loaded by other tests): open the editor on a real worker, let it fill a
document, then trigger every menu action with dialogs answered "cancel"."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r'''
def main():
    import os, sys, tempfile
    from pathlib import Path
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication(["t"])
    QD, QM, QF = QtWidgets.QDialog, QtWidgets.QMessageBox, QtWidgets.QFileDialog
    QD.exec = lambda self: QD.Rejected                      # every dialog of ours: cancelled
    QM.question = staticmethod(lambda *a, **k: QM.Cancel)
    QM.exec = lambda self: QM.Ok
    for name in ("getOpenFileName", "getSaveFileName"):
        setattr(QF, name, staticmethod(lambda *a, **k: ("", "")))
    QF.getExistingDirectory = staticmethod(lambda *a, **k: "")
    for name in ("about", "information", "warning", "critical"):
        setattr(QM, name, staticmethod(lambda *a, **k: QM.Ok))
    QI = QtWidgets.QInputDialog
    for name in ("getInt", "getDouble", "getText", "getItem"):
        setattr(QI, name, staticmethod(lambda *a, **k: (None, False)))
    from app.window import MainWindow
    tmp = Path(tempfile.mkdtemp())
    settings = QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(settings=settings, recovery=tmp / "r.csgnproj", offer_recovery=False, autostart=True)
    win.quiet, win.prompt_on_close = True, False
    win.show()
    deadline = QtCore.QDeadlineTimer(120000)
    while (win.doc is None or win.busy) and not deadline.hasExpired():
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
    assert win.doc is not None, "no document from the worker"
    win.pin_selection(30, 60)
    skip = {"&Quit", "E&xit", "Quit"}
    done = []
    for menu in win.menuBar().findChildren(QtWidgets.QMenu):
        for act in menu.actions():
            if act.isSeparator() or act.menu() is not None or act.text() in skip:
                continue
            act.trigger()
            for _ in range(20):
                app.processEvents()
            done.append(act.text())
            if "torch" in sys.modules:
                print("TORCH after", act.text(), flush=True)
                win.worker.stop()
                os._exit(3)
    while win.busy and not deadline.hasExpired():
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
    print("actions", len(done), "torch" in sys.modules, flush=True)
    code = 3 if "torch" in sys.modules else 0
    win.worker.stop()
    os._exit(code)  # skip Qt's teardown of GL widgets at interpreter exit (not what this test is about)


if __name__ == "__main__":  # the worker process is spawned: it re-imports this file
    main()
'''


def test_no_menu_action_imports_torch_in_the_editor_process(tmp_path):
    script = tmp_path / "walk_menus.py"
    script.write_text(SCRIPT, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    n = int(r.stdout.split("actions")[-1].split()[0])
    assert n >= 20, r.stdout  # the menus really were walked
