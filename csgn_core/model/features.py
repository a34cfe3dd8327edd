"""What the networks see and emit: per-joint 6D rotations plus root motion, and a torch FK.

Feature tensor (N, 9, T, J), every channel roughly in [-1, 1] so the generator's tanh can reach it:

- channels 0-5 on every joint: the joint's local rotation as the first two columns of its rotation
  matrix (the "6D" representation: continuous, unlike quaternions with their double cover, and
  already inside [-1, 1]); the root joint's rotation is global, so it carries the heading;
- channels 6-8 on the root vertex only (zero on the others): the root's horizontal velocity
  (cm/frame, backward difference) expressed in the root's heading frame, divided by ``vel_scale``,
  and the root height, ``(y - height_mean) / height_scale``.

Positions are decoded by forward kinematics with the skeleton's fixed offsets, so bones keep their
length whatever the generator emits; the horizontal root track is the integral of the velocity.
The critic and the inverse network see more than the raw features (``critic_input``): the
re-orthonormalised 6D, the root channels, joint positions relative to the root in its heading frame,
and frame-to-frame differences of all of these.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.heading import heading, heading_np  # noqa: F401 - features.heading_np stays importable
from csgn_core.motion.skeleton import Skeleton

N_ROT = 6
N_ROOT = 3
N_FEAT = N_ROT + N_ROOT
N_CRITIC_BASE = N_ROT + N_ROOT + 3
N_CRITIC = 2 * N_CRITIC_BASE
N_WORLD_VEL = 3
N_CONTACT = N_ROT  # the contact channel of heel and toe joints (``contact_joints`` in the stats)


def n_critic_channels(world_velocity: bool) -> int:
    """Channels of ``FeatureCodec.critic_input``: 24, or 27 with the joints' world velocities."""
    return N_CRITIC + (N_WORLD_VEL if world_velocity else 0)


