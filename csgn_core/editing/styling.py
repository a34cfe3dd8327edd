"""Tempo and energy of the generated spans (issue 17): how a gap's fill is drawn, not what it must meet.

**Tempo** sets the pace of the gap's moves in parts: a time-warp (the model fills the gap at
``round(frames * tempo_warp(tempo))`` frames between the same pins, resampled back to the gap's
length), for a slower tempo the GP's length scales stretched (``tempo_length_scale``), and of
``PACE_CANDIDATES`` draws the one whose joint speed is nearest the rest of the tempo; a pure
time-warp was the first form and made the moves unlike any real dancer's sooner. The first tempo
control divided the GP prior's length scales only; measured, that only slowed the motion (0.70x
joint speed at 0.5, no change above 1: the generator sets the fast part of the motion itself,
`docs/results/tempo-energy.md`), so it serves slower tempi; free takes (``generate --tempo``) keep it alone.
**Energy** scales the latent's amplitude over the gap's latent steps (1 under pins, ramped over one
latent step at each edge): how far the poses and steps reach.

Pure functions over frame ranges; ``completion.complete_problem`` calls them.
"""
from __future__ import annotations

import math

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q

DEFAULT = (1.0, 1.0)  # (tempo, energy)
TEMPO_RANGE = (0.5, 2.0)  # a gap's time-warp: beyond these the moves stop reading as dance
ENERGY_RANGE = (0.0, 2.0)


def check_style(tempo: float, energy: float) -> tuple[float, float]:
    """The pair as floats, or a CSGNError naming the value out of range."""
    for name, v, (lo, hi) in (("tempo", tempo, TEMPO_RANGE), ("energy", energy, ENERGY_RANGE)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
            raise CSGNError(f"{name} must be between {lo:g} and {hi:g}, got {v}")
    return float(tempo), float(energy)


# A tempo is met in parts (measured in docs/results/tempo-energy.md): a time-warp of
# tempo ** WARP_SHARE and, of PACE_CANDIDATES draws, the one whose pace is nearest the rest. The
# genre classifier's FID rose 1.55x at a pure time-warp of 1.25 but 1.17x when the same 1.2x joint
# speed came from picking the quickest of 8 draws: the model's own quicker draws look like real
# dancers, warped ones do not. Slower moves come cheapest from the GP itself (session 12, at tempo
# 0.75 on whole takes: 0.89x joint speed at 1.06x the default's FID with the length scales stretched
# by 1 / tempo ** 2, against 0.80x at 1.60x from warp and pick): a slow gap stretches them by
# ``tempo_length_scale`` and warps a little, and its pick takes the most typical draw.
WARP_SHARE = 0.25
PICK_SHARE = 0.55  # of log(tempo), what the pick aims for beyond the warp (quicker tempi)
SLOW_LENGTH_SHARE = 2.0  # a tempo under 1 divides the GP's length scales by tempo ** this
# A larger latent reaches further but, with the step-10,237 model, no quicker (session 12, a 12 s take's
# gap at energy 1.5: poses 1.14x as spread, joint speed 0.93x): a gap's energy over 1 also picks the
# livelier of its draws, as a quicker tempo does.
ENERGY_PICK_SHARE = 1.0
PACE_CANDIDATES = 4


def tempo_warp(tempo: float) -> float:
    """The time-warp factor of a gap at ``tempo``."""
    return float(tempo) ** WARP_SHARE


def tempo_length_scale(tempo: float) -> float:
    """What the GP prior's length scales are divided by for a gap at ``tempo`` (``GPPriorConfig.with_tempo``):
    below 1 the latent changes more slowly; above 1 it stays (the length scale did not quicken the
    model's moves, session 7)."""
    return float(tempo) ** SLOW_LENGTH_SHARE if tempo < 1 else 1.0


def is_paced(tempo: float, energy: float) -> bool:
    """Whether a gap at this style is picked from several draws by pace (``pick_pace``)."""
    return tempo != 1.0 or energy > 1.0


def pick_pace(speeds: list[float], tempo: float, energy: float = 1.0) -> int:
    """Of candidate draws of one gap (each time-warped by ``tempo_warp(tempo)``), with these mean joint
    speeds, the index of the one nearest ``tempo ** PICK_SHARE * energy ** ENERGY_PICK_SHARE`` times
    their geometric mean (a tempo under 1, which its length scale slows, and an energy under 1, which
    the smaller latent calms, add nothing to the aim)."""
    v = np.log(np.maximum(np.asarray(speeds, dtype=float), 1e-6))
    goal = v.mean() + (math.log(tempo) * PICK_SHARE if tempo > 1 else 0.0)
    goal += math.log(energy) * ENERGY_PICK_SHARE if energy > 1 else 0.0
    return int(np.argmin(np.abs(v - goal)))


def open_ranges(pinned: np.ndarray) -> list[tuple[int, int]]:
    """The unpinned ranges [start, stop) of a problem's (L,) pinned mask, in order."""
    from csgn_core.motion.ops import runs

    return [(int(a), int(b)) for a, b in runs(~np.asarray(pinned, dtype=bool))]


def warp(length: int, gaps: list[tuple[int, int]], tempos: list[float]) -> tuple[int, list[tuple[int, int, int, int]]]:
    """(the warped problem's length, segments): every frame range of the problem in order as
    (start, stop, warped start, warped stop); a gap at tempo k takes ``round(n * k)`` warped frames
    (at least one), everything else keeps its length."""
    segs, cursor, w = [], 0, 0
    for (a, b), k in zip(gaps, tempos):
        if a > cursor:
            segs.append((cursor, a, w, w + a - cursor))
            w += a - cursor
        n = max(1, int(round((b - a) * k)))
        segs.append((a, b, w, w + n))
        cursor, w = b, w + n
    if cursor < length:
        segs.append((cursor, length, w, w + length - cursor))
        w += length - cursor
    return w, segs


def unwarp(rot: np.ndarray, root: np.ndarray, contacts: dict | None, length: int, segs) -> tuple:
    """The warped problem's frames back on the problem's own: kept ranges copied, warped gaps
    resampled (slerp rotations, linear root) with their ends aligned to the frames around them, so a
    gap's first and last frames follow on from its neighbours as the warped ones did."""
    W = len(rot)
    t = np.empty(length)
    for a, b, wa, wb in segs:
        n, nw = b - a, wb - wa
        if n == nw:
            t[a:b] = np.arange(wa, wb)
        else:  # frame a - 1 stays at wa - 1 and frame b at wb: n frames spread over the nw between
            t[a:b] = (wa - 1) + (np.arange(n) + 1) * (nw + 1) / (n + 1)
    t = np.clip(t, 0, W - 1)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, W - 1)
    w = t - i0
    out_rot = Q.slerp(rot[i0], rot[i1], w[:, None, None])
    out_root = root[i0] * (1 - w[:, None]) + root[i1] * w[:, None]
    near = np.clip(np.round(t).astype(int), 0, W - 1)
    out_contacts = None if contacts is None else {k: np.asarray(v)[near] for k, v in contacts.items()}
    return out_rot, out_root, out_contacts


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
