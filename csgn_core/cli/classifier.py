"""Train the action classifier the FID and IS read: ``python -m csgn_core.cli.classifier DATASET OUT``."""
from __future__ import annotations

import argparse
import json

from csgn_core.evaluation.classifier import train_classifier


def train_main(argv: list[str] | None = None) -> int:
    """``python -m csgn_core.cli.classifier DATASET OUT [--minutes M] [--seed K]``."""
    p = argparse.ArgumentParser(prog="python -m csgn_core.cli.classifier")
    p.add_argument("dataset", help="dataset name or built .npz")
    p.add_argument("out", help="output folder")
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    rep = train_classifier(a.dataset, a.out, a.minutes, a.seed, threads=a.threads, progress=print)
    print(json.dumps({k: v for k, v in rep.items() if k != "heldout_clips"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(train_main())
