"""The paper's clean-up of noisy Kinect skeletons: outlier removal, then median and Savitzky-Golay filters.

CSGN (section 5) trained on NTU-RGB+D Kinect data after "removing outlier values and smoothing the
data along the time dimension with Savitzky-Golay and median filters", without giving parameters.
``clean`` does those steps on a position motion, in that order:

1. Outliers. A joint sample is flagged when it is missing (confidence below ``min_confidence``),
   when it is a spike (``find_spikes``: neither the two samples before it nor the two after it
   predict it within ``spike_min_cm`` and ``spike_sigmas`` times the joint's noise level), or when
   it breaks a bone (the bone to its parent is off the bone's clip median length by more than
   ``bone_tolerance`` of it and more than ``bone_min_cm``; the child end is blamed unless the parent
   end is already flagged). Runs of up to ``max_fill`` flagged frames are replaced by linear
   interpolation from the joint's neighbouring good samples; longer runs (sustained mis-tracking,
   which interpolation cannot repair) are kept and counted.
2. A running median over ``median_window`` frames, per joint and axis: removes one-frame kinks.
3. A Savitzky-Golay filter (``savgol_window`` frames, polynomial ``savgol_order``), per joint and
   axis. A clip shorter than the window uses the longest odd window it holds; a clip too short for
   the polynomial is not smoothed.
4. Optionally (``restore_bone_lengths``, off by default and not in the paper): every bone is set back
   to its clip median length along its smoothed direction, from the root outwards.

The defaults were chosen on the 15 fps MSR Action3D and UTKinect sets: the smoothing is the
strongest whose removed part is still not positively correlated from frame to frame (so it holds
noise, not movement), and the outlier thresholds flag about 0.5 per cent of samples, the jumps
out of a trajectory and back that the sensor makes where it tracks badly (bending, picking up).
docs/data.md (Kinect) has the measured effect; ``jitter`` and ``bone_length_cv`` are the measures.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

from csgn_core.errors import CSGNError
from csgn_core.io.kinect.common import fill_missing
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton


class CleanupParamsError(CSGNError, ValueError):
    """A clean-up parameter out of range."""


@dataclass(frozen=True)
class CleanupParams:
    """Parameters of ``clean``. Frame counts assume about 15 fps; 0 (1 for the median) switches a step off.

    min_confidence: samples whose confidence (``meta["confidence"]``, 0..1, MSR only) is below this
        are treated as missing. Off (0) by default: MSR gives its centre joints and feet confidence
        0 in 87-97 per cent of frames, so confidence is no tracking flag for them.
    remove_spikes: look for spikes (``find_spikes``).
    spike_sigmas: a spike misses both its past and future predictions by more than this many times
        the joint's median miss over the clip ...
    spike_min_cm: ... and by more than this (15 cm: 34 m/s^2 at 15 fps).
    bone_tolerance: a bone off its clip median length by more than this fraction of it ...
    bone_min_cm: ... and by more than this many cm flags its child joint (bone_tolerance 0: off).
    max_fill: longest run of flagged frames of a joint that is interpolated; longer runs are kept
        as recorded (0: no limit).
    median_window: frames of the running median filter (odd; 1: off).
    savgol_window: frames of the Savitzky-Golay filter (odd, > savgol_order; 0: off).
    savgol_order: polynomial order of the Savitzky-Golay filter.
    restore_bone_lengths: after smoothing, set every bone to its clip median length.
    """

    min_confidence: float = 0.0
    remove_spikes: bool = True
    spike_sigmas: float = 8.0
    spike_min_cm: float = 15.0
    bone_tolerance: float = 0.5
    bone_min_cm: float = 10.0
    max_fill: int = 5
    median_window: int = 3
    savgol_window: int = 7
    savgol_order: int = 2
    restore_bone_lengths: bool = False

    def __post_init__(self) -> None:
        def whole(name: str, value, minimum: int) -> int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise CleanupParamsError(f"{name} must be a whole number >= {minimum}, got {value!r}")
            return int(value)

        def number(name: str, value, minimum: float, maximum: float = np.inf, *, open_min: bool = False) -> None:
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            if not ok or not np.isfinite(value) or not minimum <= value <= maximum or (open_min and value == minimum):
                bound = f"> {minimum}" if open_min else f">= {minimum}"
                if np.isfinite(maximum):
                    bound += f" and <= {maximum}"
                raise CleanupParamsError(f"{name} must be a number {bound}, got {value!r}")

        number("min_confidence", self.min_confidence, 0.0, 1.0)
        for name in ("remove_spikes", "restore_bone_lengths"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise CleanupParamsError(f"{name} must be True or False, got {getattr(self, name)!r}")
        number("spike_sigmas", self.spike_sigmas, 0.0, open_min=True)
        number("spike_min_cm", self.spike_min_cm, 0.0)
        number("bone_tolerance", self.bone_tolerance, 0.0)
        number("bone_min_cm", self.bone_min_cm, 0.0)
        whole("max_fill", self.max_fill, 0)
        med = whole("median_window", self.median_window, 1)
        if med % 2 == 0:
            raise CleanupParamsError(f"median_window must be odd (1: off), got {med}")
        order = whole("savgol_order", self.savgol_order, 0)
        sg = whole("savgol_window", self.savgol_window, 0)
        if sg and (sg % 2 == 0 or sg <= order):
            raise CleanupParamsError(
                f"savgol_window must be 0 (off) or odd and greater than savgol_order ({order}), got {sg}"
            )


def clean(motion: Motion, *, params: CleanupParams = CleanupParams()) -> Motion:
    """A cleaned copy of a motion: outliers replaced, then median and Savitzky-Golay filtered.

    The result is a position motion with the same skeleton, fps and frame count (a rotation motion
    is cleaned through its positions). Its meta is the input's plus ``cleanup``: the parameters,
    ``replaced`` (F, J) bool (samples interpolated in step 1) and counts of missing, spike and bone
    outlier samples and of flagged samples kept because their run was longer than ``max_fill``.
    """
    if not isinstance(params, CleanupParams):
        raise CleanupParamsError(f"params must be a CleanupParams, got {type(params).__name__}")
    pos = np.array(motion.positions, dtype=np.float64)  # (F, J, 3)
    F, J = pos.shape[:2]
    missing = np.zeros((F, J), dtype=bool)
    conf = motion.meta.get("confidence")
    if params.min_confidence > 0 and conf is not None and np.shape(conf) == (F, J):
        missing = np.asarray(conf) < params.min_confidence
    spikes = find_spikes(pos, params) if params.remove_spikes else np.zeros((F, J), dtype=bool)
    bones = (
        find_bone_outliers(pos, motion.skeleton, params, missing | spikes)
        if params.bone_tolerance > 0
        else np.zeros((F, J), dtype=bool)
    )
    flagged = missing | spikes | bones
    replaced = drop_long_runs(flagged, params.max_fill) if params.max_fill else flagged
    out = fill_missing(pos, replaced)
    out = smooth(out, params)
    if params.restore_bone_lengths:
        out = restore_bone_lengths(out, motion.skeleton)
    meta = dict(motion.meta)
    meta["cleanup"] = {
        "params": asdict(params),
        "replaced": replaced,
        "missing": int(missing.sum()),
        "spikes": int(spikes.sum()),
        "bone_outliers": int((bones & ~spikes & ~missing).sum()),
        "kept_long_runs": int((flagged & ~replaced).sum()),
    }
    return Motion.from_positions(motion.skeleton, out, motion.fps, **meta)


def find_spikes(pos: np.ndarray, params: CleanupParams) -> np.ndarray:
    """(F, J) bool: samples that neither their past nor their future predicts.

    Each sample is predicted by straight-line extrapolation from the two samples before it and,
    separately, from the two after it. The smaller of the two misses is its spike score: a jump out
    of the trajectory and back misses both, while a fast but smooth movement, a turn, or a sudden
    start or stop fits at least one side. A sample is a spike when its score exceeds both
    ``spike_min_cm`` and ``spike_sigmas`` times the joint's median score over the clip (its noise
    level). Interpolation over the spikes then repairs them.
    """
    F, J = pos.shape[:2]
    past = np.full((F, J), np.inf)
    future = np.full((F, J), np.inf)
    if F >= 3:
        second = np.linalg.norm(pos[2:] - 2 * pos[1:-1] + pos[:-2], axis=-1)  # (F - 2, J)
        past[2:] = second  # sample t against 2 p[t-1] - p[t-2]
        future[:-2] = second  # sample t against 2 p[t+1] - p[t+2]
    score = np.minimum(past, future)
    score[~np.isfinite(score)] = 0.0  # clips under 3 frames: nothing to compare with
    noise = np.median(score, axis=0, keepdims=True)  # (1, J)
    return score > np.maximum(params.spike_min_cm, params.spike_sigmas * noise)


def find_bone_outliers(
    pos: np.ndarray, skeleton: Skeleton, params: CleanupParams, known: np.ndarray
) -> np.ndarray:
    """(F, J) bool: child joints whose bone is off its clip median length by more than
    ``bone_tolerance`` of that length and by more than ``bone_min_cm``.

    ``known`` marks samples already found bad: a bone whose parent end is bad blames the parent, so
    the child is not marked for it.
    """
    F, J = pos.shape[:2]
    out = np.zeros((F, J), dtype=bool)
    bad = known.copy()
    for parent, child in skeleton.bones:  # topological order: a parent's verdict comes first
        length = np.linalg.norm(pos[:, child] - pos[:, parent], axis=-1)  # (F,)
        ref = np.median(length)
        if ref <= 0:
            continue
        off = np.abs(length - ref) > max(params.bone_tolerance * ref, params.bone_min_cm)
        hit = off & ~bad[:, parent]
        out[:, child] |= hit
        bad[:, child] |= hit
    return out


def drop_long_runs(mask: np.ndarray, max_run: int) -> np.ndarray:
    """(F, J) mask with every run of consecutive True frames longer than ``max_run`` cleared."""
    out = mask.copy()
    pad = np.zeros((1,) + mask.shape[1:], dtype=np.int8)
    edges = np.diff(np.concatenate([pad, mask.astype(np.int8), pad]), axis=0)  # (F + 1, J): +1 start, -1 stop
    for j in np.nonzero(mask.any(axis=0))[0]:
        starts = np.nonzero(edges[:, j] == 1)[0]
        stops = np.nonzero(edges[:, j] == -1)[0]
        for a, b in zip(starts, stops):
            if b - a > max_run:
                out[a:b, j] = False
    return out


def restore_bone_lengths(pos: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(F, J, 3) positions with every bone at its clip median length, directions kept, root outwards."""
    pos = np.asarray(pos, dtype=np.float64)
    out = pos.copy()
    for parent, child in skeleton.bones:  # topological order: the parent is already placed
        d = pos[:, child] - pos[:, parent]  # (F, 3)
        length = np.linalg.norm(d, axis=-1, keepdims=True)
        ref = np.median(length)
        unit = np.divide(d, length, out=np.zeros_like(d), where=length > 0)
        out[:, child] = out[:, parent] + ref * unit
    return out


