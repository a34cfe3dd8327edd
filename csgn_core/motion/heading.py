"""Heading: which way a body faces, about the vertical (y) axis. One home for every reading of it.

- From a root rotation (``heading_np``, and ``heading`` for torch tensors): the yaw read from both
  horizontal axes of the rotation matrix, so it stays defined when one of them points up or down.
- From joint positions (``heading_pairs``, ``facing_angle``): the summed left-to-right vector of
  the left/right pairs rigid with the trunk (hips, shoulders), for motions known only by positions.
- ``rotate_heading`` turns feature windows of the networks (``nn/features.py`` layout) about y.

Torch is imported only by the torch functions.
"""
from __future__ import annotations

import numpy as np

from csgn_core.motion.skeleton import Skeleton


def heading_np(r0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin, cos) of the heading (yaw about y) of root rotations (..., 3, 3).

    The yaw is read from both horizontal axes (z maps to (sin, 0, cos), x to (cos, 0, -sin) under a
    pure yaw), summed, so it stays defined when one of them points straight up or down.
    """
    s = r0[..., 0, 2] - r0[..., 2, 0]
    c = r0[..., 2, 2] + r0[..., 0, 0]
    n = np.maximum(np.hypot(s, c), 1e-9)
    return s / n, c / n


def heading(r0):
    """Torch version of ``heading_np``: (..., 3, 3) tensors -> (sin, cos) tensors."""
    import torch

    s = r0[..., 0, 2] - r0[..., 2, 0]
    c = r0[..., 2, 2] + r0[..., 0, 0]
    n = torch.sqrt(s * s + c * c).clamp_min(1e-6)
    return s / n, c / n


def heading_pairs(skeleton: Skeleton) -> list[tuple[int, int]]:
    """Left/right pairs rigid with the trunk (both hang from one parent): hips, shoulders."""
    pairs = [(a, b) for a, b in skeleton.lr_pairs if skeleton.parents[a] == skeleton.parents[b]]
    return pairs or list(skeleton.lr_pairs)


def facing_angle(pose: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(..., J, 3) positions -> (...,) angle of the body's left vector from +x towards +z (0 where
    the skeleton has no left/right pairs or they coincide)."""
    pairs = heading_pairs(skeleton)
    if not pairs:
        return np.zeros(pose.shape[:-2])
    left = sum(pose[..., a, :] - pose[..., b, :] for a, b in pairs)
    ang = np.arctan2(left[..., 2], left[..., 0])
    return np.where(np.hypot(left[..., 0], left[..., 2]) > 1e-6, ang, 0.0)


def rotate_heading(x, angle):
    """Rotate whole feature windows (N, 9, T, J) about the vertical axis by ``angle`` (N,): only the
    root's global rotation changes (heading-frame velocities and local rotations are invariant)."""
    import torch

    c, s = torch.cos(angle)[:, None], torch.sin(angle)[:, None]  # (N, 1)
    x = x.clone()
    for col in (0, 3):
        vx, vz = x[:, col, :, 0], x[:, col + 2, :, 0]  # (N, T)
        x[:, col, :, 0], x[:, col + 2, :, 0] = c * vx + s * vz, -s * vx + c * vz
    return x
