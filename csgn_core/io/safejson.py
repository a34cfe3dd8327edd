"""JSON from files a user hands us: bounded size and nesting before the recursive parser runs."""
from __future__ import annotations

import json
import math


def loads_bounded(text: str, max_depth: int = 64, max_chars: int = 1 << 24):
    """``json.loads`` of text of at most ``max_chars`` characters nested at most ``max_depth`` levels;
    ValueError (with what was wrong) otherwise, never RecursionError."""
    if len(text) > max_chars:
        raise ValueError(f"{len(text)} characters, more than {max_chars}")
    depth = 0
    for ch in text:  # brackets inside strings only make the bound stricter
        if ch in "[{":
            depth += 1
            if depth > max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth} levels") from None


def is_number(v, lo: float = -math.inf, hi: float = math.inf, whole: bool = False) -> bool:
    """Whether a parsed JSON value is a finite number (not a bool) in [lo, hi], and a whole one if
    ``whole``: the one test every reader here applies to a number from a file."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        return False
    return not whole or int(v) == v
