"""What every ``csgn`` command shares: options from a list or a namespace, JSON-safe results."""
from __future__ import annotations

import math


def parse_namespace(args, parser_fn):
    """``args`` as parsed options: a list of strings is parsed with a parser that ``parser_fn`` fills
    (how the ``*_main`` entry points take a list in tests); a namespace passes through."""
    if isinstance(args, (list, tuple)):
        import argparse

        p = argparse.ArgumentParser()
        parser_fn(p)
        return p.parse_args(list(args))
    return args


def finite_json(x):
    """JSON-safe copy: NaN (a metric with nothing to measure) becomes null."""
    if isinstance(x, dict):
        return {k: finite_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [finite_json(v) for v in x]
    return None if isinstance(x, float) and not math.isfinite(x) else x


def add_npz_compression(p) -> None:
    """The ``--npz-compression`` option of the commands that write motion files."""
    p.add_argument("--npz-compression", choices=["none", "fast", "best"], default="none",
                   help="zlib level of an .npz output (default none: a 5-minute take is 4%% larger and written "
                        "in 0.01 s instead of 0.17 s)")
