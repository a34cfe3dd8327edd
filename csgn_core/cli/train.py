"""``csgn train``: the trainer's options (also ``torchrun -m csgn_core.cli.train``), parsed into a
``TrainRun`` for the CSGN or the acLSTM trainer.
"""
from __future__ import annotations

import argparse
import sys

from csgn_core.errors import CSGNError
from csgn_core.model.config import PRESETS
from csgn_core.model.train.run import TrainRun


# --- command line ---------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csgn train", description="train CSGN (WGAN-GP with the GP latent prior)")
    p.add_argument("--data", required=True, help="dataset name (tang-dance, bandai-actions, kinect-actions) or built .npz")
    p.add_argument("--preset", default="cpu", choices=sorted([*PRESETS, "aclstm"]),
                   help="network and training size (aclstm: the autoregressive baseline, docs/baseline.md)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, model/, metrics.jsonl, samples, tb")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, help="stop at this total step count")
    p.add_argument("--minutes", type=float, help="stop after this many minutes of this run")
    p.add_argument("--gp-target", type=float, help="gradient norm the penalty pulls towards (paper 0.1)")
    p.add_argument("--batch", type=int, help="windows per batch (per process)")
    p.add_argument("--n-critic", type=int, help="critic updates per generator update")
    p.add_argument("--cycle-x-g", type=float, help="share of the G(H(x)) reconstruction gradient that reaches G")
    p.add_argument("--cycle-z-g", type=float, help="share of the H(G(z)) cycle gradient that reaches G (keeps z "
                                                   "recoverable, so H can invert G)")
    p.add_argument("--sigma-bar", type=float, help="base length scale of the GP prior, latent steps")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model setting of the preset (repeatable), e.g. gp_mode=white")
    p.add_argument("--train-set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a training setting (repeatable), e.g. latent_moments=1 or mirror=true; "
                        "a run resumed from an older checkpoint takes the new recipe this way")
    p.add_argument("--checkpoint-minutes", type=float, help="minutes between checkpoints (and quality scores)")
    p.add_argument("--sample-minutes", type=float, help="minutes between sample plots")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    return p


def train_main(argv: list[str] | None = None) -> int:
    """Entry point of ``csgn train`` (and ``python -m csgn_core.cli.train``)."""
    args = parser().parse_args(argv)
    opts = TrainRun(**vars(args))
    if opts.preset == "aclstm":
        from csgn_core.model.baseline.aclstm_train import train_aclstm

        return train_aclstm(opts)
    from csgn_core.model.train.run import train

    return train(opts)


if __name__ == "__main__":
    try:
        sys.exit(train_main(sys.argv[1:]))
    except CSGNError as e:
        print(f"csgn train: error: {e}", file=sys.stderr)
        sys.exit(2)
