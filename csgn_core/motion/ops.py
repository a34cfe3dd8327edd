"""Pure operations on motions: resampling to another frame rate, left/right mirroring; runs of a mask, smoothstep."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion

_MIRROR_X = np.array([-1.0, 1.0, 1.0])


def smoothstep(u: np.ndarray) -> np.ndarray:
    """3u^2 - 2u^3 of u clipped to [0, 1]: 0 to 1 with zero slope at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, stop) runs where mask (F,) is True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(d[::2].tolist(), d[1::2].tolist()))


def resample(motion: Motion, fps: float) -> Motion:
    """The motion at another frame rate over the same duration (linear positions, slerp rotations).

    Frame i of the result sits at time i / fps; the last frame is the last source frame that time
    reaches, so no frame is extrapolated.
    """
    if fps <= 0 or not np.isfinite(fps):
        raise ValueError(f"fps must be positive, got {fps}")
    if abs(fps - motion.fps) < 1e-9:
        return motion.copy()
    F = motion.n_frames
    n_out = int(np.floor((F - 1) * fps / motion.fps + 1e-9)) + 1
    t = np.arange(n_out) * (motion.fps / fps)  # in source frames
    i0 = np.clip(np.floor(t).astype(int), 0, F - 1)
    i1 = np.clip(i0 + 1, 0, F - 1)
    w = (t - i0)[:, None, None]
    meta = dict(motion.meta, resampled_from_fps=motion.fps)
    if motion.rotations is not None:
        rot = Q.slerp(motion.rotations[i0], motion.rotations[i1], w)
        root = motion.root[i0] * (1 - w[:, 0]) + motion.root[i1] * w[:, 0]
        return replace(motion, fps=fps, rotations=Q.make_continuous(rot), root=root, meta=meta)
    p = motion.joint_positions
    return replace(motion, fps=fps, joint_positions=p[i0] * (1 - w) + p[i1] * w, meta=meta)


def mirror(motion: Motion) -> Motion:
    """Reflect the motion through the character's sagittal plane (x -> -x) and swap left and right.

    For rotation motions the result lives on the mirrored skeleton (offsets of each joint's
    counterpart, reflected), so its forward kinematics is exactly the mirrored positions even when
    the skeleton is not perfectly symmetric.
    """
    sk = motion.skeleton
    m = sk.mirror_map()
    if motion.rotations is None:
        return replace(motion, joint_positions=motion.joint_positions[:, m] * _MIRROR_X, meta=dict(motion.meta))
    # Conjugating a rotation by the reflection diag(-1, 1, 1) negates its y and z components.
    rot = motion.rotations[:, m] * np.array([1.0, 1.0, -1.0, -1.0])
    # Swapping joints must keep parents before children; lr_pairs never pair a joint with its ancestor.
    offsets = sk.offsets[m] * _MIRROR_X
    mirrored = sk.with_offsets(offsets)
    if any(sk.parents[m[j]] != (m[sk.parents[j]] if sk.parents[j] >= 0 else -1) for j in range(sk.n_joints)):
        raise ValueError(f"skeleton {sk.name!r}: left/right pairs do not mirror the tree")
    return replace(motion, skeleton=mirrored, rotations=rot, root=motion.root * _MIRROR_X, meta=dict(motion.meta))
