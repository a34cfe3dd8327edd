"""Conditional sampling (paper section 4): fill the gaps between pinned segments, predict, resample.

Completion follows the paper's factorisation p(z | x_K) ~ p(z_U | z_K) p(z_K | x_K):

1. every pin is encoded with the inverse network H; the latent steps whose S-frame span lies inside
   the pin are the observed steps z_K (steps straddling a pin's edge are left to the GP). A model
   whose H does not invert its G skips this and the next step's conditioning (``uses_inverse``);
2. the rest of the latent is drawn from the GP prior conditioned on z_K (Matheron's rule, exact at
   the observed steps), with the generator's receptive radius of extra steps on both sides so the
   result does not end at G's zero-padded borders;
3. optionally the latent steps that touch pinned frames are refined for a bounded time so that G
   reproduces the pins (this is also what honours pins too short for H, such as one keyframe);
4. G decodes the whole latent and the pins are spliced back in exactly (``splice``);
5. gaps between two pins shorter than ``inbetween.SPLINE_SECONDS[1]`` blend in a cubic Hermite
   in-between by their length (``inbetween.blend_short_gaps``): short gaps are transitions.

Resampling one gap solves the same problem on a local window whose "pins" are the previous fill's
frames around the gap, then copies only the gap's frames into a copy of the previous fill, so every
frame outside the gap stays bit-identical.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from csgn_core.editing.splice import BLEND_SECONDS, splice
from csgn_core.editing.styling import DEFAULT as DEFAULT_STYLE
from csgn_core.editing.styling import (
    PACE_CANDIDATES,
    energy_steps,
    is_paced,
    open_ranges,
    pick_pace,
    tempo_length_scale,
)
from csgn_core.editing.timeline import Fill, Pin, Timeline
from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.inbetween import (
    blend_short_gaps,
    gap_spline_weight,
)

Progress = Callable[[float, str], None] | None
Cancel = Callable[[], bool] | None
CONDITIONS = ("auto", "inverse", "prior")
MIN_INVERSE_FIDELITY = 0.5  # below this H's latents of the pins are not used (``uses_inverse``)


class Cancelled(CSGNError):
    """The caller's cancel hook asked the sampler to stop."""


# --- pins onto the model --------------------------------------------------------------------------------
def conform(motion: Motion, model, *, resample_fps: bool = True) -> Motion:
    """A motion on the model's skeleton (retargeted through a joint map if needed) and, if asked, at its fps."""
    from csgn_core.motion.ops import resample

    if not motion.skeleton.same_topology(model.skeleton):
        from csgn_core.motion.retarget import to_model
        motion = to_model(motion, model.skeleton)
    elif not motion.has_rotations:
        from csgn_core.motion.solve import positions_to_rotations
        motion = positions_to_rotations(motion, model.skeleton)
    if resample_fps and abs(motion.fps - model.fps) > 1e-6:
        motion = resample(motion, model.fps)
    return motion


def _pin_frames(pin: Pin, model) -> Motion:
    src = pin.frames()
    if abs(src.fps - model.fps) > 1e-6:
        raise CSGNError(f"pin {pin.label or pin.id}: its source runs at {src.fps:g} fps but the model at "
                        f"{model.fps:g}; resample the source before pinning it")
    return conform(src, model, resample_fps=False)


# --- the core -------------------------------------------------------------------------------------------
@dataclass
class Problem:
    length: int
    pins: list[tuple[int, Motion]]  # (timeline frame, motion on the model skeleton at the model's fps)
    blends: list[float | None] | None = None  # per pin, seconds of its edge blend (None: the default)


def _check(cancel: Cancel) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def _report(progress: Progress, f: float, msg: str) -> None:
    if progress is not None:
        progress(float(min(max(f, 0.0), 1.0)), msg)


def uses_inverse(model, condition: str = "auto") -> bool:
    """Whether completion conditions the prior on H's latents of the pins (steps 1-2 above).

    ``condition``: "inverse" always, "prior" never, "auto" as the model's config measured
    (``completion_condition``: the path whose held-out fills scored better, ``csgn eval infill``),
    or, for a model without that record, when ``model.inverse_fidelity`` reaches
    ``MIN_INVERSE_FIDELITY``. An H that does not invert G (the first bundled models': H(G(z))
    correlated about 0.1 with z) maps real motion to latents G never sees when it samples freely;
    conditioning on them made gap fills worse than a free prior sample (L2P about 10% higher, feet
    sliding 10-30% more: ``docs/results/infill.md``), so such a model's pins enter through the
    refinement and the splice alone.
    """
    if condition not in CONDITIONS:
        raise CSGNError(f"condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")
    if condition == "auto":
        measured = getattr(model, "completion_condition", None)
        if measured is not None:
            return measured == "inverse"
        return model.inverse_fidelity >= MIN_INVERSE_FIDELITY
    return condition == "inverse"


