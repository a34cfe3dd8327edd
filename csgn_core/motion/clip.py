"""Motion: one type for joint rotations or joint positions, with fps and skeleton.

A rotation motion holds local joint rotations as unit quaternions (F, J, 4), (w, x, y, z), and the
root joint's global position (F, 3). A position motion holds global joint positions (F, J, 3).
Units are centimetres and seconds, y up, right-handed.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np

from csgn_core.motion import quaternion as Q
from csgn_core.motion.skeleton import Skeleton


@dataclass(eq=False)
class Motion:
    skeleton: Skeleton
    fps: float
    rotations: np.ndarray | None = None  # (F, J, 4) local quaternions
    root: np.ndarray | None = None  # (F, 3) root joint global position, cm
    joint_positions: np.ndarray | None = None  # (F, J, 3) global positions, cm (position motions)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        self.fps = float(self.fps)
        J = self.skeleton.n_joints
        if self.rotations is not None:
            self.rotations = np.asarray(self.rotations, dtype=np.float64)
            if self.rotations.ndim != 3 or self.rotations.shape[1:] != (J, 4):
                raise ValueError(f"rotations must be (F, {J}, 4), got {self.rotations.shape}")
            F = self.rotations.shape[0]
            self.root = np.zeros((F, 3)) if self.root is None else np.asarray(self.root, dtype=np.float64)
            if self.root.shape != (F, 3):
                raise ValueError(f"root must be ({F}, 3), got {self.root.shape}")
        elif self.joint_positions is not None:
            self.joint_positions = np.asarray(self.joint_positions, dtype=np.float64)
            if self.joint_positions.ndim != 3 or self.joint_positions.shape[1:] != (J, 3):
                raise ValueError(f"positions must be (F, {J}, 3), got {self.joint_positions.shape}")
        else:
            raise ValueError("a motion needs rotations or positions")
        self._fk_cache: np.ndarray | None = None

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_positions(cls, skeleton: Skeleton, positions: np.ndarray, fps: float, **meta) -> "Motion":
        return cls(skeleton, fps, joint_positions=positions, meta=dict(meta))

    @classmethod
    def from_rotations(
        cls, skeleton: Skeleton, rotations: np.ndarray, root: np.ndarray, fps: float, **meta
    ) -> "Motion":
        return cls(skeleton, fps, rotations=rotations, root=root, meta=dict(meta))

    # --- properties ------------------------------------------------------------------------
    @property
    def has_rotations(self) -> bool:
        return self.rotations is not None

    @property
    def n_frames(self) -> int:
        return (self.rotations if self.rotations is not None else self.joint_positions).shape[0]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def positions(self) -> np.ndarray:
        """(F, J, 3) global joint positions (forward kinematics for rotation motions)."""
        if self.joint_positions is not None:
            return self.joint_positions
        if self._fk_cache is None:
            self._fk_cache = forward_kinematics(self.skeleton, self.rotations, self.root)
        return self._fk_cache

    def bone_lengths(self) -> np.ndarray:
        """(F, B) length of every bone in every frame, bones in skeleton.bones order."""
        p = self.positions
        bones = self.skeleton.bones
        par = np.array([b[0] for b in bones], dtype=int)
        ch = np.array([b[1] for b in bones], dtype=int)
        return np.linalg.norm(p[:, ch] - p[:, par], axis=-1)

    def slice(self, start: int, stop: int) -> "Motion":
        if self.rotations is not None:
            return replace(self, rotations=self.rotations[start:stop], root=self.root[start:stop], meta=dict(self.meta))
        return replace(self, joint_positions=self.joint_positions[start:stop], meta=dict(self.meta))

    def copy(self) -> "Motion":
        return self.slice(0, self.n_frames)


def forward_kinematics(skeleton: Skeleton, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Global joint positions (F, J, 3) from local quaternions (F, J, 4) and root positions (F, 3).

    Works on contiguous component planes (4, J, F) so each tree level is plain elementwise arithmetic
    without temporaries; joints are grouped by depth so each level is one vectorised step.
    """
    r = np.ascontiguousarray(np.moveaxis(rotations, (0, 2), (2, 0)))  # (4, J, F)
    g = np.empty_like(r)  # global rotations
    g[:, 0] = r[:, 0]
    pos = np.empty((3,) + r.shape[1:])  # (3, J, F)
    pos[:, 0] = np.asarray(root).T
    off = skeleton.offsets
    for idx, par in _levels(skeleton):
        gw, gx, gy, gz = g[:, par]  # (n, F) each
        rw, rx, ry, rz = r[:, idx]
        ox, oy, oz = (off[idx, k][:, None] for k in range(3))  # (n, 1)
        # Rotate the offset by the parent's global rotation: o + w t + u x t with t = 2 u x o.
        tx, ty, tz = 2 * (gy * oz - gz * oy), 2 * (gz * ox - gx * oz), 2 * (gx * oy - gy * ox)
        pp = pos[:, par]
        pos[0, idx] = pp[0] + ox + gw * tx + (gy * tz - gz * ty)
        pos[1, idx] = pp[1] + oy + gw * ty + (gz * tx - gx * tz)
        pos[2, idx] = pp[2] + oz + gw * tz + (gx * ty - gy * tx)
        g[0, idx] = gw * rw - gx * rx - gy * ry - gz * rz
        g[1, idx] = gw * rx + gx * rw + gy * rz - gz * ry
        g[2, idx] = gw * ry - gx * rz + gy * rw + gz * rx
        g[3, idx] = gw * rz + gx * ry - gy * rx + gz * rw
    return np.moveaxis(pos, (0, 2), (2, 0))  # (F, J, 3)


def global_rotations(skeleton: Skeleton, rotations: np.ndarray) -> np.ndarray:
    """(F, J, 4) global joint orientations from local ones."""
    glob = np.empty_like(rotations)
    glob[:, 0] = rotations[:, 0]
    for idx, par in _levels(skeleton):
        glob[:, idx] = Q.multiply(glob[:, par], rotations[:, idx])
    return glob


@functools.lru_cache(maxsize=64)
def _levels_cached(parents: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    depth = np.zeros(len(parents), dtype=int)
    for j, p in enumerate(parents):
        if p >= 0:
            depth[j] = depth[p] + 1
    out = []
    for d in range(1, depth.max() + 1):
        idx = np.nonzero(depth == d)[0]
        out.append((idx, np.array([parents[j] for j in idx])))
    return tuple(out)


def _levels(skeleton: Skeleton) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Joints grouped by depth below the root, with their parents: (indices, parent indices) per level."""
    return _levels_cached(skeleton.parents)
