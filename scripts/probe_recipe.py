"""Probe a training recipe for a few hundred steps from scratch: does H come to invert G?

Prints, every ``--every`` steps, the inverse fidelity (correlation of H(G(z)) with z), G(H(x)) on
withheld windows (cm), the window Frechet distance and the step's loss terms, so two recipes can be
compared in minutes of CPU rather than a whole run. One thread by default.

    python scripts/probe_recipe.py --steps 300 --every 50 --train-set adversarial=0.1 --train-set cycle_z_mse=true
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from score_checkpoints import reconstruction_cm  # noqa: E402

from csgn_core.model.config import preset  # noqa: E402
from csgn_core.model.inference import measure_inverse_fidelity  # noqa: E402
from csgn_core.model.train.quality import quick_fd  # noqa: E402
from csgn_core.model.train.run import fit_to_data  # noqa: E402
from csgn_core.model.train.trainer import Trainer  # noqa: E402
from csgn_core.model.train.windows import resolve_dataset  # noqa: E402


def build(args) -> Trainer:
    ds = resolve_dataset(args.data)
    mcfg, tcfg = preset(args.preset)
    for text in args.set:
        mcfg.override(text)
    for text in args.train_set:
        tcfg.override(text)
    return Trainer(mcfg, tcfg, fit_to_data(mcfg, ds, args.seed), seed=args.seed)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="tang-dance")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--train-set", action="append", default=[])
    p.add_argument("--save", help="save the trainer's checkpoint here at the end")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tr = build(args)
    t0, acc = time.time(), {}
    for _ in range(args.steps):
        m = tr.train_step()
        for k, v in m.items():
            acc.setdefault(k, []).append(v)
        if tr.step % args.every == 0:
            with torch.no_grad():
                model = tr.inference_model()
                row = {"step": tr.step, "min": round((time.time() - t0) / 60, 1),
                       "fidelity": round(measure_inverse_fidelity(model), 3),
                       "recon_cm": round(reconstruction_cm(model, args.data, 32), 1),
                       "fd": round(quick_fd(tr.G, tr.prior, tr.codec, tr.sampler), 2)}
            row.update({k: round(float(np.mean(v)), 4) for k, v in acc.items() if k != "step"})
            print(json.dumps(row), flush=True)
            acc = {}
    if args.save:
        tr.save(Path(args.save))
    return 0


if __name__ == "__main__":
    sys.exit(main())
