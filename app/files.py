"""The main window's file actions: import, export, save, open, recent files, auto-save, recovery.

``FileActions`` is mixed into MainWindow and works on its state (doc, path, undo, settings,
recovery, status/error, run_job); like the window's other actions, each takes its answer (a path)
as an optional argument so scripts and tests call it directly, and opens a dialog without one.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from csgn_core.errors import CSGNError

from . import APP_NAME
from . import commands as C
from .dialogs import ExportDialog, ZipMemberDialog

MAX_RECENT = 8


def recovery_path() -> Path:
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.AppLocalDataLocation)
    return Path(base or Path.home() / ".csgn-studio") / "recovery.csgnproj"


class FileActions:
    """Import, export, save/open, recent files and auto-save for MainWindow."""

    def import_motion(self, path: str | Path | None = None) -> int | None:
        if self.doc is None:
            return None
        if path is None:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Import motion", self._last_dir("import"), "Motion (*.bvh *.vmd *.npz *.json *.txt *.zip);;All files (*)")
            if not path:
                return None
            self._remember_dir("import", path)
        if Path(path).suffix.lower() == ".zip" and Path(path).is_file():
            path = self._pick_zip_member(Path(path))
            if path is None:
                return None
        doc, at = self.doc, getattr(self, "frame", 0)

        def done(motion):
            if self.doc is not doc:
                return
            from csgn_core.editing.timeline import Pin

            n = min(motion.n_frames, doc.length - at)
            if n < 1:
                raise CSGNError("the playhead is at the end of the timeline; nothing fits")
            pin = Pin(motion, 0, n, at, label=Path(path).stem)
            if self._push(C.AddPin(doc, pin, f"Import {Path(path).name}"), doc.pins + [pin]):
                self.timeline.selected_pin = pin.id
                if n < motion.n_frames:
                    self.status(f"imported {n} of {motion.n_frames} frames (the rest runs past the end)")

        return self.run_job("import", {"path": str(path)}, f"Import {Path(path).name}", done)

    def _pick_zip_member(self, archive: Path) -> str | None:
        """``archive/member`` for the motion file the user picks inside a zip, or None."""
        from csgn_core.io import READABLE
        from csgn_core.io.archive import archive_members

        try:
            members = archive_members(archive, READABLE)
        except CSGNError as e:
            self.error(str(e))
            return None
        if not members:
            self.error(f"{archive.name} holds no motion files ({', '.join(READABLE)})")
            return None
        dlg = ZipMemberDialog(self, archive, members)
        if dlg.exec() != QtWidgets.QDialog.Accepted or dlg.member() is None:
            return None
        return f"{archive}/{dlg.member()}"

    def export(self, path: str | Path | None = None, clean_feet: bool = True, **options) -> Path | None:
        """Export the document as the command line's `csgn export` does (foot clean-up on by default).

        Without a path, asks for one and then for the format's options (ExportDialog); options are
        export_timeline's (fps; leg_ik, reduce_error, target_rest for VMD).
        """
        if self.doc is None or self.doc.fill is None:
            self.error("nothing to export yet")
            return None
        if path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export motion", self._last_dir("export", "motion.bvh"),
                                                            "BVH (*.bvh);;MikuMikuDance motion (*.vmd);;NumPy (*.npz)")
            if not path:
                return None
            self._remember_dir("export", path)
            dlg = ExportDialog(self, Path(path), self.doc.fps)
            if dlg.exec() != QtWidgets.QDialog.Accepted:
                return None
            options = dlg.values()
            clean_feet = options.pop("clean_feet")
        from csgn_core.editing.export import export_timeline

        if self.doc.is_stale():
            self.status("note: some gaps are out of date; exporting the last fill (Fill gaps updates them)")
        try:
            report = _beside_the_ui(lambda: export_timeline(self.doc, path, clean_feet=clean_feet, **options))
        except (CSGNError, OSError, ValueError) as e:
            self.error(f"export failed: {e}")
            return None
        feet = (f"; foot skating {report['skating_before']:.0f} -> {report['skating_after']:.0f} cm/s"
                if "skating_after" in report else "")
        self.status(f"exported {report['path']} ({report['frames']} frames at {report['fps']:g} fps{feet})")
        return Path(report["path"])

    def export_motion(self):
        """The fill with every pin's frames laid over it (what the viewport shows)."""
        return self.doc.current_motion()

    # --- files ---------------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save project",
                                                            self._last_dir("project", "untitled.csgnproj"),
                                                            "CSGN project (*.csgnproj)")
            if not path:
                return False
            self._remember_dir("project", path)
        path = Path(path)
        if path.suffix != ".csgnproj":
            path = path.with_suffix(".csgnproj")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        from csgn_core.editing.project import save_project

        if self.doc is None:
            return False
        try:
            save_project(self.doc, path)
        except (CSGNError, OSError) as e:
            self.error(f"could not save: {e}")
            return False
        self.path = Path(path)
        self.undo.setClean()
        self._add_recent(self.path)
        self._clear_recovery()
        self.status(f"saved {path}")
        self._update_title()
        return True

    def open_project(self, path: str | Path | None = None, ask: bool = True) -> bool:
        if ask and not self.maybe_save():
            return False
        if path is None:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open project", self._last_dir("project"),
                                                            "CSGN project (*.csgnproj)")
            if not path:
                return False
            self._remember_dir("project", path)
        from csgn_core.editing.project import load_project

        try:
            doc = load_project(path)
        except (CSGNError, OSError) as e:
            # The current document and its undo history stay as they were.
            self.error(f"could not open the project: {e}")
            if self.recovery.is_file() and Path(path).resolve() != self.recovery.resolve():
                self.offer_recovery(question=f"{Path(path).name} could not be opened. An auto-saved recovery "
                                             f"file exists: open it instead?\n({self.recovery})", keep=True)
            return False
        self.set_document(doc, Path(path))
        self._add_recent(Path(path))
        self.status(f"opened {path}")
        return True

    def _last_dir(self, kind: str, name: str = "") -> str:
        """Where a file dialog of this kind opens: the folder last used for it, else the user's home
        (never the repository's folder); ``name`` a suggested file name in it."""
        d = self.settings.value(f"dirs/{kind}") or ""
        folder = Path(d) if d and Path(d).is_dir() else Path.home()
        return str(folder / name) if name else str(folder)

    def _remember_dir(self, kind: str, path: str | Path) -> None:
        self.settings.setValue(f"dirs/{kind}", str(Path(path).parent))

    def _recent(self) -> list[str]:
        v = self.settings.value("recent") or []
        return [v] if isinstance(v, str) else list(v)

    def _add_recent(self, path: Path) -> None:
        r = [str(Path(path).resolve())] + [p for p in self._recent() if p != str(Path(path).resolve())]
        self.settings.setValue("recent", r[:MAX_RECENT])
        self._update_recent()

    def _update_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_project(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    # --- safety --------------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when it is fine to drop the document (saved, or the user said so)."""
        if not self.dirty or self.doc is None:
            return True
        r = QtWidgets.QMessageBox.question(
            self, APP_NAME, "The document has unsaved changes. Save them?",
            QtWidgets.QMessageBox.Save | QtWidgets.QMessageBox.Discard | QtWidgets.QMessageBox.Cancel)
        if r == QtWidgets.QMessageBox.Save:
            return self.save()
        return r == QtWidgets.QMessageBox.Discard

    def autosave(self) -> bool:
        """Write the document to the recovery file when it has unsaved changes."""
        if self.doc is None or not self.dirty:
            return False
        from csgn_core.editing.project import save_project

        try:
            self.recovery.parent.mkdir(parents=True, exist_ok=True)
            save_project(self.doc, self.recovery)
        except (CSGNError, OSError) as e:
            self.status(f"auto-save failed: {e}")
            return False
        return True

    def _clear_recovery(self) -> None:
        try:
            self.recovery.unlink()
        except OSError:
            pass

    def offer_recovery(self, accept: bool | None = None, question: str | None = None, keep: bool = False) -> bool:
        """If a recovery file is there, offer to open it; True when it was opened. A declined offer
        deletes the file, unless ``keep`` (the offer after a failed open: the work may still matter).
        Only the finished recovery file is ever read, never a save's partial temporary file."""
        if not self.recovery.is_file():
            return False
        if accept is None:
            accept = QtWidgets.QMessageBox.question(
                self, APP_NAME, question or f"CSGN Studio did not close cleanly. Restore the auto-saved work?\n"
                                            f"({self.recovery})"
            ) == QtWidgets.QMessageBox.Yes
        if not accept:
            if not keep:
                self._clear_recovery()
            return False
        from csgn_core.editing.project import load_project

        try:
            doc = load_project(self.recovery)
        except (CSGNError, OSError) as e:
            self.error(f"the recovery file could not be read: {e}")
            self._clear_recovery()
            return False
        self.set_document(doc)
        # A restored document has not been saved anywhere: mark it changed with an empty marker.
        self.undo.push(QtGui.QUndoCommand("Restore auto-saved work"))
        return True


def _beside_the_ui(work):
    """``work()`` on a thread of its own while the UI keeps drawing and ticking (its timers, the
    playback), user input held until it is done, then its result or its exception. An export's foot
    clean-up and file writing take 100-200 ms for a minute of motion: on the UI thread that was a
    visible freeze (``benchmarks/bench_ui_stalls.py``). Not a worker-process job: it needs no model,
    and the document it reads cannot change while input is held."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as e:  # handed to the UI thread, which raises it as its own
            out["error"] = e

    thread = threading.Thread(target=run, name="export", daemon=True)
    QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.WaitCursor)
    try:
        thread.start()
        while thread.is_alive():
            QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ExcludeUserInputEvents, 5)
            thread.join(0.002)
    finally:
        QtWidgets.QApplication.restoreOverrideCursor()
    if "error" in out:
        raise out["error"]
    return out["value"]
