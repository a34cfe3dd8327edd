"""What every ``csgn`` command shares: options from a list or a namespace, JSON-safe results."""
from __future__ import annotations

import numpy as np


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
    return None if isinstance(x, float) and not np.isfinite(x) else x
