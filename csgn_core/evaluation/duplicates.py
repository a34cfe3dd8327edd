"""Held-out windows that the training split already holds: a nearest-window search.

Many Tang dances share passages pose for pose (most 1 s windows of C_9 and R_9 are copies of windows
of C_2, C_4, C_6 and R_4, R_6), and a held-out window with a copy in the training split measures
memory, not generalisation. ``WindowIndex`` describes every ``WINDOW_S`` window of the training
clips (stride one frame) by its joint positions relative to the root's place and facing at the
window's first frame, sampled every ``SUB`` frames; a query window is a copy when its nearest
training window is within ``COPY_CM`` mean joint distance (the data's own bone-length noise is 3-4
cm; two different dancers' windows sit 20 cm and more apart, copies under 1 cm).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from csgn_core.motion.clip import Motion
from csgn_core.motion.heading import facing_angle

WINDOW_S = 1.0
SUB = 5  # frames between the sampled poses of a window
COPY_CM = 3.0


def window_frames(fps: float) -> int:
    """Frames of a WINDOW_S window at this frame rate."""
    return max(SUB + 1, int(round(WINDOW_S * fps)))


def descriptors(positions: np.ndarray, skeleton, fps: float, starts: np.ndarray) -> np.ndarray:
    """(n, D) descriptors of the windows of ``positions`` (F, J, 3) that begin at ``starts``: poses
    every SUB frames, relative to the root's floor position and facing (``heading.facing_angle``) at
    the first frame."""
    W = window_frames(fps)
    idx = starts[:, None] + np.arange(0, W, SUB)[None]  # (n, K)
    P = positions[idx]  # (n, K, J, 3)
    origin = positions[starts, 0]  # (n, 3)
    ang = facing_angle(positions[starts], skeleton)  # (n,) the body's left vector at the first frame
    rel = P - origin[:, None, None] * np.array([1.0, 0.0, 1.0])
    c, s = np.cos(ang)[:, None, None], np.sin(ang)[:, None, None]
    x = c * rel[..., 0] + s * rel[..., 2]
    z = -s * rel[..., 0] + c * rel[..., 2]
    return np.stack([x, rel[..., 1], z], axis=-1).reshape(len(starts), -1).astype(np.float32)


class WindowIndex:
    """The training split's windows, for ``nearest`` and ``is_copy`` queries."""

    def __init__(self, clips: Sequence[Motion]):
        if not clips:
            raise ValueError("a window index needs training clips")
        self.fps, self.skeleton = float(clips[0].fps), clips[0].skeleton
        W = window_frames(self.fps)
        rows = []
        for c in clips:
            if c.n_frames >= W:
                rows.append(descriptors(c.positions, self.skeleton, self.fps, np.arange(c.n_frames - W + 1)))
        self.table = np.concatenate(rows) if rows else np.zeros((0, 1), np.float32)
        self.sq = (self.table ** 2).sum(axis=1)
        self.points = self.table.shape[1] // 3 if len(self.table) else 1

    def nearest(self, positions: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(n,) mean joint distance (cm, root-mean-square over poses and joints) from each query
        window to its nearest training window."""
        if len(self.table) == 0:
            return np.full(len(starts), np.inf)
        q = descriptors(positions, self.skeleton, self.fps, np.asarray(starts, dtype=np.int64))
        out = np.empty(len(q))
        for a in range(0, len(q), 256):  # (256, N) distance blocks keep memory small
            b = q[a:a + 256]
            d2 = (b ** 2).sum(1)[:, None] + self.sq[None] - 2.0 * b @ self.table.T
            out[a:a + 256] = np.sqrt(np.maximum(d2.min(axis=1), 0.0) / self.points)
        return out

    def is_copy(self, positions: np.ndarray, frame: int) -> bool:
        """Whether a WINDOW_S window holding ``frame`` (any of those starting every SUB frames up to
        one window before it) has a copy in the training split."""
        W = window_frames(self.fps)
        lo, hi = max(0, frame - W + 1), min(len(positions) - W, frame)
        if hi < lo:
            return False
        return bool((self.nearest(positions, np.arange(lo, hi + 1, SUB)) < COPY_CM).any())

    def copy_fraction(self, motion: Motion) -> float:
        """Share of the motion's WINDOW_S windows (stride SUB) that have a copy in the training split."""
        W = window_frames(self.fps)
        if motion.n_frames < W:
            return 0.0
        return float((self.nearest(motion.positions, np.arange(0, motion.n_frames - W + 1, SUB)) < COPY_CM).mean())
