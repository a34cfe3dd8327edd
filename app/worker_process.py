"""The model worker process: loads the model once, then answers jobs read from a pipe.

Kept free of Qt so the spawned process starts fast; ``app.worker.ModelWorker`` is the editor's side.
"""
from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from pathlib import Path

# --- the worker process ----------------------------------------------------------------------------

MODEL_FREE = ("music",)  # jobs that need no model: the music track loads even when the model did not
# The editor's fills and variants take each gap from the better of two draws by foot sliding: on `csgn
# eval infill`'s windows sliding inside 30-frame gaps 92 -> 86 cm/s (1.24x -> 1.16x the real frames'),
# for 20-60 ms more per re-fill of a 20 s take (session 20, docs/benchmarks.md; `csgn complete` draws 4).
FILL_DRAWS = 2


def _run_job(model, model_name, kind, args, progress, cancel):
    if kind == "info":
        from csgn_core.editing.completion import uses_inverse

        return {"fps": model.fps, "skeleton": model.skeleton, "name": model_name, "inverts": uses_inverse(model, "auto")}
    if kind == "generate":
        from csgn_core.model.inference import generate

        progress(0.1, "generating")
        return generate(model, args["seconds"], args.get("seed", 0))
    if kind == "new_timeline":
        from csgn_core.editing.completion import new_timeline

        progress(0.1, "sampling")
        return new_timeline(model, args["seconds"], args.get("seed", 0), name=model_name)
    if kind == "fill":
        from csgn_core.editing.completion import fill_stale

        return fill_stale(args["doc"], model, args.get("seed", 0), refine_seconds=args.get("refine_seconds", 0.0),
                          progress=progress, cancel=cancel, draws=FILL_DRAWS)
    if kind == "resample_gap":
        from csgn_core.editing.completion import resample_gap

        return resample_gap(args["doc"], model, args["gap_start"], args.get("seed", 0), progress=progress,
                            cancel=cancel, draws=FILL_DRAWS)
    if kind == "predict":
        from csgn_core.editing.continuation import sample_continuation

        return sample_continuation(args["doc"], model, args["start"], args["stop"], args["frames"],
                                   args.get("seed", 0), progress=progress, cancel=cancel)
    if kind == "import":
        from csgn_core.editing.completion import conform
        from csgn_core.io import load_motion

        progress(0.1, "reading")
        # A VMD holds MMD bones only: read it straight onto the model's own skeleton where one is named.
        motion = load_motion(args["path"], skeleton=model.skeleton) if str(args["path"]).lower().endswith(
            ".vmd") else load_motion(args["path"])
        progress(0.5, "fitting to the model's skeleton and rate")
        return conform(motion, model)
    if kind == "blend":
        from csgn_core.editing.blend import blend_takes
        from csgn_core.io import load_motion

        progress(0.1, "reading")
        path = str(args["path"])
        b = load_motion(path, skeleton=model.skeleton) if path.lower().endswith(".vmd") else load_motion(path)
        return blend_takes(model, args["a"], b, args["seconds"], args.get("seed", 0), progress=progress, cancel=cancel)
    if kind == "music":
        from csgn_core.editing.music import load_music

        # The samples stay here: the editor decodes its own copy for the sound, off its UI thread.
        return load_music(args["path"], args.get("offset", 0.0), args.get("known"), progress=progress, samples=False)
    # Test hooks: a job that runs until cancelled, and one that kills the process.
    if kind == "_sleep":
        for i in range(int(args.get("steps", 100))):
            if cancel():
                return "cancelled"
            progress(i / args.get("steps", 100), "sleeping")
            time.sleep(args.get("dt", 0.05))
        return args.get("payload", "slept")
    if kind == "_raise":  # a bug inside a job: its traceback must reach the editor
        return 1 // int(args.get("zero", 0))
    if kind == "_crash":
        os._exit(int(args.get("code", 3)))
    raise ValueError(f"unknown job {kind!r}")


def worker_threads(cores: int) -> int:
    """Torch threads for the model worker: every core on a 2-core machine, all but one above it. The
    editor's UI thread waits on the job rather than computing beside it: on 2 cores a styled re-fill
    of a 20 s take answered in 160 ms on two threads against 220-250 ms on one, with the UI's longest
    stall unchanged (under 15 ms; session 17, ``benchmarks/bench_ui_stalls.py``)."""
    return max(1, cores if cores <= 2 else cores - 1)


def _reader(conn) -> "queue.Queue":
    """Jobs from the editor, read by a thread of their own as soon as they arrive. Reading only
    between jobs deadlocked: the editor's send of a large document waited for this process to read
    while this process's send of a large result waited for the editor to read."""
    jobs: queue.Queue = queue.Queue()

    def read() -> None:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                job = None
            jobs.put(job)
            if job is None:
                return

    threading.Thread(target=read, name="csgn-job-reader", daemon=True).start()
    return jobs


def worker_main(conn, model_dir: str, cancel_id, device: str = "cpu") -> None:
    """The worker process: load the model on ``device`` ("cpu" or "cuda"; CUDA falls back to the CPU
    when torch cannot see a GPU, and says so in the ready message), then answer ``Job`` messages
    (``app.messages``) until None."""
    from .messages import JobError, LoadError, Progress, Ready, Result

    model = None
    try:
        import torch

        torch.set_num_threads(worker_threads(os.cpu_count() or 2))
        from csgn_core.model.inference import load_model

        cuda = bool(torch.cuda.is_available())
        used = "cuda" if device == "cuda" and cuda else "cpu"
        model = load_model(model_dir, device=used)
        conn.send(Ready({"fps": model.fps, "skeleton": model.skeleton, "name": Path(model_dir).name,
                         "device": used, "requested_device": device, "cuda": cuda}))
    except BaseException as e:  # noqa: BLE001 - report everything to the editor
        conn.send(LoadError(f"could not load the model at {model_dir}: {e}"))
    jobs = _reader(conn)
    while True:
        job = jobs.get()
        if job is None:
            return
        if model is None and not job.kind.startswith("_") and job.kind not in MODEL_FREE:
            conn.send(JobError(job.id, "no model loaded"))
            continue

        def progress(frac, text="", _id=job.id):
            conn.send(Progress(_id, float(frac), str(text)))

        def cancel(_id=job.id):
            return cancel_id.value == _id

        try:
            result = _run_job(model, Path(model_dir).name, job.kind, job.args, progress, cancel)
            conn.send(Result(job.id, result))
        except MemoryError:
            conn.send(JobError(job.id, "out of memory in the model worker"))
        except BaseException as e:  # noqa: BLE001
            from csgn_core.errors import CSGNError

            own = isinstance(e, CSGNError)
            conn.send(JobError(job.id, str(e) if own else f"{type(e).__name__}: {e}",
                               "" if own else traceback.format_exc()))