# --- rotations -----------------------------------------------------------------------------------------
def matrix_to_6d_np(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): first column then second column."""
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def quat_to_6d_np(q: np.ndarray) -> np.ndarray:
    return matrix_to_6d_np(Q.to_matrix(q))


# A generator that turns a joint half round sometimes fades a 6D column through zero instead of
# rotating it; Gram-Schmidt then reads the column's direction from a near-zero vector and the joint
# turns 90-180 degrees in one frame (session 10: every waist turn over 90 degrees in a frame of the
# dance models' free takes sat at such a dip). Such frames are decoded from their neighbours.
DEGENERATE_SHARE = 0.4  # a frame whose 6D columns span under this share of the joint's median area
GLITCH_TURN_DEG = 45.0  # ... and whose joint turns more than this into or out of it


def degenerate_frames(six: np.ndarray, share: float = DEGENERATE_SHARE, keep: np.ndarray | None = None) -> np.ndarray:
    """(F, J) bool: the frames of raw (6, F, J) 6D features whose two columns span a parallelogram
    of under ``share`` of that joint's median area over the frames (a column near zero, or the two
    near parallel): their rotation is ill-defined. Unit, orthogonal columns (real motion) never are.
    ``keep`` (F,) bool: frames never marked and left out of the median."""
    a, b = six[:3], six[3:6]
    area = np.linalg.norm(np.cross(a, b, axis=0), axis=0)  # (F, J)
    free = np.ones(len(area), bool) if keep is None else ~np.asarray(keep, bool)
    if not free.any():
        return np.zeros_like(area, dtype=bool)
    return (area < share * np.median(area[free], axis=0, keepdims=True)) & free[:, None]


def glitch_frames(six: np.ndarray, quats: np.ndarray, share: float = DEGENERATE_SHARE,
                  turn_deg: float = GLITCH_TURN_DEG, keep: np.ndarray | None = None) -> np.ndarray:
    """(F, J) bool: the runs of ``degenerate_frames`` in which the decoded joint (quats (F, J, 4),
    continuous) turns more than ``turn_deg`` in one frame, into, within or out of the run. A joint
    whose columns are short but turn smoothly (some models' head and hands, much of the time) is
    read as it is: only the jumps are glitches. ``keep`` (F,) bool: frames never marked, which end
    the runs they meet and leave the median (frames the caller replaces, such as a completion's pins)."""
    bad = degenerate_frames(six, share, keep)
    F = len(quats)
    if F < 2 or not bad.any():
        return np.zeros_like(bad)
    js = np.nonzero(bad.any(axis=0))[0]
    q = quats[:, js]
    dots = np.abs(np.sum(q[:-1] * q[1:], axis=-1))
    turn = np.degrees(2.0 * np.arccos(np.clip(dots, 0.0, 1.0)))  # (F-1, len(js)) each frame's turn
    tf = np.zeros((F, len(js)))
    tf[1:] = turn
    tf[:-1] = np.maximum(tf[:-1], turn)  # the larger turn into or out of each frame
    out = np.zeros_like(bad)
    for k, j in enumerate(js):
        col = np.concatenate([[False], bad[:, j], [False]])
        starts = np.nonzero(col[1:] & ~col[:-1])[0]
        ends = np.nonzero(~col[1:] & col[:-1])[0]
        peak = np.maximum.reduceat(np.append(tf[:, k], 0.0), np.ravel(np.column_stack([starts, ends])))[::2]
        for a, e in zip(starts[peak > turn_deg], ends[peak > turn_deg]):
            out[a:e, j] = True
    return out


def bridge_rotations(quats: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """(F, J, 4) quaternions, continuous in time, with each run of ``bad`` (F, J) frames replaced by
    the slerp between the good frames either side (a run at an end holds its one good neighbour)."""
    q = np.asarray(quats, dtype=float)
    F = len(q)
    bad = bad & ~bad.all(axis=0, keepdims=True)  # a joint with no good frame keeps what it has
    if not bad.any():
        return q.copy()
    idx = np.arange(F)[:, None].repeat(bad.shape[1], axis=1)  # (F, J)
    prev = np.maximum.accumulate(np.where(bad, -1, idx), axis=0)  # the last good frame at or before
    nxt = np.minimum.accumulate(np.where(bad, F, idx)[::-1], axis=0)[::-1]  # the first at or after
    f, j = np.nonzero(bad)
    p0, p1 = prev[f, j], nxt[f, j]
    lo, hi = np.where(p0 < 0, p1, p0), np.where(p1 >= F, p0, p1)
    t = np.where((p0 < 0) | (p1 >= F), 0.0, (f - p0) / np.maximum(p1 - p0, 1))
    out = q.copy()
    out[f, j] = Q.slerp(q[lo, j], q[hi, j], t[:, None])
    js = np.unique(j)
    out[:, js] = Q.make_continuous(out[:, js])
    return out


def sixd_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) rotation matrices by Gram-Schmidt (columns b1, b2, b1 x b2)."""
    a1, a2 = x[..., :3], x[..., 3:]
    b1 = a1 / a1.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    a2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = a2 / a2.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    return torch.stack([b1, b2, _cross(b1, b2)], dim=-1)


def sixd_planes(f6: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, 6, ...) channel-major 6D features -> the rotation's three columns b1, b2, b3, each (N, 3, ...).

    The same Gram-Schmidt as ``sixd_to_matrix``, on whole planes of the channel-major features:
    reducing over a strided axis of length 3 (what (..., 6) inputs ask) ran several times slower
    and made the rotations the codec's largest cost.
    """
    a1, a2 = f6[:, :3], f6[:, 3:6]
    # The squared norm clamped before the root (the same values as clamping the norm at 1e-6): a
    # clamp after it would multiply sqrt's infinite slope at 0 by zero, a NaN in the backward pass.
    b1 = a1 / (a1 * a1).sum(1, keepdim=True).clamp_min(1e-12).sqrt()
    a2 = a2 - (b1 * a2).sum(1, keepdim=True) * b1
    b2 = a2 / (a2 * a2).sum(1, keepdim=True).clamp_min(1e-12).sqrt()
    (x1, y1, z1), (x2, y2, z2) = b1.unbind(1), b2.unbind(1)
    b3 = torch.stack([y1 * z2 - z1 * y2, z1 * x2 - x1 * z2, x1 * y2 - y1 * x2], dim=1)
    return b1, b2, b3


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Written out: for many tiny vectors this is faster than torch.cross.
    ax, ay, az = a.unbind(-1)
    bx, by, bz = b.unbind(-1)
    return torch.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim=-1)


def _mat3(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) @ (..., 3, 3). torch 2.13's batched matmul beats broadcast products by 20x on CPU
    (0.3 against 7.6 ms for 18,000 pairs; the products were faster in older releases)."""
    return torch.matmul(a, b)


def matrix_to_6d(m: torch.Tensor) -> torch.Tensor:
    return torch.cat([m[..., :, 0], m[..., :, 1]], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit quaternions (w, x, y, z) -> (..., 3, 3)."""
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], dim=-2)


