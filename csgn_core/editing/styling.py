"""Tempo and energy of the generated spans (issue 17): how a gap's fill is drawn, not what it must meet.

**Tempo** sets the pace of the gap's moves in two parts: for a slower tempo the GP's length scales
stretched (``tempo_length_scale``: the latent, and so the move, changes more slowly), and of
``PACE_CANDIDATES`` draws the one whose joint speed is nearest the tempo's aim (``pick_pace``: the
quicker draws for a quicker tempo). A time-warp (the gap drawn at more or fewer frames and resampled)
was the first form, then a part of it; measured, it made the moves unlike any real dancer's sooner
than it changed their pace, and it is gone (``docs/results/tempo-energy.md``, session 13). Free takes
(``generate --tempo``) keep the length scale alone.
**Energy** scales the latent's amplitude over the gap's latent steps (1 under pins, ramped over one
latent step at each edge): how far the poses and steps reach; off 1 it also picks by pace.

Pure functions over frame ranges; ``completion.complete_problem`` calls them.
"""
from __future__ import annotations

import math

import numpy as np

from csgn_core.errors import CSGNError

DEFAULT = (1.0, 1.0)  # (tempo, energy)
TEMPO_RANGE = (0.5, 2.0)  # beyond these a gap's pace stops moving (2) or its moves stop reading as dance (0.5)
ENERGY_RANGE = (0.0, 2.0)


def check_style(tempo: float, energy: float) -> tuple[float, float]:
    """The pair as floats, or a CSGNError naming the value out of range."""
    for name, v, (lo, hi) in (("tempo", tempo, TEMPO_RANGE), ("energy", energy, ENERGY_RANGE)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
            raise CSGNError(f"{name} must be between {lo:g} and {hi:g}, got {v}")
    return float(tempo), float(energy)


# A tempo is met in parts (measured in docs/results/tempo-energy.md). The genre classifier's FID
# rose 1.55x at a pure time-warp of 1.25 but 1.17x when the same 1.2x joint speed came from picking the
# quickest of 8 draws: the model's own quicker draws look like real dancers, warped ones do not. Even
# a warp of tempo ** 0.25 under the pick cost the step-12,542 model 1.73x the default's FID at tempo
# 0.75 and 1.82x at 1.5 (session 13), 1.35x and 1.28x without it. Slower moves come cheapest from the
# GP itself (session 12: the length scales stretched by 1 / tempo ** 2, 0.89x joint speed at 1.06x the
# default's FID): a slow gap's pick takes its most typical draw.
PICK_SHARE = 0.55  # of log(tempo), what the pick aims for (quicker tempi)
SLOW_LENGTH_SHARE = 2.0  # a tempo under 1 divides the GP's length scales by tempo ** this
QUICK_LENGTH_SHARE = 2.0  # and one over 1, on a gap conditioned on its pins' latents
# A larger latent reaches further but, with the step-10,237 model, no quicker (session 12, a 12 s take's
# gap at energy 1.5: poses 1.14x as spread, joint speed 0.93x): a gap's energy over 1 also picks the
# livelier of its draws, as a quicker tempo does. With the step-12,542 model a smaller latent no longer
# calmed a gap enough (energy 0.5 at 0.92x the joint speed, session 13), so an energy under 1 picks the
# calmer draw the same way.
ENERGY_PICK_SHARE = 1.0
PACE_CANDIDATES = 4


def tempo_length_scale(tempo: float, conditioned: bool = False) -> float:
    """What the GP prior's length scales are divided by for a gap at ``tempo`` (``GPPriorConfig.with_tempo``):
    below 1 the latent changes more slowly; above 1 it stays on a free draw (the length scale did not
    quicken the model's moves, session 7) but shortens where the pins' latents are ``conditioned`` on:
    there the draws differ too little in pace for a pick alone (tempo 1.5 at 1.06x, session 17)."""
    if tempo < 1:
        return float(tempo) ** SLOW_LENGTH_SHARE
    return float(tempo) ** QUICK_LENGTH_SHARE if conditioned else 1.0


def is_paced(tempo: float, energy: float) -> bool:
    """Whether a gap at this style is picked from several draws by pace (``pick_pace``)."""
    return tempo != 1.0 or energy != 1.0


def pick_pace(speeds: list[float], tempo: float, energy: float = 1.0, conditioned: bool = False) -> int:
    """Of candidate draws of one gap, with these mean joint speeds, the index of the one nearest
    ``tempo ** PICK_SHARE * energy ** ENERGY_PICK_SHARE`` times their geometric mean (on a free draw a
    tempo under 1, which its length scale slows, adds nothing to the aim; where the pins' latents are
    ``conditioned`` on, the length scale alone slowed a gap too little: 0.6 at 0.86x)."""
    v = np.log(np.maximum(np.asarray(speeds, dtype=float), 1e-6))
    goal = v.mean() + (math.log(tempo) * PICK_SHARE if tempo > 1 or conditioned else 0.0)
    goal += math.log(max(energy, 1e-3)) * ENERGY_PICK_SHARE
    return int(np.argmin(np.abs(v - goal)))


def open_ranges(pinned: np.ndarray) -> list[tuple[int, int]]:
    """The unpinned ranges [start, stop) of a problem's (L,) pinned mask, in order."""
    from csgn_core.motion.ops import runs

    return [(int(a), int(b)) for a, b in runs(~np.asarray(pinned, dtype=bool))]


def energy_steps(energy: np.ndarray, step: int, radius: int, steps: int) -> np.ndarray:
    """(steps,) the latent's gain at each latent step, from (L,) per-frame energies: the mean over the
    step's frames, the margins taking the nearest step's value, smoothed over one step each way."""
    L = len(energy)
    inner = np.array([energy[i * step:min(L, (i + 1) * step)].mean() if i * step < L else energy[-1]
                      for i in range(steps - 2 * radius)])
    g = np.concatenate([np.full(radius, inner[0]), inner, np.full(steps - radius - len(inner), inner[-1])])
    if len(g) >= 3:
        g = np.convolve(np.pad(g, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return g
