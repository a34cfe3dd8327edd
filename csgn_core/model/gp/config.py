"""Settings of the GP latent prior: the spectrum of length scales per channel and its modes (Table 3's
ablations), checked on construction.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from csgn_core.errors import CSGNError

MODES = ("spectrum", "single", "range", "white", "constant")


class GPPriorError(CSGNError, ValueError):
    """A GP prior configuration or a sampling request is invalid."""


def _as_float_or_none(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass(frozen=True)
class GPPriorConfig:
    """Length scales of the latent GP prior, in latent steps.

    mode "spectrum": sigma_c = (c / channels) * sigma_bar, c = 1..channels (the paper).
    mode "single": every channel uses `sigma` (0 means white, inf means constant).
    mode "range": sigma spaced linearly from sigma_min (channel 1) to sigma_max (last channel).
        Linear, because that is how the paper's spectrum is spaced: range(sigma_bar / C, sigma_bar)
        is exactly spectrum(sigma_bar), and Table 3's "0 ~ s" entries are such ranges.
    mode "white": sigma = 0, independent N(0, 1) per step.
    mode "constant": sigma = inf, one N(0, 1) per channel repeated over time.
    `jitter` is the diagonal added to K_KK when conditioning (the variance of the implied
    observation noise); it must be > 0.
    """

    channels: int = 1024
    sigma_bar: float = 100.0
    mode: str = "spectrum"
    sigma: float | None = None
    sigma_min: float | None = None
    sigma_max: float | None = None
    jitter: float = 1e-6

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", str(self.mode).lower())
        try:
            object.__setattr__(self, "channels", int(self.channels))
            object.__setattr__(self, "sigma_bar", float(self.sigma_bar))
            object.__setattr__(self, "jitter", float(self.jitter))
            for name in ("sigma", "sigma_min", "sigma_max"):
                object.__setattr__(self, name, _as_float_or_none(getattr(self, name)))
        except (TypeError, ValueError) as e:
            raise GPPriorError(f"GP prior: bad number in configuration ({e})") from None
        if self.mode not in MODES:
            raise GPPriorError(f"GP prior: unknown mode {self.mode!r} (choose from {', '.join(MODES)})")
        if self.channels < 1:
            raise GPPriorError(f"GP prior: channels must be >= 1, got {self.channels}")
        if not (math.isfinite(self.jitter) and self.jitter > 0):
            raise GPPriorError(f"GP prior: jitter must be a finite number > 0, got {self.jitter}")
        if self.mode == "spectrum" and not (math.isfinite(self.sigma_bar) and self.sigma_bar >= 0):
            raise GPPriorError(f"GP prior: sigma_bar must be finite and >= 0, got {self.sigma_bar}")
        if self.mode == "single":
            if self.sigma is None or math.isnan(self.sigma) or self.sigma < 0:
                raise GPPriorError(f"GP prior: mode 'single' needs sigma >= 0 (inf allowed), got {self.sigma}")
        if self.mode == "range":
            lo, hi = self.sigma_min, self.sigma_max
            if lo is None or hi is None:
                raise GPPriorError("GP prior: mode 'range' needs sigma_min and sigma_max")
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
                raise GPPriorError(f"GP prior: mode 'range' needs 0 <= sigma_min <= sigma_max < inf, got {lo}, {hi}")

    def sigmas(self) -> np.ndarray:
        """Length scale of each channel, (C,) float64 (0 = white, inf = constant)."""
        C = self.channels
        if self.mode == "spectrum":
            return np.arange(1, C + 1, dtype=np.float64) / C * self.sigma_bar
        if self.mode == "single":
            return np.full(C, self.sigma, dtype=np.float64)
        if self.mode == "range":
            if C == 1:
                return np.array([self.sigma_max], dtype=np.float64)
            return np.linspace(self.sigma_min, self.sigma_max, C)
        if self.mode == "white":
            return np.zeros(C)
        return np.full(C, np.inf)

    def with_tempo(self, tempo: float) -> "GPPriorConfig":
        """The same prior with every length scale divided by ``tempo``: at 2 the latent, and with it the
        motion, changes twice as quickly (the paper's Figure 3); white and constant channels stay so."""
        from dataclasses import replace

        t = float(tempo)
        if not (math.isfinite(t) and t > 0):
            raise GPPriorError(f"tempo must be a finite number > 0, got {tempo}")
        scaled = {k: (None if v is None else v / t) for k, v in
                  (("sigma", self.sigma), ("sigma_min", self.sigma_min), ("sigma_max", self.sigma_max))}
        return replace(self, sigma_bar=self.sigma_bar / t, **scaled)

    def to_dict(self) -> dict:
        """Plain JSON-safe dict (an infinite sigma is written as the string "inf")."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = str(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GPPriorConfig":
        """Inverse of `to_dict`; unknown keys are ignored so that older readers accept newer files."""
        if not isinstance(d, dict):
            raise GPPriorError(f"GP prior: configuration must be a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def check_T0(T0: Any) -> int:
    try:
        t = int(T0)
    except (TypeError, ValueError):
        raise GPPriorError(f"GP prior: T0 must be an integer, got {T0!r}") from None
    if t != T0 or t < 1:
        raise GPPriorError(f"GP prior: T0 must be an integer >= 1, got {T0!r}")
    return t


def check_n(n: Any) -> int:
    try:
        k = int(n)
    except (TypeError, ValueError):
        raise GPPriorError(f"GP prior: n must be an integer, got {n!r}") from None
    if k != n or k < 0:
        raise GPPriorError(f"GP prior: n must be an integer >= 0, got {n!r}")
    return k
