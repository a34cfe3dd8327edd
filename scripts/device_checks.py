"""CUDA-path checks for a trained model folder: generation and gap completion timed on CUDA and CPU.

    python scripts/device_checks.py MODEL_DIR [--json OUT.json] [--train cpu,narrow,paper] [--data tang-dance]

Prints one JSON object: seconds per 60 s / 300 s generation and per 3-gap completion on a 20 s
timeline (pins cut from a generated take), on every available device, plus the largest difference
between the CUDA and CPU outputs of the same seed. With ``--train``, training steps/s of each named
preset on the fastest device at its own batch and at 2x, 4x and 8x of it (until memory runs out),
with windows/s and the peak GPU memory, so a GPU run can pick the batch that fills the card.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csgn_core.editing.completion import fill, resample_gap  # noqa: E402
from csgn_core.editing.timeline import Pin, Timeline  # noqa: E402
from csgn_core.model.inference import generate, load_model  # noqa: E402


def _sync(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()


def _time(fn, dev: str, repeat: int = 3) -> float:
    fn()
    _sync(dev)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        _sync(dev)
        best = min(best, time.perf_counter() - t)
    return round(best, 4)


def train_speeds(presets: list[str], data: str, dev: str, steps: int = 6) -> list[dict]:
    from csgn_core.model.config import preset
    from csgn_core.model.train.run import fit_to_data
    from csgn_core.model.train.trainer import Trainer
    from csgn_core.model.train.windows import resolve_dataset

    ds = resolve_dataset(data)
    rows = []
    for name in presets:
        base = preset(name)[1].batch
        for k in (1, 2, 4, 8):
            mcfg, tcfg = preset(name)
            tcfg.batch = base * k
            tcfg.complete_batch *= k
            row = {"preset": name, "batch": tcfg.batch, "device": dev}
            try:
                tr = Trainer(mcfg, tcfg, fit_to_data(mcfg, ds, 0, say=False), seed=0, device=dev)
                if dev == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                for _ in range(2):
                    tr.train_step()
                _sync(dev)
                t = time.perf_counter()
                for _ in range(steps):
                    tr.train_step()
                _sync(dev)
                dt = (time.perf_counter() - t) / steps
                row.update(steps_per_s=round(1 / dt, 3), windows_per_s=round(tcfg.batch * max(tcfg.n_critic, 1) / dt, 1),
                           bf16=bool(tr.amp))
                if dev == "cuda":
                    row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
            except torch.OutOfMemoryError:
                row["error"] = "out of memory"
            except RuntimeError as e:  # a CPU allocation failure or another device error: record it, go on
                row["error"] = str(e)[:200]
            finally:
                tr = None
                if dev == "cuda":
                    torch.cuda.empty_cache()
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            if "error" in row:
                break
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--json")
    p.add_argument("--train", default="", help="comma-separated presets whose training speed to measure")
    p.add_argument("--data", default="tang-dance", help="dataset for --train")
    args = p.parse_args(argv)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out = {"model": args.model, "torch": torch.__version__, "devices": {}}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    results = {}
    for dev in devices:
        model = load_model(args.model, device=dev)
        src = generate(model, 20.0, seed=7)
        L = src.n_frames
        doc = Timeline(L, model.fps, "check", model.skeleton)
        n = int(2 * model.fps)
        for at in np.linspace(0, L - n, 4).astype(int):
            doc.add_pin(Pin(src, int(at), int(at) + n, int(at)))
        r = {
            "generate_60s_s": _time(lambda: generate(model, 60.0, seed=1), dev),
            "generate_300s_s": _time(lambda: generate(model, 300.0, seed=1), dev),
            "complete_3_gaps_20s_s": _time(lambda: fill(doc, model, seed=3), dev),
            "complete_refined_1s_s": _time(lambda: fill(doc, model, seed=3, refine_seconds=1.0), dev, repeat=1),
        }
        f = fill(doc, model, seed=3)
        doc.set_fill(f)
        r["resample_gap_s"] = _time(lambda: resample_gap(doc, model, doc.gaps()[1].start, seed=5), dev)
        results[dev] = generate(model, 60.0, seed=11).positions
        out["devices"][dev] = r
    if len(results) == 2:
        out["cuda_vs_cpu_max_cm"] = float(np.abs(results["cuda"] - results["cpu"]).max())
    if args.train:
        out["train"] = train_speeds([n.strip() for n in args.train.split(",") if n.strip()], args.data, devices[-1])
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
