"""Joint positions to joint rotations: fit a skeleton's local rotations to a position motion.

``positions_to_rotations`` walks the tree from the root, one vectorised step per joint:

* A joint with several children turns the rest directions of all of them at once onto the observed
  directions: a least-squares rotation (Kabsch / SVD) per frame, each child weighted by its bone
  length.
* A joint with one child takes the exact swing onto the child's direction. The twist about the
  bone is undetermined by the child alone; it comes from the grandchildren (their rest offsets,
  where they leave the bone's line, turned towards their observed directions) and otherwise stays
  that of the parent's frame (the minimal swing).
* Each joint's rotation track is made sign-continuous and, if asked, smoothed over time (Gaussian)
  before its children are fitted, so the children see the smoothed parent.

Bone lengths are fixed (a rotation motion cannot stretch bones) while measured ones are not, so a
solve trades joint-position error against bone-direction error. A bone that keeps its observed
direction carries its parent's position error on to its child, and errors pile up along a chain;
a bone aimed from the rebuilt parent at the observed child stops the error but tilts, by many
degrees when it is short. The solver lets every rebuilt joint drift up to a slack from the observed
one (2 cm + 70 cm^2 / bone length: more for short bones) and tilts a bone only by what brings the
carried error back to the slack. On the Tang dances this keeps both errors near their floors.

With ``fit_rest`` (the default) the rest pose is first fitted to the motion: every bone gets the
motion's mean length, and the children of a joint with several children get their mean layout
around it (kept in the skeleton's own orientation), so that the per-frame fits match the
performer's body rather than an average one.

``solve_report`` measures a solve against the observed positions: joint-position RMS error and bone
direction error, overall and per bone.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, global_rotations
from csgn_core.motion.skeleton import Skeleton

# Slack (cm) = AIM_SLACK[0] + AIM_SLACK[1] / bone length: how far a rebuilt joint may sit from the
# observed one before its child bones tilt to stop the error from spreading (tuned on the Tang data).
AIM_SLACK = (2.0, 70.0)
# How strongly a one-child joint keeps its parent's twist against the grandchildren cue
# (relative to the cue of grandchildren about 13 degrees off the bone line).
_TWIST_PRIOR = 0.05
# Rest offsets shorter than this (cm) carry no direction (BVH joints that sit on their parent).
_MIN_OFFSET = 1e-6


def positions_to_rotations(
    motion: Motion,
    skeleton: Skeleton | None = None,
    *,
    smooth: float = 0.0,
    fit_rest: bool = True,
) -> Motion:
    """A position motion to a rotation motion on ``skeleton`` (default: the motion's own skeleton).

    smooth: Gaussian sigma, in frames, applied to every joint's rotation track (0: no smoothing). It
    removes jitter at a price measured against the raw positions: on the Tang dances sigma 1 adds
    about 0.5 cm RMS and 1 degree of direction error on average, more on the fast Waltz takes.
    fit_rest: fit the rest pose to the motion first (mean bone lengths, mean layout of the children
    of multi-child joints; see fit_rest_pose); otherwise the skeleton's offsets are used as given.
    The root translation is the observed root position. ``skeleton`` must name the motion's joints
    (any order) with the same parents. A rotation motion is solved from its FK positions.
    """
    if not np.isfinite(smooth) or smooth < 0:
        raise ValueError(f"smooth must be a non-negative number of frames, got {smooth}")
    skeleton = skeleton or motion.skeleton
    P = _positions_in(motion, skeleton)  # (F, J, 3) in skeleton order
    if fit_rest:
        skeleton = fit_rest_pose(skeleton, P)
    local = _solve(P, skeleton, smooth)
    meta = dict(motion.meta)
    meta["solved_from_positions"] = True
    return Motion(skeleton, motion.fps, rotations=local, root=P[:, 0].copy(), meta=meta)


def fit_rest_pose(skeleton: Skeleton, positions: np.ndarray, iterations: int = 2) -> Skeleton:
    """The skeleton with its rest offsets fitted to observed positions (F, J, 3) in its joint order.

    Every offset is rescaled to the mean observed bone length (its direction kept). Where a joint
    has several children, their rest directions become the mean of their observed directions in the
    joint's solved frame, turned as a whole back onto the old layout so that the rest pose keeps the
    skeleton's orientation. One-child bones keep their rest direction (it only sets what a zero
    rotation means).
    """
    positions = np.asarray(positions, dtype=np.float64)
    O = skeleton.offsets.copy()
    for p, c in skeleton.bones:
        n = np.linalg.norm(O[c])
        if n > _MIN_OFFSET:
            O[c] *= np.linalg.norm(positions[:, c] - positions[:, p], axis=-1).mean() / n
    fitted = skeleton.with_offsets(O)
    multi = [(j, kids) for j, kids in enumerate(_informative_children(fitted)) if len(kids) > 1]
    if not multi:
        return fitted
    for _ in range(iterations):
        glob = global_rotations(fitted, _solve(positions, fitted, smooth=0.0, aim=False))
        O = fitted.offsets.copy()
        for j, kids in multi:
            obs = Q.rotate(Q.conjugate(glob[:, j])[:, None], positions[:, kids] - positions[:, j : j + 1])
            obs /= np.maximum(np.linalg.norm(obs, axis=-1, keepdims=True), 1e-12)
            mean_dir = obs.mean(0)
            mean_dir /= np.maximum(np.linalg.norm(mean_dir, axis=-1, keepdims=True), 1e-12)  # (C, 3)
            lengths = np.linalg.norm(O[kids], axis=-1)
            new = mean_dir * lengths[:, None]
            # Turn the new layout as a whole onto the old one: only the shape changes.
            back = Q.fit_rotations(new, O[kids][None], lengths)[0]
            O[kids] = Q.rotate(back, new)
        fitted = fitted.with_offsets(O)
    return fitted


def solve_report(motion: Motion, solved: Motion) -> dict:
    """How well ``solved`` (a rotation motion) reproduces ``motion``'s joint positions.

    Returns frames, rms_cm (joint-position RMS over all joints and frames), max_cm,
    mean_dir_err_deg (mean angle between rebuilt and observed bone directions over all bones and
    frames) and per_bone: {child joint name: {"rms_cm": ..., "dir_err_deg": ...}} for every bone,
    where rms_cm is the position error of the child joint.
    """
    if motion.n_frames != solved.n_frames:
        raise ValueError(f"frame counts differ: {motion.n_frames} vs {solved.n_frames}")
    skeleton = solved.skeleton
    obs = _positions_in(motion, skeleton)  # (F, J, 3)
    got = solved.positions  # (F, J, 3)
    err = np.linalg.norm(got - obs, axis=-1)  # (F, J)
    par = np.array([p for p, _ in skeleton.bones], dtype=int)
    ch = np.array([c for _, c in skeleton.bones], dtype=int)
    d_obs = obs[:, ch] - obs[:, par]
    d_got = got[:, ch] - got[:, par]
    norm = np.linalg.norm(d_obs, axis=-1) * np.linalg.norm(d_got, axis=-1)
    cos = np.sum(d_obs * d_got, -1) / np.maximum(norm, 1e-12)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))  # (F, B)
    per_bone = {
        skeleton.joints[c]: {"rms_cm": float(np.sqrt(np.mean(err[:, c] ** 2))), "dir_err_deg": float(ang[:, b].mean())}
        for b, c in enumerate(ch)
    }
    return {
        "frames": int(motion.n_frames),
        "rms_cm": float(np.sqrt(np.mean(err**2))),
        "max_cm": float(err.max()),
        "mean_dir_err_deg": float(ang.mean()) if ang.size else 0.0,
        "per_bone": per_bone,
    }


# --- internals ------------------------------------------------------------------------------------


def _solve(P: np.ndarray, skeleton: Skeleton, smooth: float, aim: bool = True) -> np.ndarray:
    """Local rotations (F, J, 4) fitting positions P (F, J, 3); see the module docstring."""
    F, J = P.shape[:2]
    O = skeleton.offsets  # (J, 3)
    kids_of = _informative_children(skeleton)
    lengths = np.linalg.norm(O, axis=-1)

    local = Q.identity((F, J))
    glob = Q.identity((F, J))
    rebuilt = np.empty_like(P)  # (F, J, 3) forward-kinematics positions so far
    rebuilt[:, 0] = P[:, 0]
    for j in range(J):
        p = skeleton.parents[j]
        parent_rot = glob[:, p] if p >= 0 else Q.identity((F,))  # (F, 4)
        inv_parent = Q.conjugate(parent_rot)
        kids = kids_of[j]
        if kids:
            # A bone keeps its observed direction while its rebuilt parent sits within a slack of
            # the observed one; past the slack it tilts just enough to carry no more than the
            # slack on to its child. Short bones get more slack: tilting them costs more degrees.
            off = rebuilt[:, j : j + 1] - P[:, j : j + 1]  # (F, 1, 3)
            slack = (AIM_SLACK[0] + AIM_SLACK[1] / np.maximum(lengths[kids], 1e-9))[None, :, None]  # (1, C, 1)
            dist = np.linalg.norm(off, axis=-1, keepdims=True)
            reach = np.maximum(0.0, 1.0 - slack / np.maximum(dist, 1e-12)) if aim else np.zeros_like(slack)
            base = P[:, j : j + 1] + reach * off  # (F, C, 3)
            target = Q.rotate(inv_parent[:, None], P[:, kids] - base)  # (F, C, 3) parent frame
            if len(kids) == 1:
                rot = _swing_twist(O, kids[0], target[:, 0], skeleton, P, inv_parent)
            else:
                rot = Q.fit_rotations(O[kids], target, lengths[kids])
            rot = Q.make_continuous(rot)
            if smooth > 0 and F > 1:
                rot = Q.normalize(gaussian_filter1d(rot, smooth, axis=0, mode="nearest"))
            local[:, j] = rot
        glob[:, j] = Q.multiply(parent_rot, local[:, j])
        for c in skeleton.children(j):
            rebuilt[:, c] = rebuilt[:, j] + Q.rotate(glob[:, j], np.broadcast_to(O[c], (F, 3)))
    return local


def _informative_children(skeleton: Skeleton) -> list[list[int]]:
    """Per joint, the children whose rest offset has a direction."""
    long_enough = np.linalg.norm(skeleton.offsets, axis=-1) > _MIN_OFFSET
    return [[c for c in skeleton.children(j) if long_enough[c]] for j in range(skeleton.n_joints)]


def _positions_in(motion: Motion, skeleton: Skeleton) -> np.ndarray:
    """The motion's global positions (F, J, 3) in ``skeleton``'s joint order, checked."""
    src = motion.skeleton
    if src.joints == skeleton.joints:
        cols = np.arange(skeleton.n_joints)
    else:
        if set(src.joints) != set(skeleton.joints):
            diff = ", ".join(sorted(set(skeleton.joints) ^ set(src.joints))[:5])
            raise CSGNError(f"skeleton {skeleton.name!r} and the motion's {src.name!r} name different joints ({diff})")
        cols = np.array([src.index(n) for n in skeleton.joints])
    for j, p in enumerate(skeleton.parents):
        sp = src.parents[cols[j]]
        same = (p < 0 and sp < 0) or (p >= 0 and sp >= 0 and src.joints[sp] == skeleton.joints[p])
        if not same:
            raise CSGNError(f"skeleton {skeleton.name!r} and the motion's {src.name!r} differ at joint {skeleton.joints[j]!r}")
    P = np.asarray(motion.positions, dtype=np.float64)[:, cols]
    if P.shape[0] == 0:
        raise CSGNError("the motion has no frames")
    if not np.isfinite(P).all():
        raise CSGNError("the motion holds NaN or infinite positions; fill or drop those frames first")
    return P


def _swing_twist(
    O: np.ndarray, child: int, target: np.ndarray, skeleton: Skeleton, P: np.ndarray, inv_parent: np.ndarray
) -> np.ndarray:
    """Local rotations (F, 4) of a one-child joint: exact swing onto the child, twist from the grandchildren.

    target: the observed child direction in the parent's frame (F, 3). The twist about the bone turns
    the grandchildren's rest offsets (as if the child kept its rest rotation) towards their observed
    directions, each weighted by how far both leave the bone's line; without such a cue the twist is
    zero (the minimal swing from the parent's frame).
    """
    F = target.shape[0]
    swing = Q.between(np.broadcast_to(O[child], (F, 3)), target)  # (F, 4)
    grand = [g for g in skeleton.children(child) if np.linalg.norm(O[g]) > _MIN_OFFSET]
    if not grand:
        return swing
    axis = target / np.maximum(np.linalg.norm(target, axis=-1, keepdims=True), 1e-12)  # (F, 3)
    s = np.zeros(F)
    c = np.zeros(F)
    prior = np.zeros(F)
    for g in grand:
        obs = P[:, g] - P[:, child]
        x = Q.rotate(swing, np.broadcast_to(O[g], (F, 3)))  # rest grandchild offset after the swing
        y = Q.rotate(inv_parent, obs)  # observed, parent frame
        x = x - np.sum(x * axis, -1, keepdims=True) * axis
        y = y - np.sum(y * axis, -1, keepdims=True) * axis
        s += np.sum(axis * np.cross(x, y), -1)
        c += np.sum(x * y, -1)
        prior += np.linalg.norm(O[g]) * np.linalg.norm(obs, axis=-1)
    theta = np.arctan2(s, c + _TWIST_PRIOR * prior)
    return Q.multiply(Q.from_axis_angle(axis, theta), swing)