def complete_problem(model, prob: Problem, seed, refine_seconds: float = 0.0, progress: Progress = None,
                     cancel: Cancel = None, blend: int | None = None, condition: str = "auto",
                     styles: list[tuple[float, float]] | None = None, energy: np.ndarray | None = None,
                     spread: float | np.ndarray | None = None, candidates: int = PACE_CANDIDATES,
                     prior=None, wanted: list[bool] | None = None,
                     frames: tuple[int, int] | None = None,
                     draws: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
    """(rotations (L, J, 4), root (L, 3), pinned (L,), contacts) of the completed problem; contacts
    are the generator's foot-contact flags {joint: (L,) bool} (None for a model without them).

    ``styles``: (tempo, energy) of each unpinned range of the problem in order (styling.py; a range
    at a tempo of its own is picked from ``candidates`` draws by pace);
    ``energy``: the latent's gain per frame (L,), which ``styles`` sets for each range.
    ``spread``: how far the latent strays from the GP's conditional mean given the pins' latents (1: a
    sample; 0: the mean, the GP's own interpolation between them; only where the pins were encoded),
    one value or one per frame (L,): a morphing gap's frames have their own (``Gap.morph``). None: the
    model's ``gap_spread`` in every gap between two pins, 1 elsewhere (``pinned_gap_spread``).
    ``prior``: the GP prior the latent is drawn from (the model's own by default; a slow tempo's
    stretches its length scales).
    ``wanted``: per unpinned range, whether its frames will be used (None: all); a range that will not
    is not picked for by pace (``fill_stale`` keeps the current gaps' old frames).
    ``frames``: (lo, hi), the only frames the caller reads: the latent is drawn for the whole problem,
    G decodes only the steps those frames need (and the splice runs on them, the pins cut to them),
    and the four arrays cover frames lo .. hi - 1. Choose them to hold every seam whose correction
    reaches the frames wanted (``frames_for``).
    ``draws``: at the default style, each unpinned range is taken from the one of this many draws
    whose feet slide least there (``_pick_planted``)."""

    if spread is None:
        spread = pinned_gap_spread(model, prob)
    if styles is not None and any(tuple(s) != DEFAULT_STYLE for s in styles):
        out = _complete_styled(model, prob, seed, refine_seconds, progress, cancel, blend, condition, styles,
                               spread, candidates, wanted)
        return out if frames is None else _cut(out, *frames)
    if draws > 1:
        out = _pick_planted(model, prob, seed, int(draws), refine_seconds, progress, cancel, blend, condition,
                            spread, prior, wanted)
        return out if frames is None else _cut(out, *frames)

    return _draws(model, prob, [seed], refine_seconds, progress, cancel, blend, condition, energy, spread, prior,
                  frames)[0]


def _draws(model, prob: Problem, seeds: list, refine_seconds: float = 0.0, progress: Progress = None,
           cancel: Cancel = None, blend: int | None = None, condition: str = "auto", energy=None,
           spread: float | np.ndarray = 1.0, prior=None, frames: tuple[int, int] | None = None,
           settle: bool = True) -> list[tuple]:
    """``complete_problem`` at the default style for each of ``seeds``, as one call per seed gives it
    (each draw from its own seed's stream), with the pins placed and encoded once, the GP's solve
    shared and G run on the draws together: a floor path's 12 candidate passes (session 19).
    ``settle``: each gap's root settled where its feet are down (``_settle_gaps``); a caller that
    settles what it keeps, or replaces the root, skips it."""
    from csgn_core.model.inference import decode_features

    use_h = uses_inverse(model, condition)
    prior = model.prior if prior is None else prior
    L, S = prob.length, model.step_frames
    J = model.skeleton.n_joints
    m = model.G.latent_radius()
    T0 = max(1, math.ceil(L / S))
    T = T0 + 2 * m
    pinned = np.zeros(L, bool)
    pin_rot = np.tile(Q.identity((J,)), (L, 1, 1))
    pin_root = np.zeros((L, 3))
    kidx, zk = [], []
    stage = "encoding pins" if use_h else "placing pins"
    _report(progress, 0.0, stage)
    for i, (at, mo) in enumerate(prob.pins):
        _check(cancel)
        n = mo.n_frames
        pinned[at:at + n] = True
        pin_rot[at:at + n] = mo.rotations
        pin_root[at:at + n] = mo.root
        t0, t1 = -(-at // S), (at + n) // S
        if use_h and t1 > t0:
            z = _encode_pin(model, mo.slice(t0 * S - at, n))  # steps t0 .. (covers to the pin's end)
            zk.append(z[:, :t1 - t0])
            kidx.extend(range(t0 + m, t1 + m))
        _report(progress, 0.3 * (i + 1) / max(1, len(prob.pins)), stage)
    _check(cancel)
    rngs = [np.random.default_rng(s) for s in seeds]
    if kidx:
        z = _conditioned_latent(model, prior, np.concatenate(zk, axis=1), np.asarray(kidx), T, rngs,
                                spread, energy, S, m)
    else:
        z = prior.sample(T, len(rngs), rngs)
        if energy is not None:
            z = z * energy_steps(np.asarray(energy, dtype=float), S, m, T)[None, None, :]
    z = torch.from_numpy(z).float()  # (n, C, T)
    _report(progress, 0.4, "sampling the latent")
    if refine_seconds > 0 and pinned.any():
        z = torch.stack([_refine(model, zi, pin_rot, pin_root, pinned, m, refine_seconds, progress, cancel)
                         for zi in z])
    _check(cancel)
    lo, hi = (0, L) if frames is None else (max(0, int(frames[0])), min(L, int(frames[1])))
    t0, t1 = lo // S, -(-hi // S)  # the steps under the frames wanted, and G's reach either side of them
    keep = (m * S + lo - t0 * S, m * S + hi - t0 * S)
    feats = decode_features(model, z[:, :, t0:t1 + 2 * m], keep=keep)  # (n, 9, hi - lo, J)
    pinned, pin_rot, pin_root = pinned[lo:hi], pin_rot[lo:hi], pin_root[lo:hi]
    _report(progress, 0.9, "splicing pins")
    _check(cancel)
    if blend is None:
        blend = max(1, int(round(BLEND_SECONDS * model.fps)))
    if prob.blends and any(b is not None for b in prob.blends):
        per_frame = np.full(L, int(blend))
        for (at, mo), b in zip(prob.pins, prob.blends):
            if b is not None:
                per_frame[at:at + mo.n_frames] = max(1, int(round(b * model.fps)))
        blend = per_frame[lo:hi]
    floors = _pin_floors(model.skeleton, [mo for _, mo in prob.pins]) if settle and GAP_SLACK_CM > 0 else None
    out = []
    for feat in feats:
        rot, root = model.codec.decode_np(feat, pinned=pinned)
        contacts = model.codec.contact_flags(feat)
        rot, root = splice(rot, root, pin_rot, pin_root, pinned, blend)
        rot, root = blend_short_gaps(rot, root, pinned, model.fps)  # short gaps are spline transitions
        rot, root = _settle_gaps(model, rot, root, pinned, floors, lo == 0, hi == L)
        out.append((rot, root, pinned, contacts))
    _report(progress, 1.0, "done")
    return out


GAP_SLACK_CM = 50.0  # how far a gap's root may move over the floor to keep its planted feet still
GAP_SLACK_TURN = 0.35  # radians (20 degrees): how far its body may turn about the root for the same
GAP_SLACK_SMOOTH = 0.25  # weight of those moves' second difference
GAP_SLACK_SEAM = (4.0, 3.0)  # and beside a pin: that weight, falling to the one above over these frames
GAP_SLACK_OPENING = 0.5  # cm/frame^2: how fast they may open from a pin (rootslack.OPENING)
GAP_SLACK_MIN = 6  # frames: a shorter gap is left as it is
GAP_SLACK_SHARE = (0.25, 0.75)  # the settling fades in as the model's share of a gap (not spline) grows


def _settle_gaps(model, rot: np.ndarray, root: np.ndarray, pinned: np.ndarray, floors, starts: bool,
                 ends: bool) -> tuple[np.ndarray, np.ndarray]:
    """The body (rotations, root) with each gap moved over the floor and turned about its root where
    that keeps a planted foot still (``rootslack.floor_slack``): none at a pin's edge, free where the
    gap runs to the timeline's start or end. ``starts`` / ``ends``: whether these frames begin and end
    the problem (a gap cut by a decode of part of it is left alone, so a part gives the whole's frames).

    The generator's legs step at another pace than its root travels (a gap slid 136 cm/s at
    30 frames where the real dancers' feet slide 74); moving the body as a whole keeps every joint
    below the root as generated, where planting the feet by IK locked knees and snapped feet
    (session 18). ``csgn eval infill``'s 90 windows with ``csgn complete``'s 4 draws, sliding at
    30 / 60-frame gaps: 123 / 100 cm/s unsettled, 109 / 84 moved only and smoothly (session 19,
    smoothness 16, opening 0.25), 88.4 / 64.8 moved and turned as now (session 20; L2P 1-2% higher,
    the joints' acceleration still under the real frames', ``docs/results/infill.md``)."""
    from csgn_core.motion.contacts import contact_point_indices
    from csgn_core.motion.rootslack import floor_slack, turn_body

    if floors is None:
        return rot, root
    n = len(pinned)
    pts = None
    for g0, g1 in open_ranges(pinned):
        left, right = g0 > 0, g1 < n  # held by a pin there
        if g1 - g0 < GAP_SLACK_MIN or (not left and not starts) or (not right and not ends) or not (left or right):
            continue
        lo_, hi_ = GAP_SLACK_SHARE
        w = float(np.clip((1.0 - gap_spline_weight(g0, g1, n, model.fps) - lo_) / (hi_ - lo_), 0.0, 1.0))
        if w <= 0:  # mostly the spline in-between an animator expects there (inbetween.blend_short_gaps)
            continue
        a, b = g0 - left, g1 + right
        if pts is None:
            pts, rot, root = contact_point_indices(model.skeleton), rot.copy(), root.copy()
        P = Motion(model.skeleton, model.fps, rotations=rot[a:b], root=root[a:b]).positions
        t = np.arange(b - a, dtype=float)
        d = np.minimum(t if left else np.inf, (b - a - 1 - t) if right else np.inf)
        smooth = GAP_SLACK_SMOOTH + GAP_SLACK_SEAM[0] * np.exp(-d / GAP_SLACK_SEAM[1])
        e = floor_slack(P, pts, floors, radius=GAP_SLACK_CM, turn=GAP_SLACK_TURN, smooth=smooth,
                        hold=(left, right), opening=GAP_SLACK_OPENING)
        rot[a:b], root[a:b] = turn_body(rot[a:b], root[a:b], e * w)
    return rot, root


def _pick_planted(model, prob: Problem, seed, draws: int, refine_seconds, progress, cancel, blend, condition,
                  spread, prior, wanted: list[bool] | None = None) -> tuple:
    """``complete_problem`` with each unpinned range from the one of ``draws`` draws (seeds
    ``_seed_k(seed, k)``; the first is ``seed``'s own) whose feet slide least there, over the floor
    the pins stand on, as a floor path picks its first pass. Session 18, 4 draws on ``csgn eval
    infill``'s windows: sliding inside 30- / 60-frame gaps 123 / 100 cm/s against one draw's 136 / 118,
    NPSS 0.048 / 0.079 against 0.052 / 0.088, L2P 0.998x / 1.05x interpolation's against 1.01x / 1.06x.
    ``wanted``: per unpinned range, whether the caller keeps it (``complete_problem``); one it does not
    keeps the first draw's frames unscored."""
    from csgn_core.motion.contacts import foot_skating, has_foot_table

    if not has_foot_table(model.skeleton):  # no feet to judge the draws by: the first is as good as any
        draws = 1
    floors = _pin_floors(model.skeleton, [mo for _, mo in prob.pins])
    outs = _draws(model, prob, [_seed_k(seed, k) for k in range(draws)], refine_seconds, progress, cancel, blend,
                  condition, spread=spread, prior=prior)
    if len(outs) == 1:
        return outs[0]
    rot, root, pinned, contacts = outs[0]
    rot, root = rot.copy(), root.copy()
    contacts = None if contacts is None else {k: np.array(v) for k, v in contacts.items()}
    sk, fps = model.skeleton, model.fps
    for i, (a, b) in enumerate(open_ranges(pinned)):
        if b - a < 3 or (wanted is not None and not wanted[i]):
            continue
        cost = [foot_skating(Motion(sk, fps, rotations=o[0][a:b], root=o[1][a:b]).positions, sk, fps, floors=floors)
                for o in outs]
        k = int(np.argmin(cost))
        if k:
            rot[a:b], root[a:b] = outs[k][0][a:b], outs[k][1][a:b]
            if contacts is not None and outs[k][3] is not None:
                for name in contacts:
                    contacts[name][a:b] = outs[k][3][name][a:b]
    return rot, root, pinned, contacts


def _cut(out: tuple, lo: int, hi: int) -> tuple:
    """``complete_problem``'s four results cut to frames lo .. hi - 1."""
    rot, root, pinned, contacts = out
    cut = None if contacts is None else {k: np.asarray(v)[lo:hi] for k, v in contacts.items()}
    return rot[lo:hi], root[lo:hi], pinned[lo:hi], cut


def frames_for(model, prob: Problem, lo: int, hi: int) -> tuple[int, int]:
    """The frames ``complete_problem(frames=...)`` decodes for frames lo .. hi - 1 of ``prob``: the seams
    whose corrections reach them (``BLEND_SECONDS`` and the frame beyond the seam), and the whole of
    every gap between two pins that they touch and that is short enough to be mixed with a spline
    (``blend_short_gaps`` reads its length). Between pins that hold them in (a floor path's gap) the
    frames come out as a whole decode gives them (the same rotations and root); in a gap that runs on
    past them the root's heading differs (the splice turns a gap by its two ends; a path sets it anyway), and so may
    a joint that the decoder's bridge over collapsed 6D columns, which takes each joint's median over
    the frames it decodes, marks on other frames."""
    from csgn_core.motion.inbetween import gap_spline_weight

    pinned = np.zeros(prob.length, bool)
    for at, mo in prob.pins:
        pinned[at:at + mo.n_frames] = True
    own = [int(round(b * model.fps)) for b in (prob.blends or []) if b is not None]
    reach = max([max(1, int(round(BLEND_SECONDS * model.fps)))] + own) + 2
    a, b = max(0, lo - reach), min(prob.length, hi + reach)
    for g0, g1 in open_ranges(pinned):
        if g0 < b and g1 > a and gap_spline_weight(g0, g1, prob.length, model.fps) > 0:
            a, b = min(a, max(0, g0 - 2)), max(b, min(prob.length, g1 + 2))
    return a, b


ENCODE_CACHE = 64  # pins' latents kept per model: re-fills and a path's candidates encode the same pins


def _encode_pin(model, motion: Motion) -> np.ndarray:
    """(C0, T0) H's latent of a pin's frames (``inference.encode``), from a small cache on the model
    keyed by the frames' contents: a path pin's 8 candidate passes and every re-fill after an edit
    encode the same pins again, and H's pass was half of each candidate's time (session 17)."""
    from csgn_core.model.inference import encode

    cache = getattr(model, "pin_latents", None)
    if cache is None:
        cache = model.pin_latents = OrderedDict()
    key = _motion_key(motion)
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    z = encode(model, motion).numpy()
    cache[key] = z
    while len(cache) > ENCODE_CACHE:
        cache.popitem(last=False)
    return z


def _motion_key(motion: Motion) -> tuple:
    """A motion's frames as a cache key: equal keys, equal frames."""
    return (motion.fps, motion.rotations.shape, hash(np.ascontiguousarray(motion.rotations).tobytes()),
            hash(np.ascontiguousarray(motion.root).tobytes()))


FIRST_PASS_CACHE = 32  # partial pins' first passes kept per model


def _first_pass(model, prob: Problem, seed, refine_seconds: float, cancel: Cancel, styles, frames=None):
    """``complete_problem`` of a partial pin's first pass (one draw), kept on the model by the
    problem's contents: a first pass sees the whole pins only, so an edit of a partial pin, or of a
    pin away from a path's window, re-fills without redoing it (a path's are a dozen decodes: 150 of
    the 310 ms a re-fill took after an arms pin was added beside a path, session 18)."""
    run = lambda: complete_problem(model, prob, seed, refine_seconds, None, cancel, styles=styles,  # noqa: E731
                                   candidates=1, frames=frames)
    if refine_seconds > 0:  # a refinement runs for a time, not a number of steps: not repeatable
        return run()
    return _kept(model, (_problem_key(model, prob, seed, styles), frames), run)


def _first_passes(model, prob: Problem, seeds: list, refine_seconds: float, cancel: Cancel, styles, frames=None,
                  settle: bool = True):
    """``_first_pass`` for each of ``seeds``, those not kept drawn together (``_draws``, or
    ``_complete_styled`` at a style of their own) where nothing is refined; ``settle`` False: their
    gaps' roots as generated (a floor path replaces them)."""
    if refine_seconds > 0:
        return [_first_pass(model, prob, s, refine_seconds, cancel, styles, frames) for s in seeds]
    cache = getattr(model, "first_passes", None) or {}
    base = _problem_base(model, prob, styles)  # the pins hashed once for all the seeds
    keys = [(_problem_key_for(base, s), frames) + (() if settle else ("unsettled",)) for s in seeds]
    out = [cache.get(k) for k in keys]
    missing = [i for i, o in enumerate(out) if o is None]
    if missing:
        todo = [seeds[i] for i in missing]
        if styles is None or all(tuple(s) == DEFAULT_STYLE for s in styles):
            drawn = _draws(model, prob, todo, cancel=cancel, frames=frames, settle=settle)
        else:
            drawn = _complete_styled(model, prob, todo, 0.0, None, cancel, None, "auto", styles, candidates=1,
                                     frames=frames, settle=settle)
        for i, o in zip(missing, drawn):
            out[i] = o
    return [_kept(model, k, lambda o=o: o) for k, o in zip(keys, out)]


def _problem_key(model, prob: Problem, seed, styles) -> tuple:
    return _problem_key_for(_problem_base(model, prob, styles), seed)


def _problem_base(model, prob: Problem, styles) -> tuple:
    """Everything of ``_problem_key`` but the seed (hashing the pins' frames is its cost)."""
    return (prob.length, tuple((at, _motion_key(mo)) for at, mo in prob.pins), tuple(prob.blends or ()),
            None if styles is None else tuple(tuple(map(float, s)) for s in styles), uses_inverse(model))


def _problem_key_for(base: tuple, seed) -> tuple:
    return base[:4] + (seed,) + base[4:]


def _kept(model, key, compute):
    """``compute()``, or what it gave for ``key`` before (``model.first_passes``, the last ``FIRST_PASS_CACHE``)."""
    cache = getattr(model, "first_passes", None)
    if cache is None:
        cache = model.first_passes = OrderedDict()
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    out = compute()
    cache[key] = out
    while len(cache) > FIRST_PASS_CACHE:
        cache.popitem(last=False)
    return out


def _conditioned_latent(model, prior, known: np.ndarray, kidx: np.ndarray, T: int, rng, spread, energy,
                        S: int, m: int) -> np.ndarray:
    """(C, T) a latent drawn given the pins' latents ``known`` at steps ``kidx`` ((n, C, T) for a list
    of n generators ``rng``, one draw from each): the model's own GP mean between them plus
    ``prior``'s draw of the rest (Matheron's rule split in two). Both take
    H's latents as observed with the noise ``ModelConfig.pin_latent_noise`` (``model.pin_prior``).

    A slow tempo's stretched prior conditions only the deviation, on zeros: conditioned on H's latents
    directly, its long, smooth length scales overshoot between the observed steps, and a tempo of 0.6
    moved the gap 1.66x faster, not slower (session 17). ``spread`` and ``energy`` both scale the
    deviation: where the pins are encoded the latent's amplitude is theirs, and scaling the mean too
    broke it off them at the gap's edges (energy 0.5 moved the gap 1.37x faster)."""
    own = model.pin_prior
    n = len(rng) if isinstance(rng, list) else 1
    if prior is model.prior:
        z = own.condition(known, kidx, T, n, rng)
        scaled = (np.ndim(spread) or spread != 1.0) or energy is not None
        mean = own.conditional_mean(known, kidx, T) if scaled else None
    else:
        mean = own.conditional_mean(known, kidx, T)
        z = mean + prior.condition(np.zeros_like(known), kidx, T, n, rng)
    if mean is not None:
        gain = np.full(T, float(spread)) if not np.ndim(spread) else _spread_steps(np.asarray(spread, float), S, m, T)
        if energy is not None:
            gain = gain * energy_steps(np.asarray(energy, dtype=float), S, m, T)
        z = mean + gain[None, :] * (z - mean)
    return z if isinstance(rng, list) else z[0]


def _spread_steps(spread: np.ndarray, step: int, radius: int, steps: int) -> np.ndarray:
    """(steps,) the spread at each latent step from (L,) per-frame values: the lowest over the
    step's frames (a step that reaches into a morphing gap morphs with it), the margins the nearest
    step's."""
    L = len(spread)
    inner = np.array([spread[i * step:min(L, (i + 1) * step)].min() for i in range(-(-L // step))])
    return np.concatenate([np.full(radius, inner[0]), inner, np.full(steps - radius - len(inner), inner[-1])])


def _complete_styled(model, prob: Problem, seed, refine_seconds, progress, cancel, blend, condition, styles,
                     spread=1.0, candidates: int = PACE_CANDIDATES, wanted=None, frames=None, settle: bool = True):
    """``complete_problem`` with each unpinned range at its own tempo (for a slow one the GP's length
    scales stretched, and a pick of ``candidates`` draws by pace) and energy (the latent's gain, and
    off 1 a livelier or calmer pick). ``seed`` a list: one result per seed, each range from its
    prior's one draw for that seed (no pick), the seeds drawn together (a path's candidate passes),
    and ``frames`` = (lo, hi) decodes those frames only, as ``complete_problem(frames=)`` does."""
    many = isinstance(seed, list)
    if many:
        candidates = 1
    elif frames is not None:
        raise ValueError("frames are for a list of seeds")
    pinned = np.zeros(prob.length, bool)
    for at, mo in prob.pins:
        pinned[at:at + mo.n_frames] = True
    gaps = open_ranges(pinned)
    if len(styles) != len(gaps):
        raise CSGNError(f"{len(styles)} styles for {len(gaps)} unpinned ranges")
    tempos = [float(t) for t, _ in styles]
    energy = np.ones(prob.length)
    for (a, b), (_, e) in zip(gaps, styles):
        energy[a:b] = e
    conditioned = uses_inverse(model, condition)
    paced = [i for i, (t, e) in enumerate(styles) if is_paced(float(t), float(e)) and (wanted is None or wanted[i])]
    # One set of draws per prior: a slow gap's stretches the length scales (styling.tempo_length_scale),
    # and each gap takes its fill from its own prior's draws; a prior that no paced gap draws from
    # needs one draw, not a choice of them (a slow gap beside plain ones: 5 passes, not 8), and a range
    # whose frames go unused (``wanted``) takes them from the first prior's first draw.
    own_scale = [tempo_length_scale(t, conditioned) if wanted is None or wanted[i] else None
                 for i, t in enumerate(tempos)]
    scales = sorted({ls for ls in own_scale if ls is not None} or {1.0}, reverse=True)
    picked = {own_scale[i] for i in paced}
    counts = {ls: max(1, int(candidates)) if ls in picked else 1 for ls in scales}
    seeds = list(seed) if many else [seed]
    draws: dict[float, list] = {}
    total = sum(counts.values())
    done = 0
    for ls in scales:
        sub = None if progress is None else (lambda f, msg, d=done, c=counts[ls]: progress((d + c * f) / total, msg))
        done += counts[ls]
        own = seeds if counts[ls] == 1 else [_seed_k(seed, k) for k in range(counts[ls])]
        drawn = _draws(model, prob, own, refine_seconds, sub, cancel, blend, condition, energy=energy, spread=spread,
                       prior=model.prior_for(ls), frames=frames, settle=False)  # settled once picked, below
        draws[ls] = [(rot, root, contacts) for rot, root, _, contacts in drawn]
    lo, hi = (0, prob.length) if frames is None else (max(0, int(frames[0])), min(prob.length, int(frames[1])))
    pinned = pinned[lo:hi]
    gaps = [(max(a, lo) - lo, min(b, hi) - lo) for a, b in gaps]  # the ranges on the frames decoded
    floors = _pin_floors(model.skeleton, [mo for _, mo in prob.pins]) if settle and GAP_SLACK_CM > 0 else None
    outs = []
    for j in range(len(seeds)):  # j: the seed's own draw where a prior gave one per seed
        rot, root, contacts = draws[scales[0]][j if counts[scales[0]] == 1 else 0]
        if total > 1:
            rot, root = rot.copy(), root.copy()
            contacts = None if contacts is None else {k: np.array(v) for k, v in contacts.items()}
            for i, (a, b) in enumerate(gaps):
                if b <= a:
                    continue
                ls = scales[0] if own_scale[i] is None else own_scale[i]
                own = draws[ls]
                if i in paced and b - a >= 2 and counts[ls] > 1:
                    speeds = [_joint_speed(model, d[0][a:b], d[1][a:b]) for d in own]
                    k = pick_pace(speeds, tempos[i], styles[i][1], conditioned)
                else:
                    k = j if counts[ls] == 1 else 0
                if ls == scales[0] and k == (j if counts[ls] == 1 else 0):
                    continue
                rot[a:b], root[a:b] = own[k][0][a:b], own[k][1][a:b]
                if contacts is not None and own[k][2] is not None:
                    for name in contacts:
                        contacts[name][a:b] = own[k][2][name][a:b]
        # A pick by pace reads the joints' speeds about the root, which settling does not move.
        rot, root = _settle_gaps(model, rot, root, pinned, floors, lo == 0, hi == prob.length)
        outs.append((rot, root, pinned, contacts))
    return outs if many else outs[0]


def _joint_speed(model, rot: np.ndarray, root: np.ndarray) -> float:
    """Mean speed of the joints relative to the root over these frames (the pace ``pick_pace`` compares)."""
    p = Motion(model.skeleton, model.fps, rotations=rot, root=root).positions
    return float(np.linalg.norm(np.diff(p - p[:, :1], axis=0), axis=-1).mean())


def with_contacts(motion: Motion, generated: dict | None, pinned: np.ndarray) -> Motion:
    """The motion with foot contacts in its meta (``footclean.contacts_to_meta``): the generator's in
    generated frames, detected ones in pinned frames (the pins are the user's motion)."""
    if generated is None:
        return motion
    from csgn_core.motion.contacts import contacts_to_meta, detect_contacts

    found = detect_contacts(motion.positions, motion.skeleton, motion.fps)
    flags = {k: np.where(pinned, found[k], v) if k in found else v for k, v in generated.items()}
    motion.meta.update(contacts_to_meta(flags))
    return motion


def _refine(model, z: torch.Tensor, pin_rot, pin_root, pinned, m: int, seconds: float, progress: Progress,
            cancel: Cancel) -> torch.Tensor:
    """Adjust the latent steps that reach pinned frames so G reproduces the pins (time-bounded)."""
    S, L = model.step_frames, len(pinned)
    dev = model.device
    target = torch.from_numpy(model.codec.encode_np(pin_rot, pin_root)).to(dev)  # (9, L, J)
    # The root velocity channels of the target are meaningless at a pin's first frame (they read
    # across the pin edge): weight only frames whose predecessor is pinned too, plus every rotation.
    wt = torch.zeros(1, L, 1)
    wt[0, torch.from_numpy(pinned)] = 1.0
    wroot = wt.clone()
    starts = np.flatnonzero(pinned & ~np.concatenate([[False], pinned[:-1]]))
    wroot[0, torch.from_numpy(starts)] = 0.0
    wt, wroot = wt.to(dev), wroot.to(dev)
    r = model.G.latent_radius()
    steps = np.unique(np.concatenate([np.arange(f // S - 1, f // S + 2) for f in np.flatnonzero(pinned)])) + m
    steps = steps[(steps >= 0) & (steps < z.shape[1])]
    lo, hi = max(0, steps.min() - r), min(z.shape[1], steps.max() + r + 1)
    zw = z[:, lo:hi].clone().to(dev)
    sel = torch.from_numpy(steps - lo).to(dev)
    var = zw[:, sel].clone().requires_grad_(True)
    # Adam written out: importing torch.optim costs about 2 s the first time (it pulls in sympy).
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    m1, m2 = torch.zeros_like(var), torch.zeros_like(var)
    f0 = (lo - m) * S  # timeline frame of the window's first output frame
    a, b = max(0, f0), min(L, (hi - m) * S)
    t_end = time.perf_counter() + seconds
    it = 0
    while time.perf_counter() < t_end:
        _check(cancel)
        zz = zw.index_copy(1, sel, var)
        out = model.G(zz[None])[0][:, a - f0:b - f0]
        tgt = target[:, a:b]
        err = (out - tgt) ** 2
        loss = (err[:6] * wt[:, a:b]).sum() + (err[6:8, :, :1] * wroot[:, a:b]).sum() + (err[8:, :, :1] * wt[:, a:b]).sum()
        g, = torch.autograd.grad(loss, [var])  # no gradients for G's own weights
        it += 1
        with torch.no_grad():
            m1.mul_(b1).add_(g, alpha=1 - b1)
            m2.mul_(b2).addcmul_(g, g, value=1 - b2)
            var -= lr * (m1 / (1 - b1 ** it)) / ((m2 / (1 - b2 ** it)).sqrt() + eps)
        _report(progress, 0.4 + 0.4 * min(1.0, it / 50), "refining pinned latents")
    z = z.clone()
    z[:, lo:hi] = zw.index_copy(1, sel, var.detach()).cpu()
    return z


# --- public API -----------------------------------------------------------------------------------------
def _motion(model, rot, root, **meta) -> Motion:
    return Motion(model.skeleton, model.fps, rotations=rot, root=root, meta=dict(generator="csgn", **meta))


def fill(doc: Timeline, model, seed: int = 0, *, refine_seconds: float = 0.0, progress: Progress = None,
         cancel: Cancel = None, wanted=None, held: dict | None = None, path_seeds: dict | None = None,
         draws: int = 1) -> Fill:
    """Complete the whole timeline: every pinned frame equals its pin, the gaps are sampled.

    Pins must hold source motions at the model's fps; sources on another skeleton are retargeted
    through a joint map. ``progress(fraction, message)`` reports; ``cancel()`` returning True stops
    the work with ``Cancelled``. ``wanted(gap)``: whether the caller keeps that gap's new frames
    (``complete_problem``'s ``wanted``; all by default). ``held``: {pin id: whole-pose Motion} for
    partial pins whose first pass is known already (``fill_stale``: a previous fill's frames).
    ``path_seeds``: {pin id: seed} of floor-path pins' first passes (default: ``seed``); the fill's
    ``seeds`` records each path's under its range, so a re-fill draws the same passes for it.
    ``draws``: each gap at the default style from the best of this many draws (``complete_problem``).
    """
    if abs(doc.fps - model.fps) > 1e-6:
        raise CSGNError(f"the timeline runs at {doc.fps:g} fps but the model at {model.fps:g}")
    pins = [(p.at, _pin_frames(p, model)) for p in doc.pins]
    blends = [p.blend for p in doc.pins]
    gaps = doc.gaps()
    path_seed = {p.id: int((path_seeds or {}).get(p.id, seed)) for p in doc.pins if p.path}
    with torch.no_grad() if refine_seconds <= 0 else _nullctx():
        if any(p.holds is not None for p in doc.pins):
            known = {i: held[p.id] for i, p in enumerate(doc.pins) if held and p.id in held}
            own = [path_seed.get(p.id) for p in doc.pins]
            pins = _composite_partial_pins(doc, model, pins, blends, gaps, seed, refine_seconds, cancel, known, own)
        prob = Problem(doc.length, pins, blends)
        spread = gap_spreads(doc.length, gaps, base=pinned_gap_spread(model, prob))
        rot, root, pinned, contacts = complete_problem(
            model, prob, seed, refine_seconds, progress, cancel, styles=[g.style for g in gaps], spread=spread,
            wanted=None if wanted is None else [bool(wanted(g)) for g in gaps], draws=draws)
    seeds = {(g.start, g.stop): int(seed) for g in gaps}
    seeds.update({(p.at, p.stop): path_seed[p.id] for p in doc.pins if p.path})
    return Fill(with_contacts(_motion(model, rot, root, seed=seed), contacts, pinned), seeds,
                frozenset(g.signature() for g in gaps))


# A gap's frames within GAP_SPREAD_HOLD of a pin take the model's ``gap_spread``; beyond, the spread rises
# towards a draw over about GAP_SPREAD_REACH frames. Far from both pins the GP's conditional mean decays
# to the prior's, and a latent held near it froze the middle of a 4 s gap (0.29x the prior path's joint
# speed at 0.25 everywhere); rising from the pins on, over 30 frames, gave back the gains at 60-frame
# gaps (NPSS 0.073 against interpolation's 0.071; session 23, docs/results/infill.md).
GAP_SPREAD_HOLD = 30
GAP_SPREAD_REACH = 15.0


def _gap_spread_ramp(base: float, a: int, b: int) -> np.ndarray:
    """(b - a,) the spread over gap frames a .. b - 1 between two pins: ``base`` within
    ``GAP_SPREAD_HOLD`` frames of either, rising towards 1 further from both."""
    f = np.arange(a, b, dtype=float)
    d = np.maximum(0.0, np.minimum(f - (a - 1), b - f) - GAP_SPREAD_HOLD)
    return 1.0 - (1.0 - base) * np.exp(-d / GAP_SPREAD_REACH)


def pinned_gap_spread(model, prob: Problem) -> float | np.ndarray:
    """``complete_problem``'s spread by default: over every gap with a pin on both sides the model's
    ``gap_spread`` beside the pins, rising towards a draw far from them (``_gap_spread_ramp``), and
    1 (a draw) over the rest; 1 for a model that draws everywhere."""
    base = float(model.cfg.gap_spread)
    if base == 1.0:
        return 1.0
    pinned = np.zeros(prob.length, bool)
    for at, mo in prob.pins:
        pinned[at:at + mo.n_frames] = True
    out = np.ones(prob.length)
    for a, b in open_ranges(pinned):
        if a > 0 and b < prob.length:
            out[a:b] = _gap_spread_ramp(base, a, b)
    return out if (out != 1.0).any() else 1.0


def gap_spreads(length: int, gaps, offset: int = 0, base: float | np.ndarray = 1.0) -> float | np.ndarray:
    """``complete_problem``'s spread for a problem of ``length`` frames starting at timeline frame
    ``offset``: ``base`` (1, a draw everywhere, or the model's default, ``pinned_gap_spread``) with each
    morphing gap's ``Gap.morph`` over its frames."""
    morphs = [g for g in gaps if g.morph is not None]
    if not morphs:
        return base
    out = np.array(np.broadcast_to(base, (length,)), dtype=float)
    for g in morphs:
        out[max(0, g.start - offset):max(0, g.stop - offset)] = g.morph
    return out


def _composite_partial_pins(doc, model, pins, blends, gaps, seed, refine_seconds, cancel, known=None, seeds=None):
    """``composite_held_pins`` for a document: each first-pass range at the style of the gap it starts with."""
    by_start = {g.start: g.style for g in gaps}
    return composite_held_pins(model, Problem(doc.length, pins, blends), [p.holds for p in doc.pins], seed,
                               refine_seconds, cancel, lambda ranges: [by_start.get(a, doc.style) for a, _ in ranges],
                               known, seeds)


# First passes a floor path picks from: on the path through H, 8 / 12 / 16 slid 1.16x / 1.08x / 1.06x
# the unpinned fills' at 60-frame gaps (session 17), each pass about 12 ms once the pins' latents are cached.
PATH_CANDIDATES = 12


def _seed_k(seed, k: int):
    return seed if k == 0 else (hash((int(seed) if seed is not None else 0, k)) & 0x7FFFFFFF)


def _floor_speed(root: np.ndarray) -> np.ndarray:
    """(n-1,) the root's speed over the floor, per frame."""
    return np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=-1) if len(root) > 1 else np.zeros(1)


HELD_CONTEXT_SECONDS = 2.0  # the first pass around a held pin sees this much either side of it


def composite_held_pins(model, prob: Problem, holds, seed, refine_seconds: float = 0.0, cancel: Cancel = None,
                        styles_for=None, known: dict | None = None,
                        seeds: list | None = None) -> list[tuple[int, Motion]]:
    """The first pass for pins that hold part of the motion (partial.py): around each such pin, the
    problem completed around the whole pins only, then the pin made a whole pose from what it holds
    (``holds[i]``: joint names, or "path" for the root's floor track and facing) and that pass's motion.

    Joint-held pins share one first pass over the whole problem with the fill's own seed, so the
    second pass draws the same latent there and the generated body runs on across the pin's edges.
    A floor path's candidate passes run on a window of the problem (``HELD_CONTEXT_SECONDS`` either
    side, the whole pins in it cut to it): several short decodes, not several fills. ``known``: {pin
    index: whole-pose Motion} for pins whose first pass is known (a re-fill's unchanged ones), not redone.
    ``seeds``: per pin, the seed of a floor path's candidate passes (None: ``seed``)."""
    from csgn_core.editing.partial import composite

    S = model.step_frames
    ctx = int(round(HELD_CONTEXT_SECONDS * model.fps)) + model.G.latent_radius() * S
    blends = prob.blends or [None] * len(prob.pins)
    whole = [i for i, h in enumerate(holds) if h is None]
    out = list(prob.pins)
    full = None  # the shared first pass of the joint-held pins
    for i, h in enumerate(holds):
        if h is None:
            continue
        at, mo = prob.pins[i]
        if known and i in known:
            out[i] = (at, known[i])
            continue
        if h != "path":
            if full is None:
                w_mask = np.zeros(prob.length, bool)
                for j in whole:
                    a, m_ = prob.pins[j]
                    w_mask[a:a + m_.n_frames] = True
                styles = styles_for(open_ranges(w_mask)) if styles_for is not None else None
                first = Problem(prob.length, [prob.pins[j] for j in whole], [blends[j] for j in whole])
                full = _first_pass(model, first, seed, refine_seconds, cancel, styles)[:2]
            g_rot, g_root = full[0][at:at + mo.n_frames], full[1][at:at + mo.n_frames]
            r, t = composite(g_rot, g_root, mo.rotations, mo.root, [mo.skeleton.joints.index(j) for j in h])
            out[i] = (at, Motion(mo.skeleton, mo.fps, rotations=r, root=t, meta=dict(mo.meta)))
            continue
        w0 = max(0, at - ctx)
        w0 -= w0 % S  # the window's latent steps on the same grid as the whole problem's
        w1 = min(prob.length, at + mo.n_frames + ctx)
        pins, pblends = [], []
        for j in whole:
            a, m_ = prob.pins[j]
            lo, hi = max(a, w0), min(a + m_.n_frames, w1)
            if hi > lo:
                pins.append((lo - w0, m_.slice(lo - a, hi - a)))
                pblends.append(blends[j])
        mask = np.zeros(w1 - w0, bool)
        for a, m_ in pins:
            mask[a:a + m_.n_frames] = True
        styles = None
        if styles_for is not None:
            styles = styles_for([(a + w0, b + w0) for a, b in open_ranges(mask)])
        first = Problem(w1 - w0, pins, pblends)
        own = seed if seeds is None or seeds[i] is None else seeds[i]
        follow = lambda: _follow_path(model, first, mo, at - w0, own, refine_seconds, cancel, styles)  # noqa: E731
        key = ("path", _problem_key(model, first, own, styles), _motion_key(mo), at - w0, PATH_CANDIDATES)
        out[i] = (at, follow() if refine_seconds > 0 else _kept(model, key, follow))
    return out


def _follow_path(model, first: Problem, mo: Motion, at: int, seed, refine_seconds, cancel, styles) -> Motion:
    """A floor path pin's whole pose: of ``PATH_CANDIDATES`` first passes of ``first`` (the window
    around the path, ``mo`` its frames from ``at`` in it), the one whose feet slide least once carried
    along the path, planted again (``_plant_path_feet``)."""
    # A floor path is followed best by a body whose legs step at its pace (carried faster or slower
    # than they step, its feet slide): of a few first passes, the one whose feet slide least once
    # carried along the path (session 8 kept the nearest root speed: sliding 1.06x the unpinned
    # fills' at 60-frame gaps), over the floor the whole pins beside it stand on: the candidate's
    # own lowest foot heights let a body that floats over the path score as planted (session 17).
    from csgn_core.editing.partial import path_composite
    from csgn_core.motion.contacts import foot_skating

    floors = _pin_floors(model.skeleton, [m_ for _, m_ in first.pins])
    n = mo.n_frames
    lo, hi = frames_for(model, first, at, at + n)  # G decodes the path's frames and its seams' reach only
    best = None
    passes = _first_passes(model, first, [_seed_k(seed, k) for k in range(PATH_CANDIDATES)], refine_seconds, cancel,
                           styles, (lo, hi), settle=False)  # the path replaces their root
    for rot, root, _, flags in passes:
        g_rot, g_root = rot[at - lo:at - lo + n], root[at - lo:at - lo + n]
        r, t = path_composite(g_rot, g_root, mo.rotations, mo.root)
        cand = Motion(mo.skeleton, mo.fps, rotations=r, root=t, meta=dict(mo.meta))
        cost = foot_skating(cand.positions, cand.skeleton, cand.fps, floors=floors) if n > 2 else \
            float(np.abs(_floor_speed(g_root) - _floor_speed(mo.root)).mean())
        if best is None or cost < best[0]:
            own = None if flags is None else {j: v[at - lo:at - lo + n] for j, v in flags.items()}
            best = (cost, cand, own)
    return _plant_path_feet(_slacken(best[1], floors), best[2])


def _slacken(motion: Motion, floors: np.ndarray | None) -> Motion:
    """A floor path's body with the root given a few centimetres' give off the path where that keeps
    a foot on the floor still (``partial.path_slack``). Applied to the kept pass only: weighing every
    candidate with it picked bodies whose seams with the pins beside the path stepped more (session 19)."""
    from csgn_core.editing.partial import path_slack
    from csgn_core.motion.contacts import contact_point_indices

    if floors is None or motion.n_frames < 4:
        return motion
    root = motion.root.copy()
    root[:, [0, 2]] += path_slack(motion.positions, contact_point_indices(motion.skeleton), floors)
    return Motion(motion.skeleton, motion.fps, rotations=motion.rotations, root=root, meta=dict(motion.meta))


def _plant_path_feet(motion: Motion, contacts: dict | None) -> Motion:
    """A floor path's body with its feet planted again where its legs can hold them
    (``footclean.clean_feet`` on the generator's contacts, detected ones for a model without them):
    carried along a path its legs did not step for, a foot on the floor slides by the difference. The
    first and last frames keep their feet (``hold_ends``), so the seams with the frames beside the
    path do not move; ``strict`` leaves a leg as it was where it cannot reach its pins or its foot
    would snap, as most generated legs would (session 18: unguarded, the clean-up measured 0.89x the
    unpinned fills' sliding at 60-frame gaps with knees locked straight; guarded, 1.05x against 1.08x)."""
    from csgn_core.motion.footclean import clean_feet

    if motion.n_frames < 3:
        return motion
    try:
        cleaned, _ = clean_feet(motion, contacts=contacts, hold_ends=True, strict=True)
    except CSGNError:  # a skeleton without feet the clean-up knows: the body as generated
        return motion
    return cleaned


def _pin_floors(skeleton, motions: list[Motion]) -> np.ndarray | None:
    """Per foot contact point (``contacts.contact_points`` order) the floor height under these
    motions' frames (their 2nd percentile, as ``foot_skating`` takes it), or None without frames or feet."""
    from csgn_core.motion.contacts import check_feet, contact_points, feet_for, point_floors

    motions = [m for m in motions if m.n_frames]
    try:
        pts = contact_points(check_feet(feet_for(skeleton), skeleton))
    except CSGNError:
        return None
    if not motions:
        return None
    return point_floors(np.concatenate([m.positions for m in motions]), pts)


def fill_stale(doc: Timeline, model, seed: int = 0, *, refine_seconds: float = 0.0, progress: Progress = None,
               cancel: Cancel = None, draws: int = 1) -> Fill:
    """Like ``fill``, but gaps whose fill is still current keep their frames bit-identical.

    After an edit only the gaps next to the edited pins change. Without a usable previous fill this
    is ``fill``. ``draws``: as ``fill``'s.
    """
    prev = doc.fill
    usable = prev is not None and prev.motion.n_frames == doc.length
    # A current gap keeps its old frames, so its style's pick by pace would be work thrown away.
    wanted = (lambda g: g.signature() not in prev.signatures) if usable else None
    gaps = doc.gaps()
    held = {}
    if usable:  # a partial pin's generated body stays while every gap beside it does: no first pass for it
        for p in doc.pins:
            beside = [g for g in gaps if g.left is p or g.right is p]
            if p.partial and beside and all(g.signature() in prev.signatures for g in beside):
                was = prev.motion
                held[p.id] = Motion(was.skeleton, was.fps, rotations=was.rotations[p.at:p.stop].copy(),
                                    root=was.root[p.at:p.stop].copy())
    # A path keeps the seed of its first passes while it stays where it is: a pin placed beside it then
    # re-fills without its dozen passes (they are kept on the model), and the body along it stays.
    path_seeds = {p.id: prev.seeds[(p.at, p.stop)] for p in doc.pins
                  if usable and p.path and (p.at, p.stop) in prev.seeds}
    new = fill(doc, model, seed, refine_seconds=refine_seconds, progress=progress, cancel=cancel, wanted=wanted,
               held=held, path_seeds=path_seeds, draws=draws)
    if not usable:
        return new
    rot, root = new.motion.rotations, new.motion.root
    seeds = dict(new.seeds)
    kept = np.zeros(doc.length, dtype=bool)
    for g in gaps:
        if g.signature() in prev.signatures:
            rot[g.start:g.stop] = prev.motion.rotations[g.start:g.stop]
            root[g.start:g.stop] = prev.motion.root[g.start:g.stop]
            seeds[(g.start, g.stop)] = prev.seeds.get((g.start, g.stop), seed)
            kept[g.start:g.stop] = True
    for p in doc.pins:
        if p.id in held:
            rot[p.at:p.stop] = prev.motion.rotations[p.at:p.stop]
            root[p.at:p.stop] = prev.motion.root[p.at:p.stop]
            kept[p.at:p.stop] = True
    from csgn_core.motion.contacts import contacts_from_meta

    _merge_contacts(new.motion, contacts_from_meta(prev.motion), kept)  # kept gaps keep their contacts
    return Fill(new.motion, seeds, new.signatures)


def _merge_contacts(motion: Motion, other: dict | None, frames: np.ndarray) -> None:
    """In ``frames`` (a mask over the motion's frames), the motion's foot contacts become ``other``'s
    (flags over the same frames); in place, and only where both have contacts."""
    from csgn_core.motion.contacts import contacts_from_meta, contacts_to_meta

    own = contacts_from_meta(motion)
    if own is None or other is None or not frames.any():
        return
    motion.meta.update(contacts_to_meta({k: np.where(frames, other[k], v) if k in other else v for k, v in own.items()}))


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def new_timeline(model, seconds: float, seed: int = 0, *, name: str = "model") -> Timeline:
    """A filled document of ``seconds`` seconds with no pins."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CSGNError(f"seconds must be positive, got {seconds}")
    doc = Timeline(max(1, int(round(seconds * model.fps))), model.fps, name, model.skeleton)
    doc.set_fill(fill(doc, model, seed))
    return doc


def predict(model, prefix: Motion, seconds: float, seed: int = 0, *, refine_seconds: float = 0.0,
            progress: Progress = None, cancel: Cancel = None) -> Motion:
    """The prefix clip followed by ``seconds`` seconds of sampled continuation.

    The prefix is retargeted and resampled to the model first; the result starts with it (exact)
    and has ``prefix frames + round(seconds * fps)`` frames; meta["prefix_frames"] says where the
    prediction begins. ``progress`` and ``cancel`` work as in ``fill``.
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CSGNError(f"seconds must be positive, got {seconds}")
    pre = conform(prefix, model)
    L = pre.n_frames + max(1, int(round(seconds * model.fps)))
    with torch.no_grad() if refine_seconds <= 0 else _nullctx():
        rot, root, pinned, contacts = complete_problem(model, Problem(L, [(0, pre)]), seed, refine_seconds, progress, cancel)
    return with_contacts(_motion(model, rot, root, seed=seed, prefix_frames=pre.n_frames), contacts, pinned)


def resample_gap(doc: Timeline, model, gap_start: int, seed: int, *, progress: Progress = None,
                 cancel: Cancel = None, draws: int = 1) -> Fill:
    """A new variant of the gap containing frame ``gap_start``; every other frame of the previous
    fill is copied unchanged (bit-identical). ``draws``: at the default style, the variant is the one
    of this many draws whose feet slide least (``complete_problem``)."""
    prev = doc.fill
    if prev is None:
        raise CSGNError("fill the timeline before resampling a gap")
    if prev.motion.n_frames != doc.length:
        raise CSGNError("the fill is out of date (timeline length changed); fill it again first")
    gap = doc.gap_at(int(gap_start))
    if gap is None:
        raise CSGNError(f"frame {gap_start} is not in a gap")
    refusal = doc.resample_refusal(gap)
    if refusal:
        raise CSGNError(refusal)
    S = model.step_frames
    ctx = (2 * model.G.latent_radius() + 2) * S  # frames of the previous fill that anchor the window
    w0, w1 = max(0, gap.start - ctx), min(doc.length, gap.stop + ctx)
    # Align the window so the pins' latent steps fall on the same grid as a full fill.
    w0 -= w0 % S
    pm = prev.motion
    pins, blends = [], []
    if gap.start > w0:  # the context beyond each edge bends in as the pin there asks
        pins.append((0, pm.slice(w0, gap.start)))
        blends.append(gap.left.blend if gap.left is not None else None)
    if w1 > gap.stop:
        pins.append((gap.stop - w0, pm.slice(gap.stop, w1)))
        blends.append(gap.right.blend if gap.right is not None else None)
    window = Problem(w1 - w0, pins, blends)
    mask = np.zeros(window.length, bool)
    for at, mo in pins:
        mask[at:at + mo.n_frames] = True
    spread = gap_spreads(window.length, [gap], w0, pinned_gap_spread(model, window))
    with torch.no_grad():
        rot, root, _, contacts = complete_problem(model, window, seed, progress=progress, cancel=cancel,
                                                  styles=[gap.style] * len(open_ranges(mask)), spread=spread,
                                                  draws=draws)
    new_rot, new_root = pm.rotations.copy(), pm.root.copy()
    new_rot[gap.start:gap.stop] = rot[gap.start - w0:gap.stop - w0]
    new_root[gap.start:gap.stop] = root[gap.start - w0:gap.stop - w0]
    motion = Motion(pm.skeleton, pm.fps, rotations=new_rot, root=new_root, meta=dict(pm.meta))
    if contacts is not None:  # the gap's frames take the new variant's contacts
        gap_frames = np.zeros(doc.length, dtype=bool)
        gap_frames[gap.start:gap.stop] = True
        placed = {k: np.pad(v, (w0, doc.length - w1)) for k, v in contacts.items()}  # on the timeline's frames
        _merge_contacts(motion, placed, gap_frames)
    seeds = dict(prev.seeds)
    seeds[(gap.start, gap.stop)] = int(seed)
    return Fill(motion, seeds, frozenset(prev.signatures | {gap.signature()}))
