"""Fit a checkpoint's H to its frozen G (``csgn_core.model.train.invert``) and save the result as a
new checkpoint (with ``model/``) in OUT_RUN, for ``scripts/score_checkpoints.py`` and bundling.

    python scripts/fit_inverse.py CHECKPOINT OUT_RUN [--data tang-dance] [--minutes 25] [--lr 3e-4]
        [--weight-x 0.5] [--job] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.model.config import ModelConfig, TrainConfig  # noqa: E402
from csgn_core.model.train.checkpoint import read_checkpoint  # noqa: E402
from csgn_core.model.train.invert import fit_inverse  # noqa: E402
from csgn_core.model.train.trainer import Trainer  # noqa: E402
from csgn_core.model.train.windows import WindowSampler, resolve_dataset  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", default="tang-dance")
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--weight-x", type=float, default=0.5)
    ap.add_argument("--job", action="store_true", help="also train H on the completion job (pins through H)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    doc, _, _ = read_checkpoint(a.checkpoint)
    mcfg, tcfg = ModelConfig.from_dict(doc["model"]), TrainConfig.from_dict(doc["train"])
    tr = Trainer(mcfg, tcfg, WindowSampler(resolve_dataset(a.data), mcfg.window, stats=mcfg.stats), seed=a.seed,
                 data_name=a.data)
    tr.load(a.checkpoint)
    a.out.mkdir(parents=True, exist_ok=True)
    with open(a.out / "fit_inverse.jsonl", "a", encoding="utf-8") as log:
        def write(step: int, m: dict) -> None:
            if step % 50 == 0:
                log.write(json.dumps({"step": step, **{k: round(v, 5) for k, v in m.items()}}) + "\n")
                log.flush()
        fit_inverse(tr, minutes=a.minutes, lr=a.lr, weight_x=a.weight_x, job=a.job, log=write)
    print(tr.save(a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