def root_track_np(rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """(F, 3) raw root channels of one clip: heading-frame velocity (x, z) in cm/frame and height.

    Velocity of frame t is root[t] - root[t-1]; frame 0 repeats frame 1's.
    """
    r0 = Q.to_matrix(rotations[:, 0])  # (F, 3, 3)
    s, c = heading_np(r0)
    v = np.diff(root, axis=0, prepend=root[:1])
    if len(v) > 1:
        v[0] = v[1]
    vx = c * v[:, 0] - s * v[:, 2]
    vz = s * v[:, 0] + c * v[:, 2]
    return np.stack([vx, vz, root[:, 1]], axis=-1)


# --- forward kinematics -------------------------------------------------------------------------------------
def depth_groups(parents) -> list[tuple[list[int], list[int]]]:
    depth = [0] * len(parents)
    for j, p in enumerate(parents):
        if p >= 0:
            depth[j] = depth[p] + 1
    out = []
    for d in range(1, max(depth) + 1):
        idx = [j for j in range(len(parents)) if depth[j] == d]
        out.append((idx, [parents[j] for j in idx]))
    return out


def fk_torch(local: torch.Tensor, root: torch.Tensor, offsets: torch.Tensor, parents) -> torch.Tensor:
    """Global joint positions (..., J, 3) from local rotation matrices (..., J, 3, 3) and root (..., 3).

    Batched and differentiable; joints of equal depth are one vectorised step.
    """
    J = local.shape[-3]
    glob: list[torch.Tensor | None] = [None] * J
    pos: list[torch.Tensor | None] = [None] * J
    glob[0], pos[0] = local[..., 0, :, :], root
    for idx, par in depth_groups(parents):
        gp = torch.stack([glob[p] for p in par], dim=-3)  # (..., n, 3, 3)
        pp = torch.stack([pos[p] for p in par], dim=-2)  # (..., n, 3)
        off = offsets[idx].to(local.dtype)  # (n, 3)
        new_pos = pp + torch.matmul(gp, off[:, :, None])[..., 0]
        new_glob = _mat3(gp, local[..., idx, :, :])
        for k, j in enumerate(idx):
            pos[j], glob[j] = new_pos[..., k, :], new_glob[..., k, :, :]
    return torch.stack(pos, dim=-2)


# --- statistics -------------------------------------------------------------------------------------------------
def feature_stats(skeleton: Skeleton, root_raw: np.ndarray) -> dict:
    """Scales that put the root channels inside [-1, 1] (99.9% of the frames within +-0.9).

    root_raw: (N, 3) raw root channels of the training frames (``root_track_np``).
    """
    vel = np.abs(root_raw[:, :2]).ravel()
    vel_scale = float(max(np.quantile(vel, 0.999), 1e-2) / 0.9)
    h = root_raw[:, 2]
    height_mean = float(np.mean(h))
    height_scale = float(max(np.quantile(np.abs(h - height_mean), 0.999), 1.0) / 0.9)
    rest = skeleton.rest_positions()
    pos_scale = float(max(np.abs(rest - rest[:1]).max(), 1.0))
    return {"vel_scale": vel_scale, "height_mean": height_mean, "height_scale": height_scale,
            "pos_scale": pos_scale, "diff_gain": [1.0, 1.0, 1.0]}


# --- the codec -------------------------------------------------------------------------------------------------
class FeatureCodec(nn.Module):
    """Turns rotation motions into feature tensors and back, and builds the critic's input."""

    def __init__(self, skeleton: Skeleton, stats: dict, world_velocity: bool = False):
        super().__init__()
        self.skeleton = skeleton
        self.world_velocity = world_velocity
        self.parents = list(skeleton.parents)
        self.stats = dict(stats)
        self.register_buffer("offsets", torch.tensor(skeleton.offsets, dtype=torch.float32), persistent=False)
        mask = torch.zeros(1, N_FEAT, 1, skeleton.n_joints)
        mask[:, :N_ROT] = 1.0
        mask[:, N_ROT:, :, 0] = 1.0
        self.contact_joints = [int(j) for j in self.stats.get("contact_joints", [])]
        mask[:, N_CONTACT, :, self.contact_joints] = 1.0
        self.register_buffer("mask", mask, persistent=False)  # (1, 9, 1, J)
        self.register_buffer("diff_gain", torch.tensor(self.stats.get("diff_gain", [1.0, 1.0, 1.0]),
                                                       dtype=torch.float32), persistent=False)

    # numpy side: data -> features ------------------------------------------------------------
    def normalise_root(self, root_raw: np.ndarray) -> np.ndarray:
        s = self.stats
        out = np.empty_like(root_raw, dtype=np.float32)
        out[..., :2] = root_raw[..., :2] / s["vel_scale"]
        out[..., 2] = (root_raw[..., 2] - s["height_mean"]) / s["height_scale"]
        return np.clip(out, -1.0, 1.0)

    def encode_np(self, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
        """(9, F, J) float32 features of one rotation clip: rotations (F, J, 4), root (F, 3)."""
        F_, J = rotations.shape[:2]
        out = np.zeros((N_FEAT, F_, J), dtype=np.float32)
        out[:N_ROT] = quat_to_6d_np(rotations).transpose(2, 0, 1)
        out[N_ROT:, :, 0] = self.normalise_root(root_track_np(rotations, root)).T
        return out

    def encode_motion(self, motion: Motion) -> np.ndarray:
        if not motion.has_rotations:
            raise ValueError("the networks need a rotation motion (solve positions to rotations first)")
        return self.encode_np(motion.rotations, motion.root)

    # torch side -------------------------------------------------------------------------------
    def rotations(self, feat: torch.Tensor) -> torch.Tensor:
        """(N, 9, T, J) -> (N, T, J, 3, 3) local rotation matrices."""
        return torch.stack(sixd_planes(feat[:, :N_ROT].float()), dim=2).permute(0, 3, 4, 1, 2)

    def canonical(self, feat: torch.Tensor) -> torch.Tensor:
        """Re-orthonormalised 6D and masked root channels: what a real window looks like."""
        six = matrix_to_6d(self.rotations(feat)).permute(0, 3, 1, 2)  # (N, 6, T, J)
        return torch.cat([six, feat[:, N_ROT:].float()], dim=1) * self.mask

    def _relative(self, rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Joint positions relative to the root in world axes (N, T, J, 3), and the sin and cos of the
        root's heading (N, T, 1)."""
        zero = rot.new_zeros(rot.shape[:2] + (3,))
        pos = fk_torch(rot, zero, self.offsets, self.parents)  # (N, T, J, 3)
        s, c = heading(rot[:, :, 0])
        return pos, s[..., None], c[..., None]

    def _local(self, rel: torch.Tensor, s: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = c * rel[..., 0] - s * rel[..., 2]
        z = s * rel[..., 0] + c * rel[..., 2]
        return torch.stack([x, rel[..., 1], z], dim=-1) / self.stats["pos_scale"]

    def local_positions(self, rot: torch.Tensor) -> torch.Tensor:
        """(N, T, J, 3) joint positions relative to the root, in the root's heading frame, / pos_scale."""
        return self._local(*self._relative(rot))

    def _root_track(self, feat: torch.Tensor, s: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, z) the root's world track (N, T) each, in cm, its heading-frame velocity integrated
        from the window's first frame; s, c: (N, T) sin and cos of the root's heading."""
        v = feat[:, N_ROT:N_ROT + 2, :, 0] * self.stats["vel_scale"]  # (N, 2, T) heading frame
        return torch.cumsum(c * v[:, 0] + s * v[:, 1], dim=1), torch.cumsum(-s * v[:, 0] + c * v[:, 1], dim=1)

    def _world(self, feat: torch.Tensor, rel: torch.Tensor, s: torch.Tensor, c: torch.Tensor):
        """(x, y, z) world joint coordinates (N, T, J) each, in cm, the root's track starting at the
        window's first frame (its velocity integrated from there; height as given)."""
        root_x, root_z = self._root_track(feat, s[..., 0], c[..., 0])  # (N, T) world track within the window
        wx = root_x[..., None] + rel[..., 0]  # (N, T, J)
        wz = root_z[..., None] + rel[..., 2]
        wy = rel[..., 1] + feat[:, N_ROT + 2, :, :1] * self.stats["height_scale"]
        return wx, wy, wz

    def world_positions(self, feat: torch.Tensor) -> torch.Tensor:
        """(N, T, J, 3) joint positions in cm over the floor of the window's own start (what L2P
        compares, up to the start's offset)."""
        feat = feat.float()
        rot = self.rotations(feat)
        rel, s, c = self._relative(rot)
        return torch.stack(self._world(feat, rel, s, c), dim=-1)

    def world_velocities(self, feat: torch.Tensor, rel: torch.Tensor, s: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, J) every joint's velocity over the floor (root travel included), in the heading
        frame of its frame, / vel_scale; zero at the first frame.

        rel, s, c: ``_relative`` of the features' rotations. Without this the critic sees the root's
        speed on one vertex only, and a dancer whose feet glide across the floor looks real to it;
        with it, a planted foot must have near-zero speed.
        """
        st = self.stats
        d = [torch.diff(w, dim=1, prepend=w[:, :1]) for w in self._world(feat, rel, s, c)]
        hx = c * d[0] - s * d[2]
        hz = s * d[0] + c * d[2]
        return torch.stack([hx, d[1], hz], dim=1) / st["vel_scale"]

    def critic_input(self, feat: torch.Tensor) -> torch.Tensor:
        """(N, 9, T, J) features -> (N, 24 or 27, T, J): canonical features, local positions, their
        frame-to-frame differences (zero at the first frame), and with ``world_velocity`` the joints'
        velocities over the floor."""
        with torch.autocast(device_type=feat.device.type, enabled=False):
            feat = feat.float()
            b1, b2, b3 = sixd_planes(feat[:, :N_ROT])
            six = torch.cat([b1, b2], dim=1)  # (N, 6, T, J): matrix_to_6d of the rotations
            rot = torch.stack([b1, b2, b3], dim=2).permute(0, 3, 4, 1, 2)  # (N, T, J, 3, 3)
            rel, hs, hc = self._relative(rot)
            pos = self._local(rel, hs, hc).permute(0, 3, 1, 2)  # (N, 3, T, J)
            base = torch.cat([six, feat[:, N_ROT:] * self.mask[:, N_ROT:], pos], dim=1)  # (N, 12, T, J)
            d = base[:, :, 1:] - base[:, :, :-1]
            d = torch.cat([torch.zeros_like(base[:, :, :1]), d], dim=2)
            g = self.diff_gain
            gain = torch.cat([g[0].expand(N_ROT), g[1].expand(N_ROOT), g[2].expand(3)])[None, :, None, None]
            out = [base, d * gain]
            if self.world_velocity:
                out.append(self.world_velocities(feat, rel, hs, hc))
            return torch.cat(out, dim=1)

    def contacts(self, feat: torch.Tensor) -> torch.Tensor:
        """(N, 9, T, J) -> (N, T, K) contact strength in [0, 1] of the K ``contact_joints``."""
        c = feat[:, N_CONTACT][..., self.contact_joints].float()  # (N, T, K)
        return ((c + 1.0) * 0.5).clamp(0.0, 1.0)

    def foot_slide(self, feat: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Mean speed over the floor (/ vel_scale) of the contact joints, weighted by how much the
        features say each is in contact (that weight held fixed: the loss moves the feet, it does not
        lift them). Zero for a codec without contact joints. ``positions``: ``world_positions(feat)``
        where the caller has them already."""
        if not self.contact_joints:
            return feat.new_zeros(())
        if positions is None:
            positions = self.world_positions(feat)
        p = positions[:, :, self.contact_joints][..., [0, 2]]  # (N, T, K, 2)
        v = (p[:, 1:] - p[:, :-1]).norm(dim=-1) / self.stats["vel_scale"]  # (N, T-1, K)
        w = self.contacts(feat).detach()
        w = torch.minimum(w[:, 1:], w[:, :-1])
        return (w * v).sum() / w.sum().clamp_min(1.0)

    def speed_profile(self, feat: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """(J + 1,) mean speeds over the batch, cm per frame: every joint relative to the root, then
        the root over the floor. What ``TrainConfig.motion_stats`` matches between fake and real.
        ``positions``: ``world_positions(feat)`` where the caller has them already."""
        p = self.world_positions(feat) if positions is None else positions  # (N, T, J, 3)
        rel = p - p[:, :, :1]
        joints = (rel[:, 1:] - rel[:, :-1]).norm(dim=-1).mean(dim=(0, 1))  # (J,)
        root = (p[:, 1:, 0, [0, 2]] - p[:, :-1, 0, [0, 2]]).norm(dim=-1).mean()
        return torch.cat([joints, root[None]])

    def root_travel(self, feat: torch.Tensor) -> torch.Tensor:
        """(N,) the root's net horizontal travel over each window, in cm: the distance between its
        first and last positions (what ``TrainConfig.travel_match`` matches between fake and real)."""
        feat = feat.float()
        x, z = self._root_track(feat, *heading(self.rotations(feat[..., :1])[:, :, 0]))  # the root's rotations alone
        return ((x[:, -1] - x[:, 0]).pow(2) + (z[:, -1] - z[:, 0]).pow(2) + 1e-6).sqrt()

    # features -> motion --------------------------------------------------------------------------
    def decode_np(self, feat: np.ndarray | torch.Tensor, origin: np.ndarray | None = None,
                  pinned: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(9, F, J) features -> (rotations (F, J, 4) continuous unit quaternions, root (F, 3) cm).

        The horizontal root track integrates the heading-frame velocity from ``origin`` (x, z).
        ``pinned``: (F,) bool, the frames the caller replaces with known poses (a completion's pins).
        No bridge over collapsed columns crosses them and they stay out of its median; one that meets
        them ends on G's own frame there, which the splice corrects from.
        """
        f = torch.as_tensor(np.asarray(feat, dtype=np.float32) if not torch.is_tensor(feat) else feat).float()
        rot = self.rotations(f[None])[0].detach().cpu().double().numpy()  # (F, J, 3, 3)
        quats = Q.make_continuous(Q.from_matrix(rot))
        six = f[:N_ROT].detach().cpu().double().numpy()  # (6, F, J)
        keep = None if pinned is None else np.asarray(pinned, bool)
        bad = glitch_frames(six, quats, keep=keep)
        r0 = rot[:, 0]
        if bad.any():
            # A bridge that meets a pin ends on what G drew there, not on the pin's pose: the splice
            # measures every seam correction (the root's heading turn included) against G's frames
            # under the pin, and a bridge already on the pin's pose was corrected again, a snap of up
            # to 100 degrees at the seam (session 19: 6 of 69 60-frame fills had seams over
            # 20 cm/frame^2, 2 with this; the real dances' 95th percentile is 11.8).
            quats = bridge_rotations(quats, bad)
            r0 = Q.to_matrix(quats[:, 0])  # the heading the root track turns with
        s, c = heading_np(r0)
        st = self.stats
        rc = f[N_ROT:, :, 0].detach().cpu().double().numpy()  # (3, F)
        vx, vz = rc[0] * st["vel_scale"], rc[1] * st["vel_scale"]
        wx = c * vx + s * vz
        wz = -s * vx + c * vz
        root = np.zeros((f.shape[1], 3))
        if len(root) > 1:
            root[1:, 0] = np.cumsum(wx[1:])
            root[1:, 2] = np.cumsum(wz[1:])
        if origin is not None:
            root[:, 0] += origin[0]
            root[:, 2] += origin[-1]
        root[:, 1] = rc[2] * st["height_scale"] + st["height_mean"]
        return quats, root

    def contact_flags(self, feat) -> dict[str, np.ndarray] | None:
        """{joint name: (F,) bool} of (9, F, J) features, or None for a codec without contacts.
        A contact is a run of at least ``footclean.MIN_FRAMES`` frames the features mark over 0."""
        if not self.contact_joints:
            return None
        from csgn_core.motion.contacts import MIN_FRAMES, drop_short

        f = torch.as_tensor(np.asarray(feat) if not torch.is_tensor(feat) else feat)
        on = (f[N_CONTACT][:, self.contact_joints] > 0).cpu().numpy()  # (F, K)
        return {self.skeleton.joints[j]: drop_short(on[:, k], MIN_FRAMES) for k, j in enumerate(self.contact_joints)}

    def to_motion(self, feat, fps: float, **meta) -> Motion:
        rot, root = self.decode_np(feat)
        flags = self.contact_flags(feat)
        if flags is not None:
            from csgn_core.motion.contacts import contacts_to_meta

            meta.update(contacts_to_meta(flags))
        return Motion(self.skeleton, fps, rotations=rot, root=root, meta=dict(meta))
