"""The long fuzz run of every file format the product reads (docs/reliability.md): mutations of valid
files, with seeds the test suite does not use, fed to the project's own readers; then a sample of
them through the command line (``csgn info`` / ``convert`` / ``complete --plan`` / ``generate``).

    python benchmarks/fuzz_files.py [--cases 2000] [--cli 40] [--seed 1000] [--only bvh,vmd]

Prints, per format, a Markdown row: tried, read fine, clean errors, crashes (other exceptions, by
type), memory blow-ups (over 300 MB of Python allocations), hangs (over 5 s); and for the CLI sample
how many exited 2 with one line naming the file.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.cli import main as csgn  # noqa: E402
from csgn_core.errors import CSGNError  # noqa: E402
from tests.core import test_fuzz_files as F  # noqa: E402
from tests.core import test_fuzz_formats as G  # noqa: E402
from tests.core.helpers import random_motion, toy_model, toy_skeleton  # noqa: E402


def formats(tmp: Path) -> dict:
    """name -> (valid bytes, mutate(rng, bytes), file name, read(path), CLI args for a path)."""
    from csgn_core.editing.plan import read_plan
    from csgn_core.editing.project import load_project, save_project
    from csgn_core.editing.timeline import Pin, Timeline
    from csgn_core.io import load_motion
    from csgn_core.io.npz import npz_bytes
    from csgn_core.model.inference import export_model, load_model

    sk = toy_skeleton()
    rng = np.random.default_rng(0)
    doc = Timeline(90, 30.0, "dance", sk)
    doc.pins = [Pin(random_motion(sk, 30, seed=1), 0, 30, 10, label="a")]
    project = save_project(doc, tmp / "good.csgnproj").read_bytes()
    model_dir = export_model(toy_model(), tmp / "good_model")
    plan = json.dumps({"format": "csgn-plan", "model": "dance", "seconds": 4, "seed": 1,
                       "pins": [{"file": "a.npz", "start": 0, "end": 29, "at": 10}]}).encode()
    config = (model_dir / "config.json").read_bytes()
    weights = (model_dir / "model.safetensors").read_bytes()

    def in_model(member: str):
        def read(path: Path):
            d = tmp / "fuzz_model"
            shutil.copytree(model_dir, d, dirs_exist_ok=True)
            shutil.copy(path, d / member)
            load_model(d)
        return read

    return {
        "bvh": (Path(G.write_bvh(random_motion(sk, 30, seed=2), tmp / "a.bvh")).read_bytes(), G.mutate_text,
                "fuzz.bvh", load_motion, ["info"]),
        "msr": (G._msr_text(rng), G.mutate_text, "a01_s01_e01_skeleton3D.txt", load_motion, ["info"]),
        "utkinect": (G._ut_text(rng), G.mutate_text, "joints_s01_e01.txt", load_motion, ["info"]),
        "vmd": (G._vmd_good(tmp), G.mutate_binary, "fuzz.vmd", load_motion, ["info"]),
        "tang": (G._tang_dance(tmp), G.mutate_text, "skeletons.json", load_motion, ["info"]),
        "npz": (npz_bytes(random_motion(sk, 60, seed=0)), lambda r, d: F._mutate(r, d, None), "fuzz.npz",
                load_motion, ["info"]),
        "project": (project, F.mutate_project, "fuzz.csgnproj", load_project, ["export", "{}", str(tmp / "o.bvh")]),
        "plan": (plan, lambda r, d: F._json_edit(r, d) if r.random() < 0.5 else G.mutate_text(r, d), "plan.json",
                 read_plan, ["complete", "--plan", "{}", "-o", str(tmp / "o.npz")]),
        "model config": (config, G.mutate_text, "config.json", in_model("config.json"),
                         ["generate", "--model", "{dir}", "--seconds", "1", "-o", str(tmp / "o.npz")]),
        "safetensors": (weights, G.mutate_weights, "model.safetensors", in_model("model.safetensors"),
                        ["generate", "--model", "{dir}", "--seconds", "1", "-o", str(tmp / "o.npz")]),
    }


def run_format(name, spec, cases: int, seed: int, tmp: Path) -> dict:
    good, mutate, fname, read, _ = spec
    rng = np.random.default_rng(seed)
    folder = tmp / f"f_{name.replace(' ', '_')}"
    folder.mkdir(exist_ok=True)
    path = folder / fname
    counts, crashes = Counter(), Counter()
    tracemalloc.start()
    for _ in range(cases):
        path.write_bytes(mutate(rng, good))
        tracemalloc.reset_peak()
        t = time.perf_counter()
        try:
            read(path)
            counts["read"] += 1
        except CSGNError as e:
            counts["clean" if "\n" not in str(e) and fname in str(e) or name in ("model config", "safetensors")
                   else "unclear"] += 1
        except Exception as e:  # noqa: BLE001 (what the run counts)
            crashes[type(e).__name__] += 1
        if time.perf_counter() - t > 5.0:
            counts["hang"] += 1
        if tracemalloc.get_traced_memory()[1] > 300 << 20:
            counts["blowup"] += 1
    tracemalloc.stop()
    return {"tried": cases, **counts, "crashes": dict(crashes)}


def run_cli(name, spec, n: int, seed: int, tmp: Path) -> tuple[int, int]:
    good, mutate, fname, _, args = spec
    if args is None:
        return 0, 0
    rng = np.random.default_rng(seed + 1)
    folder = tmp / f"c_{name.replace(' ', '_')}"
    folder.mkdir(exist_ok=True)
    if "{dir}" in args:  # a model folder: the good one with this member mutated
        shutil.copytree(tmp / "good_model", folder, dirs_exist_ok=True)
    path = folder / fname
    clean = 0
    for _ in range(n):
        path.write_bytes(mutate(rng, good))
        argv = [a.replace("{dir}", str(folder)).format(path) for a in args] + ([str(path)] if args == ["info"] else [])
        named = folder.name if "{dir}" in args else fname
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = csgn(argv)
            except SystemExit as e:
                rc = e.code
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        # A plan that reads fine may name a pin file that is not there: that file is the one to name.
        clean += rc == 0 or (rc == 2 and len(lines) == 1 and (named in lines[0] or "a.npz: no such file" in lines[0]))
    return clean, n


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=2000)
    p.add_argument("--cli", type=int, default=40, help="cases per format through the command line")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--only", help="comma-separated format names")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        specs = formats(tmp)
        only = set(a.only.split(",")) if a.only else None
        print("| format | tried | read | clean errors | crashes | blow-ups | hangs | CLI: exit 2, one line |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        for name, spec in specs.items():
            if only and name not in only:
                continue
            r = run_format(name, spec, a.cases, a.seed, tmp)
            ok, n = run_cli(name, spec, a.cli, a.seed, tmp)
            crashes = ", ".join(f"{k} {v}" for k, v in r["crashes"].items()) or "0"
            cli = f"{ok}/{n}" if n else "n/a"
            unclear = f" (+{r['unclear']} not naming the file)" if r.get("unclear") else ""
            print(f"| {name} | {r['tried']} | {r.get('read', 0)} | {r.get('clean', 0)}{unclear} | {crashes} | "
                  f"{r.get('blowup', 0)} | {r.get('hang', 0)} | {cli} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
