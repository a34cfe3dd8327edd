"""The model worker process: loads the model once, then answers jobs read from a pipe.

Kept free of Qt so the spawned process starts fast; ``app.worker.ModelWorker`` is the editor's side.
"""
from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

# --- the worker process ----------------------------------------------------------------------------


def snapshot(doc):
    """A picklable copy of a Timeline (same pins and fill, no editor callbacks)."""
    from csgn_core.timeline import Events, Timeline

    snap = Timeline.__new__(Timeline)
    snap.__dict__.update(doc.__dict__)
    snap.pins = list(doc.pins)
    snap.events = Events()
    return snap


def _run_job(model, model_name, kind, args, progress, cancel):
    if kind == "info":
        return {"fps": model.fps, "skeleton": model.skeleton, "name": model_name}
    if kind == "generate":
        from csgn_core.nn.model import generate

        progress(0.1, "generating")
        return generate(model, args["seconds"], args.get("seed", 0))
    if kind == "new_timeline":
        from csgn_core.sampler import new_timeline

        progress(0.1, "sampling")
        return snapshot(new_timeline(model, args["seconds"], args.get("seed", 0), name=model_name))
    if kind == "fill":
        from csgn_core.sampler import fill_stale

        return fill_stale(args["doc"], model, args.get("seed", 0), refine_seconds=args.get("refine_seconds", 0.0),
                          progress=progress, cancel=cancel)
    if kind == "resample_gap":
        from csgn_core.sampler import resample_gap

        return resample_gap(args["doc"], model, args["gap_start"], args.get("seed", 0), progress=progress,
                            cancel=cancel)
    if kind == "predict":
        from .continuation import sample_continuation

        return sample_continuation(args["doc"], model, args["start"], args["stop"], args["frames"],
                                   args.get("seed", 0), progress=progress, cancel=cancel)
    if kind == "import":
        from csgn_core.io import load_motion
        from csgn_core.sampler import conform

        progress(0.1, "reading")
        # A VMD holds MMD bones only: read it straight onto the model's own skeleton where one is named.
        motion = load_motion(args["path"], skeleton=model.skeleton) if str(args["path"]).lower().endswith(
            ".vmd") else load_motion(args["path"])
        progress(0.5, "fitting to the model's skeleton and rate")
        return conform(motion, model)
    # Test hooks: a job that runs until cancelled, and one that kills the process.
    if kind == "_sleep":
        for i in range(int(args.get("steps", 100))):
            if cancel():
                return "cancelled"
            progress(i / args.get("steps", 100), "sleeping")
            time.sleep(args.get("dt", 0.05))
        return "slept"
    if kind == "_crash":
        os._exit(int(args.get("code", 3)))
    raise ValueError(f"unknown job {kind!r}")


def worker_main(conn, model_dir: str, cancel_id, device: str = "cpu") -> None:
    """The worker process: load the model on ``device`` ("cpu" or "cuda"; CUDA falls back to the CPU
    when torch cannot see a GPU, and says so in the ready message), then answer (job_id, kind, args)
    messages until None."""
    model = None
    try:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
        from csgn_core.nn.model import load_model

        cuda = bool(torch.cuda.is_available())
        used = "cuda" if device == "cuda" and cuda else "cpu"
        model = load_model(model_dir, device=used)
        conn.send(("ready", -1, {"fps": model.fps, "skeleton": model.skeleton, "name": Path(model_dir).name,
                                 "device": used, "requested_device": device, "cuda": cuda}))
    except BaseException as e:  # noqa: BLE001 - report everything to the editor
        conn.send(("load_error", -1, f"could not load the model at {model_dir}: {e}"))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        job_id, kind, args = msg
        if model is None and not kind.startswith("_"):
            conn.send(("error", job_id, "no model loaded"))
            continue

        def progress(frac, text="", _id=job_id):
            conn.send(("progress", _id, (float(frac), str(text))))

        def cancel(_id=job_id):
            return cancel_id.value == _id

        try:
            result = _run_job(model, Path(model_dir).name, kind, args, progress, cancel)
            conn.send(("result", job_id, result))
        except MemoryError:
            conn.send(("error", job_id, "out of memory in the model worker"))
        except BaseException as e:  # noqa: BLE001
            from csgn_core.errors import CSGNError

            text = str(e) if isinstance(e, CSGNError) else f"{type(e).__name__}: {e}"
            conn.send(("error", job_id, text, traceback.format_exc()))
