"""``csgn eval motion``: parse, check long takes against real dances, print; exit status 1 when the check fails.
"""
from __future__ import annotations

import json
import sys

from csgn_core.errors import CSGNError
from csgn_core.evaluation.motion_check import evaluate_motion, format_report


def add_eval_motion_args(p) -> None:
    p.add_argument("--model", default="dance", help="bundled model name (dance, actions) or a model/run folder")
    p.add_argument("--seconds", default="60,300", help="comma-separated take lengths")
    p.add_argument("--seeds", type=int, default=3, help="takes per length (seeds 0..N-1)")
    p.add_argument("--data", help="dataset name or built .npz (default: the one the model was trained on)")
    p.add_argument("--split", default="cls", help="real clips to compare with (cls: withheld from the generator)")
    p.add_argument("--json", action="store_true")


def eval_motion_main(args) -> int:
    """``csgn eval motion``: exit status 0 when the check passes, 1 when it fails."""
    from csgn_core.cli.common import parse_namespace

    a = parse_namespace(args, add_eval_motion_args)
    try:
        seconds = tuple(float(s) for s in str(a.seconds).split(",") if s.strip())
    except ValueError:
        raise CSGNError(f"--seconds {a.seconds!r}: expected numbers separated by commas") from None
    res = evaluate_motion(a.model, seconds, a.seeds, a.data, a.split)
    print(json.dumps(res, indent=1) if a.json else format_report(res), file=sys.stdout)
    return 0 if res["check"]["passed"] else 1
