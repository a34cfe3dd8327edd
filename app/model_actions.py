"""The main window's model actions: a new take from a seed, fill and resample gaps, auto-fill,
predict a continuation, and the model/device preferences.

``ModelActions`` is mixed into MainWindow and works on its state (doc, undo, worker, jobs, settings,
status/error, run_job), as ``FileActions`` does; each action takes its answers as optional
arguments so scripts and tests call it directly, and opens a dialog without them.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtWidgets

from csgn_core.editing.continuation import DocState, context_range, continued_state
from csgn_core.errors import CSGNError

from . import commands as C
from .dialogs import PredictDialog, PreferencesDialog, SeedDialog
from .models import default_model_dir, model_header


def compatible(doc, skeleton, fps) -> bool:
    """Can a model with this skeleton and fps work on the document?"""
    own = doc.skeleton or (doc.fill.motion.skeleton if doc.fill is not None else None)
    return own is not None and own.same_topology(skeleton) and abs(doc.fps - float(fps)) < 1e-6



class ModelActions:
    """New take, fill, resample, auto-fill, predict and preferences for MainWindow."""

    # --- model actions -------------------------------------------------------------------------------
    def new_from_seed(self, seed: int | None = None, seconds: float | None = None, ask: bool = True) -> int | None:
        if seed is None or seconds is None:
            dlg = SeedDialog(self)
            if dlg.exec() != QtWidgets.QDialog.Accepted:
                return None
            seed, seconds = dlg.values()
        if ask and not self.maybe_save():
            return None

        def done(doc):
            self.set_document(doc)
            self.play()

        return self.run_job("new_timeline", {"seconds": float(seconds), "seed": int(seed)},
                            f"New motion (seed {seed}, {seconds:g} s)", done)

    def choose_model(self, folder: str | Path | None = None) -> bool:
        """Use another model folder (remembered in the settings); the worker restarts with it."""
        if folder is None:
            folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Model folder", str(self.model_dir))
            if not folder:
                return False
        return self.apply_preferences(model=Path(folder).resolve())

    def fill_gaps(self, seed: int | None = None, auto: bool = False) -> int | None:
        if self.doc is None:
            return None
        seed = int(time.time()) % 100000 if seed is None else seed
        doc = self.doc
        label = "Auto-fill" if auto else "Fill gaps"

        def done(fill):
            if self.doc is doc:
                self.undo.push(C.SetFill(doc, fill, label))

        return self.run_job("fill", {"doc": doc, "seed": seed}, label, done, auto=auto)

    # --- auto-fill -----------------------------------------------------------------------------------
    def set_auto_fill(self, on: bool) -> None:
        """Fill stale gaps by themselves AUTO_FILL_MS after each edit (remembered in the settings)."""
        self.auto_fill = bool(on)
        self.settings.setValue("auto_fill", self.auto_fill)
        if self.act_auto_fill.isChecked() != self.auto_fill:
            self.act_auto_fill.setChecked(self.auto_fill)
        if self.auto_fill:
            self._schedule_auto_fill()
        else:
            self.auto_fill_timer.stop()
            if self.jobs.auto_running:
                self.cancel_job()

    def _schedule_auto_fill(self) -> None:
        """After an edit: (re)start the quiet-time timer; an auto-fill already running is now out of
        date, so it is cancelled (a new one follows)."""
        if not self.auto_fill or self.doc is None:
            return
        if self.jobs.auto_running:
            self.cancel_job()
        self.auto_fill_timer.start()

    def _auto_fill_now(self) -> None:
        if not self.auto_fill or self.doc is None or not self.doc.stale_gaps():
            return
        if self.jobs.busy:
            if self.jobs.auto_running:
                self.cancel_job()
            else:  # the user's job runs: try again when it may be done
                self.auto_fill_timer.start()
                return
        self.fill_gaps(auto=True)

    # --- predict -------------------------------------------------------------------------------------
    def predict_continuation(self, seconds: float | None = None, source: str | None = None,
                             seed: int | None = None) -> int | None:
        """Continue the motion for ``seconds`` after a context: "end" (the timeline's last seconds),
        "selection" or "last_pin". The timeline becomes context end + the new frames long; it is one
        undo step. Frames after a context that ends before the timeline's end are replaced."""
        if self.doc is None:
            return None
        if seconds is None or source is None:
            dlg = PredictDialog(self, has_selection=self.timeline.selection is not None,
                                 has_pins=bool(self.doc.pins))
            if dlg.exec() != QtWidgets.QDialog.Accepted:
                return None
            seconds, source, seed = dlg.values()
        doc = self.doc
        if doc.fill is None or doc.fill.motion.n_frames != doc.length:
            self.error("nothing to continue yet: fill the timeline first")
            return None
        try:
            if not (float(seconds) > 0):
                raise CSGNError(f"the continuation must be longer than 0 s, got {seconds}")
            start, stop = context_range(doc, source, self.timeline.selection)
        except CSGNError as e:
            self.error(str(e))
            return None
        seed = int(time.time()) % 100000 if seed is None else int(seed)
        frames = max(1, round(float(seconds) * doc.fps))
        before = DocState.of(doc)

        def done(cont):
            if self.doc is not doc:
                return
            if doc.length != before.length or tuple(doc.pins) != before.pins or doc.fill is not before.fill:
                raise CSGNError("the document changed while the model was predicting; nothing was applied")
            new = continued_state(doc, stop, cont, seed)
            self.undo.push(C.SetState(doc, before, new, f"Predict {frames / doc.fps:g} s"))
            self.set_frame(stop)
            self._schedule_auto_fill()

        return self.run_job("predict", {"doc": doc, "start": start, "stop": stop, "frames": frames, "seed": seed},
                            f"Predict continuation ({frames / doc.fps:g} s)", done)

    # --- blend -----------------------------------------------------------------------------------------
    def blend_into(self, path: str | Path | None = None, seconds: float | None = None, seed: int | None = None):
        """The take up to the playhead, then a transition of ``seconds`` morphing it into the clip at
        ``path``, then the clip: the timeline ends with it (one undo step, as Predict is)."""
        doc = self.doc
        if doc is None or doc.fill is None or doc.fill.motion.n_frames != doc.length:
            self.error("nothing to blend from yet: fill the timeline first")
            return None
        if path is None:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Blend into a clip", self._last_dir("import"),
                                                            "Motion (*.bvh *.vmd *.npz *.json *.txt);;All files (*)")
            if not path:
                return None
            self._remember_dir("import", path)
        if seconds is None:
            seconds, ok = QtWidgets.QInputDialog.getDouble(self, "Blend into a clip",
                                                           "Seconds the transition takes:", 2.0, 0.2, 60.0, 1)
            if not ok:
                return None
        stop = max(1, self.frame)
        seed = int(time.time()) % 100000 if seed is None else int(seed)
        before = DocState.of(doc)
        a = doc.current_motion().slice(0, stop)

        def done(out):
            if self.doc is not doc:
                return
            if doc.length != before.length or tuple(doc.pins) != before.pins or doc.fill is not before.fill:
                raise CSGNError("the document changed while the model was blending; nothing was applied")
            new = continued_state(doc, stop, out.slice(stop, out.n_frames), seed)
            self.undo.push(C.SetState(doc, before, new, f"Blend into {Path(path).name}"))
            self.set_frame(stop)
            self._schedule_auto_fill()

        return self.run_job("blend", {"a": a, "path": str(path), "seconds": float(seconds), "seed": seed},
                            f"Blend into {Path(path).name}", done)

    # --- preferences ---------------------------------------------------------------------------------
    def _device_setting(self) -> str:
        v = str(self.settings.value("device") or "cpu").lower()
        return v if v in ("cpu", "cuda") else "cpu"

    def cuda_available(self) -> bool | None:
        """What the worker process found (torch.cuda.is_available() there); None until it has loaded."""
        info = self.worker.info
        return None if info is None else bool(info.get("cuda", False))

    def preferences(self) -> bool:
        dlg = PreferencesDialog(self, self.model_dir, self.worker.device, self.cuda_available())
        if dlg.exec() != QtWidgets.QDialog.Accepted:
            return False
        return self.apply_preferences(model=dlg.model(), device=dlg.device())

    def apply_preferences(self, model: str | Path | None = None, device: str | None = None) -> bool:
        """Use another model (a bundled name or a folder) and/or device ("cpu", "cuda"); both are
        remembered in the settings and the worker restarts with them. A model on another skeleton or
        frame rate is refused while the document has pins (the document stays as it is); a document
        without pins is replaced by a new motion from the new model."""
        folder = self.model_dir if model is None else default_model_dir(str(model))
        device = self.worker.device if device is None else str(device).lower()
        if device not in ("cpu", "cuda"):
            self.error(f"unknown device {device!r} (cpu or cuda)")
            return False
        if device == "cuda" and self.worker.device != "cuda" and self.cuda_available() is False:
            self.error("CUDA is not available to the model worker (torch.cuda.is_available() is False); "
                       "it stays on the CPU")
            return False
        model_changed = Path(folder).resolve() != Path(self.model_dir).resolve()
        renew = None
        if model_changed:
            if not (Path(folder) / "config.json").is_file():
                self.error(f"{folder}: no CSGN model here (expected config.json and model.safetensors)")
                return False
            try:
                skeleton, fps = model_header(folder)
            except CSGNError as e:
                self.error(str(e))
                return False
            doc = self.doc
            if doc is not None and not compatible(doc, skeleton, fps):
                if doc.pins:
                    own = doc.skeleton.name if doc.skeleton else "?"
                    self.error(f"the model '{Path(folder).name}' uses the skeleton '{skeleton.name}' at {fps:g} fps "
                               f"but this document's pins are on '{own}' at {doc.fps:g} fps; the model was not "
                               f"switched and the document is unchanged (save it and remove its pins, or start "
                               f"a new document, then switch)")
                    return False
                if not self.maybe_save():
                    return False
                renew = doc.length / doc.fps
        if not model_changed and device == self.worker.device:
            return True
        self.cancel_job()
        self.auto_fill_timer.stop()
        self.model_dir = Path(folder)
        bundled = Path(folder).parent.resolve() == (default_model_dir("dance").parent).resolve()
        self.settings.setValue("model", Path(folder).name if bundled else str(folder))
        self.settings.setValue("device", device)
        self.worker.model_dir = str(folder)
        self.worker.device = device
        self.worker.restart()
        self.status(f"loading the model in {folder} on {device} ...", 0)
        if renew is not None:
            self.new_from_seed(0, renew, ask=False)
        return True

    def resample_gap(self, frame: int | None = None, seed: int | None = None) -> int | None:
        if self.doc is None:
            return None
        frame = getattr(self, "frame", 0) if frame is None else frame
        gap = self.doc.gap_at(frame)
        if gap is None:
            self.error("the playhead is on a pin; put it in a gap to resample that gap")
            return None

        refusal = self.doc.resample_refusal(gap)  # said here, before a job starts
        if refusal:
            self.error(refusal)
            return None
        seed = int(time.time()) % 100000 if seed is None else seed
        doc = self.doc

        def done(fill):
            if self.doc is doc:
                self.undo.push(C.SetFill(doc, fill, f"Resample gap {gap.start}-{gap.stop - 1}"))

        return self.run_job("resample_gap", {"doc": doc, "gap_start": gap.start, "seed": seed},
                            "Resample gap", done)
