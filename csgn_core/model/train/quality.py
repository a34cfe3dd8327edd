"""A quick, classifier-free quality score for training runs: a Frechet distance on window statistics.

The paper's FID needs an action classifier; while training we only want to compare runs and
settings. Each window (real, or generated from a prior sample) is summarised by its mean pose
(joint positions relative to the root, in the root's heading frame), the spread of every joint's
velocity, and the mean and spread of the root channels; the score is the Frechet distance between
Gaussians fitted to real and generated summaries. Lower is better; two real halves score near 0.
"""
from __future__ import annotations

import numpy as np
import torch

from csgn_core.model.features import N_ROT, FeatureCodec


def window_summary(codec: FeatureCodec, feat: torch.Tensor) -> np.ndarray:
    """(N, 9, T, J) features -> (N, D) summary vectors."""
    with torch.no_grad():
        rot = codec.rotations(feat)
        pos = codec.local_positions(rot)  # (N, T, J, 3)
        vel = pos[:, 1:] - pos[:, :-1]
        root = feat[:, N_ROT:, :, 0].float()  # (N, 3, T)
        parts = [pos.mean(1).flatten(1), vel.std(1).flatten(1) * 10.0, root.mean(2), root.std(2)]
        return torch.cat(parts, dim=1).double().cpu().numpy()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance of Gaussians fitted to the rows of a and b.

    The trace term tr((S1 S2)^1/2) is the sum of square roots of the eigenvalues of the symmetric
    matrix S1^1/2 S2 S1^1/2, which stays real and finite for singular covariances where a general
    matrix square root does not.
    """
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    e, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(e, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    tr = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr)


@torch.no_grad()
def quick_fd(G, prior, codec: FeatureCodec, sampler, n: int = 256, seed: int = 0, device="cpu") -> float:
    """Frechet distance between ``n`` real training windows and ``n`` generated ones (G in eval mode)."""
    rng = np.random.default_rng(seed)
    real = sampler.sample(n, rng, yaw=False)
    was_training = G.training
    G.eval()
    steps = sampler.window // (2 ** _temporal_ups(G))
    z = torch.from_numpy(prior.sample(steps, n, rng)).float().to(device)
    fake = torch.cat([G(z[i:i + 64]).float().cpu() for i in range(0, n, 64)])
    G.train(was_training)
    codec = FeatureCodec(codec.skeleton, codec.stats)  # a CPU copy; the trainer's may live on the GPU
    return frechet(window_summary(codec, real), window_summary(codec, fake))


def _temporal_ups(G) -> int:
    return sum(1 for up in G.ups if up.time)