def smooth(pos: np.ndarray, params: CleanupParams) -> np.ndarray:
    """Steps 2 and 3 of ``clean``: running median, then Savitzky-Golay, along the time axis."""
    out = np.asarray(pos, dtype=np.float64)
    F = out.shape[0]
    if params.median_window > 1 and F > 1:
        out = median_filter(out, size=(params.median_window,) + (1,) * (out.ndim - 1), mode="nearest")
    if params.savgol_window:
        window = min(params.savgol_window, F if F % 2 else F - 1)
        if window > params.savgol_order:
            out = savgol_filter(out, window, params.savgol_order, axis=0, mode="interp")
    return out


# --- metrics -----------------------------------------------------------------------------------------
def jitter(positions: np.ndarray, fps: float) -> float:
    """Mean acceleration magnitude by second differences, in cm/s^2: mean over frames and joints of
    ``|p[t+1] - 2 p[t] + p[t-1]| * fps^2``.

    Real motion contributes too, but in 15 fps Kinect data the sensor noise dominates; compare the
    same clip before and after cleaning. NaN for clips shorter than 3 frames.
    """
    p = np.asarray(positions, dtype=np.float64)
    if p.shape[0] < 3:
        return float("nan")
    return float(np.linalg.norm(np.diff(p, n=2, axis=0), axis=-1).mean() * fps**2)


def bone_length_cv(positions: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(B,) coefficient of variation (std / mean over frames) of each bone's length, skeleton.bones order."""
    p = np.asarray(positions, dtype=np.float64)
    par = np.array([b[0] for b in skeleton.bones], dtype=int)
    ch = np.array([b[1] for b in skeleton.bones], dtype=int)
    length = np.linalg.norm(p[:, ch] - p[:, par], axis=-1)  # (F, B)
    mean = length.mean(axis=0)
    return np.divide(length.std(axis=0), mean, out=np.zeros_like(mean), where=mean > 0)
