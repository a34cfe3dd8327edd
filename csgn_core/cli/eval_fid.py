"""``csgn eval fid``: parse, score the sources, print the table or JSON.
"""
from __future__ import annotations

import json

from csgn_core.cli.common import finite_json
from csgn_core.evaluation.fid import evaluate, format_table


def add_eval_fid_args(p) -> None:
    p.add_argument("--model", default=None, help="bundled model name (dance, actions) or a model/run folder")
    p.add_argument("--baseline", action="append", default=[], metavar="MODEL",
                   help="another model scored in the same run (an acLSTM folder, a CSGN run); repeatable")
    p.add_argument("--data", help="dataset name or built .npz (default: the one the model was trained on)")
    p.add_argument("--classifier", help="bundled classifier (dance, actions, kinect) or a folder (default: the dataset's)")
    p.add_argument("--n", type=int, default=200, help="sequences per source (N)")
    p.add_argument("--m", type=int, default=20, help="32-frame snippets per sequence (M)")
    p.add_argument("--seed", type=int, default=0, help="sequence i uses seed + i")
    p.add_argument("--ref-snippets", type=int, default=4000, help="real snippets for the reference statistics")
    p.add_argument("--sanity", action="store_true", help="also score real (gen split), frozen and shuffled sequences")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def eval_fid_main(args) -> int:
    """``csgn eval fid --model M [--baseline OTHER] [--data NAME_OR_NPZ] [--classifier C] [--n 200] [--m 20]
    [--seed K] [--sanity] [--json]``."""
    import sys

    from csgn_core.cli.common import parse_namespace

    a = parse_namespace(args, add_eval_fid_args)
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    if a.model is None and not a.baseline and not a.sanity:
        a.model = "dance"
    res = evaluate(a.model, a.baseline, a.data, a.classifier, a.n, a.m, a.seed, a.sanity, a.ref_snippets,
                   progress=None if a.json else (lambda s: print(s, end="\r", file=sys.stderr)))
    if a.json:
        print(json.dumps(finite_json(res), indent=1))
    else:
        print(" " * 60, end="\r", file=sys.stderr)
        print(format_table(res))
    return 0
