"""The FFTs the GP prior needs, from numpy: importing ``scipy.fft`` cost ``csgn generate`` 0.2 s of
its 2 s (issue 18), for transforms of at most a few thousand points that numpy's pocketfft does as
fast. ``workers`` is accepted for the callers' sake and ignored (numpy's FFT is single-threaded)."""
from __future__ import annotations

import numpy as np


def rfft(x, n=None, axis=-1, workers=None):
    return np.fft.rfft(x, n=n, axis=axis)


def irfft(x, n=None, axis=-1, workers=None, overwrite_x=False):
    return np.fft.irfft(x, n=n, axis=axis)


def next_fast_len(target: int, real: bool = True) -> int:
    """The smallest 5-smooth integer (factors 2, 3 and 5 only) >= target: what scipy's
    ``next_fast_len(target, real=True)`` returns, so circulant sizes, and with them the draws of a
    given seed, are the same as when the prior used scipy."""
    if target <= 1:
        return 1
    best = None
    p5 = 1
    while p5 < 2 * target:
        p35 = p5
        while p35 < 2 * target:
            # the smallest power of two that lifts p35 to target or beyond
            m = p35
            while m < target:
                m *= 2
            if best is None or m < best:
                best = m
            p35 *= 3
        p5 *= 5
    return best
