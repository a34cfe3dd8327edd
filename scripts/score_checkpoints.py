"""Score a run's checkpoints on what the completion issue measures, to pick one by evaluation rather
than by loss: inverse fidelity, G(H(x)) on withheld windows, free 60 s takes (`csgn eval motion`'s
goals) and gap fills against interpolation (`csgn eval infill`, no refinement, as the editor fills).

    python scripts/score_checkpoints.py RUN_OR_MODEL_DIR [...] [--every 1] [--windows 45] [--gaps 30,60]
        [--json out.json] [--conditions auto,prior,inverse]

Each checkpoint is exported to a temporary model folder first (G and H, as the trainer's model/).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.evaluation.infill import eval_infill, training_index  # noqa: E402
from csgn_core.evaluation.motion_check import evaluate_motion  # noqa: E402
from csgn_core.io.datasets import SPLITS  # noqa: E402
from csgn_core.model.config import ModelConfig, TrainConfig  # noqa: E402
from csgn_core.model.inference import export_model, load_model  # noqa: E402
from csgn_core.model.train.checkpoint import read_checkpoint  # noqa: E402
from csgn_core.model.train.trainer import Trainer
from csgn_core.model.train.windows import WindowSampler, resolve_dataset  # noqa: E402


def export(ck: Path, out: Path, data: str) -> Path:
    doc, _, _ = read_checkpoint(ck)
    mcfg, tcfg = ModelConfig.from_dict(doc["model"]), TrainConfig.from_dict(doc["train"])
    ds = resolve_dataset(data)
    tr = Trainer(mcfg, tcfg, WindowSampler(ds, mcfg.window, stats=mcfg.stats))
    tr.load(ck)
    return export_model(tr.inference_model(), out, extra={"step": tr.step, "data": data})


@torch.no_grad()
def reconstruction_cm(model, data: str, n: int = 64) -> float:
    """Mean joint error (cm, root-relative positions) of G(H(x)) on withheld windows of the model's length."""
    ds = resolve_dataset(data)
    clips = [ds.clip(int(c)) for c in np.nonzero(ds.clip_split == SPLITS.index("cls"))[0]]
    W, rng = model.cfg.window, np.random.default_rng(0)
    errs = []
    for _ in range(n):
        m = clips[int(rng.integers(len(clips)))]
        if m.n_frames < W:
            continue
        a = int(rng.integers(m.n_frames - W + 1))
        x = torch.from_numpy(model.codec.encode_motion(m.slice(a, a + W)))[None]
        rec = model.G(model.H(model.codec.critic_input(x)))
        p, q = model.codec.local_positions(model.codec.rotations(rec)), model.codec.local_positions(model.codec.rotations(x))
        errs.append(float((p - q).norm(dim=-1).mean()) * model.cfg.stats["pos_scale"])
    return float(np.mean(errs))


def score(folder: Path, data: str, windows: int, gaps: list[int], index, conditions=("auto",)) -> dict:
    model = load_model(folder)
    motion = evaluate_motion(str(folder), seconds=(60.0,), seeds=2, data=data)
    ds = resolve_dataset(data)
    clips = [ds.clip(int(c)) for c in np.nonzero(ds.clip_split == SPLITS.index("cls"))[0]]
    fills = {}
    for cond in conditions:  # the same windows and seeds for each path
        inf = eval_infill(model, clips, gaps, refine_seconds=0.0, max_windows=windows,
                          methods=("csgn-norefine", "interp"), index=index, condition=cond)
        rows = {(r["gap"], r["method"]): r for r in inf["rows"]}
        fills[cond] = {
            "uses_inverse": inf["uses_inverse"],
            "l2p_ratio": {g: rows[(g, "csgn-norefine")]["l2p_cm"] / rows[(g, "interp")]["l2p_cm"] for g in gaps},
            "gap_skate": {g: rows[(g, "csgn-norefine")]["skate_cms"] for g in gaps},
            "real_gap_skate": inf["real_skate"],
        }
    return {
        "inverse_fidelity": model.inverse_fidelity,
        "reconstruction_cm": reconstruction_cm(model, data),
        **fills[conditions[0]],
        "fills": fills,
        "goals": motion["check"]["goals"],
        "speed_ratios": [motion["check"]["root_speed_ratio"], motion["check"]["joint_speed_ratio"]],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--data", default="tang-dance")
    ap.add_argument("--every", type=int, default=1, help="score every Nth checkpoint (the newest always)")
    ap.add_argument("--windows", type=int, default=45)
    ap.add_argument("--gaps", default="30,60")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--conditions", default="auto",
                    help="completion paths to score the fills with, comma-separated: auto, inverse, prior")
    a = ap.parse_args()
    conditions = tuple(a.conditions.split(","))
    gaps = [int(g) for g in a.gaps.split(",")]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = None
        for run in a.runs:
            cks = sorted(p for p in (run / "checkpoints").glob("step-*") if p.is_dir())
            picked = cks[::a.every] + ([cks[-1]] if cks and cks[-1] not in cks[::a.every] else [])
            if not cks and (run / "config.json").is_file():
                picked = [run]  # a model folder (a bundled model, to compare with)
            for ck in picked:
                folder = ck if ck is run else export(ck, Path(tmp) / run.name / ck.name, a.data)
                if index is None:
                    index = training_index([a.data], str(folder), load_model(folder))
                res = score(folder, a.data, a.windows, gaps, index, conditions)
                out[f"{run.name}/{ck.name}"] = res
                g = res["goals"]
                print(f"{run.name}/{ck.name}: fidelity {res['inverse_fidelity']:.2f}, G(H(x)) {res['reconstruction_cm']:.1f} cm, "
                      "L2P/interp " + "; ".join(c + " " + " ".join(f"{k}:{v:.2f}" for k, v in f["l2p_ratio"].items())
                                           for c, f in res["fills"].items()) +
                      f", skate ratio {g.get('skating_ratio', float('nan')):.2f}, planted {g.get('planted_ratio', float('nan')):.2f}, "
                      f"travel {g.get('travel_max_m', float('nan')):.1f} m, acc {g.get('acceleration_ratio', float('nan')):.2f}, "
                      f"flips {g.get('waist_flips')}, speeds {res['speed_ratios'][0]:.2f}/{res['speed_ratios'][1]:.2f}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
