"""Training windows from a built dataset: random crops of the generator split as feature tensors,
with foot-contact labels, heading and mirror augmentation.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch

from csgn_core.errors import CSGNError
from csgn_core.io.datasets import DATASETS, SPLITS, Dataset, build_dataset, default_cache_path
from csgn_core.model.features import (
    N_CONTACT,
    N_CRITIC_BASE,
    N_ROT,
    FeatureCodec,
    feature_stats,
    quat_to_6d_np,
    root_track_np,
)
from csgn_core.motion.heading import rotate_heading

# --- data -------------------------------------------------------------------------------------------------
# Reflecting x (the body's left-right axis) maps a rotation R to M R M, M = diag(-1, 1, 1): its first
# two columns (the 6D channels) change sign in these places.
_MIRROR_6D = torch.tensor([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])


def resolve_dataset(spec: str) -> Dataset:
    """A built dataset from a .npz path, or by name from the cache (built there on first use)."""
    p = Path(spec)
    if p.suffix == ".npz" or p.exists():
        if p.is_dir():
            p = p / "dataset.npz" if (p / "dataset.npz").is_file() else p
        return Dataset.load(p)
    if spec not in DATASETS:
        raise CSGNError(f"--data {spec!r}: neither a dataset file nor a known dataset name ({', '.join(DATASETS)})")
    path = default_cache_path(spec)
    if not path.is_file():
        print(f"building dataset {spec} into {path} (once)", file=sys.stderr)
        build_dataset(spec).save(path)
    return Dataset.load(path)


class WindowSampler:
    """Random windows of the generator split as (N, 9, T, J) feature tensors."""

    def __init__(self, ds: Dataset, window: int, stats: dict | None = None, contact_joints: list[int] | None = None):
        if ds.rotations is None or ds.root is None:
            raise CSGNError(f"dataset {ds.name} holds positions only; CSGN trains on rotations "
                            "(build it with a rotation solve, as tang-dance is)")
        self.skeleton, self.fps, self.window = ds.skeleton, ds.fps, window
        gen = SPLITS.index("gen")
        clips = [c for c in range(len(ds.clip_names)) if ds.clip_split[c] == gen]
        if not clips:
            raise CSGNError(f"dataset {ds.name} has no clips in the generator split")
        root_raw, six, starts, lengths = [], [], [], []
        offset = 0
        for c in clips:
            a, b = int(ds.clip_start[c]), int(ds.clip_start[c + 1])
            rot = ds.rotations[a:b].astype(np.float64)
            root_raw.append(root_track_np(rot, ds.root[a:b].astype(np.float64)))
            six.append(quat_to_6d_np(rot).astype(np.float32))
            starts.append(offset)
            lengths.append(b - a)
            offset += b - a
        root_raw = np.concatenate(root_raw)
        self.stats = dict(stats) if stats is not None else feature_stats(ds.skeleton, root_raw)
        if contact_joints:
            self.stats["contact_joints"] = [int(j) for j in contact_joints]
        self.codec = FeatureCodec(ds.skeleton, self.stats)
        J = ds.skeleton.n_joints
        feat = np.zeros((offset, N_ROT + 3, J), dtype=np.float32)  # (frames, 9, J)
        feat[:, :N_ROT] = np.concatenate(six).transpose(0, 2, 1)
        feat[:, N_ROT:, 0] = self.codec.normalise_root(root_raw)
        if self.codec.contact_joints:
            feat[:, N_CONTACT, self.codec.contact_joints] = 2.0 * contact_labels(ds, clips, self.codec.contact_joints) - 1.0
        self.features = torch.from_numpy(feat)
        self.starts = np.array(starts)
        self.lengths = np.array(lengths)
        w = np.maximum(self.lengths - window + 1, 1).astype(np.float64)
        self.p = w / w.sum()
        self.frames = offset

        self.mirror_map = torch.from_numpy(ds.skeleton.mirror_map())

    def sample(self, n: int, rng: np.random.Generator, yaw: bool = True, window: int | None = None,
               mirror: bool = False, whole: bool = False) -> torch.Tensor:
        """(n, 9, T, J) windows; clips shorter than the window hold their last frame (its velocity too),
        or with ``whole`` are never drawn. ``mirror``: a random half of them swapped left for right
        (``mirror_features``)."""
        W = self.window if window is None else window
        p = self.p if window is None else np.maximum(self.lengths - W + 1, 1).astype(np.float64)
        if whole:
            p = np.where(self.lengths >= W, p, 0.0)
            if not p.any():
                raise CSGNError(f"no clip of the generator split holds {W} frames")
        c = rng.choice(len(self.lengths), size=n, p=p / p.sum())
        start = (rng.random(n) * np.maximum(self.lengths[c] - W + 1, 1)).astype(np.int64)
        t = np.minimum(start[:, None] + np.arange(W)[None], self.lengths[c][:, None] - 1)
        idx = torch.from_numpy((self.starts[c][:, None] + t).ravel())
        x = self.features[idx].view(n, W, N_ROT + 3, -1).permute(0, 2, 1, 3).contiguous()
        if mirror:
            flip = torch.from_numpy(rng.random(n) < 0.5)
            x = torch.where(flip[:, None, None, None], mirror_features(x, self.mirror_map), x)
        if yaw:
            x = rotate_heading(x, torch.from_numpy(rng.uniform(-math.pi, math.pi, n)).float())
        return x


def contact_labels(ds: Dataset, clips: list[int], joints: list[int]) -> np.ndarray:
    """(frames, K) 0/1 contact labels of the given joints over the clips (concatenated), from the
    forward kinematics of the clips' rotations (what the generator reproduces) by
    ``footclean.detect_contacts`` (low and slow, with hysteresis; thresholds documented there)."""
    from csgn_core.motion.contacts import detect_contacts, feet_for

    names = [ds.skeleton.joints[j] for j in joints]
    out = []
    for c in clips:
        m = ds.clip(c)
        flags = detect_contacts(m.positions, ds.skeleton, ds.fps, feet=feet_for(ds.skeleton))
        out.append(np.stack([flags[n] for n in names], axis=1))
    return np.concatenate(out).astype(np.float32)


def mirror_features(x: torch.Tensor, mirror_map: torch.Tensor) -> torch.Tensor:
    """(N, 9, T, J) windows of the mirrored motion: every joint takes its left/right counterpart's
    reflected rotation (and contact channel), the root's sideways velocity changes sign. Exact for
    a skeleton whose rest offsets are mirror images (tang23 to about 1 cm, 7 cm at the hand tips)."""
    y = x.index_select(3, mirror_map.to(x.device))
    sign = torch.ones(x.shape[1], x.shape[3], dtype=x.dtype, device=x.device)  # (9, J)
    sign[:N_ROT] = _MIRROR_6D.to(x)[:, None]
    sign[N_ROT, 0] = -1.0  # the root's sideways velocity
    return y * sign[None, :, None, :]


def measure_diff_gain(sampler: WindowSampler, rng: np.random.Generator, n: int = 256) -> list[float]:
    """Scale the critic's frame-difference channels to a spread like the features' own (about 0.5)."""
    codec = FeatureCodec(sampler.skeleton, dict(sampler.stats, diff_gain=[1.0, 1.0, 1.0]))
    with torch.no_grad():
        ci = codec.critic_input(sampler.sample(n, rng))
    d = ci[:, N_CRITIC_BASE:]
    groups = [d[:, :N_ROT], d[:, N_ROT:N_ROT + 3, :, :1], d[:, N_ROT + 3:]]
    return [float(min(0.5 / max(g.std().item(), 1e-4), 200.0)) for g in groups]
