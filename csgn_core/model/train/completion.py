"""Training losses that make H invert G and teach the pair the editor's completion path.

The paper trains H with a cycle loss only. That is not enough here: the bundled models' H learnt
nothing (H(G(z)) correlated 0.1 with z, real motion encoded to latents with a tenth of the prior's
spread), so completion could not condition the GP on H's latents of the pins. Three terms go
beyond the paper (``docs/model.md``):

- ``latent_moments``: H's latents of real windows should look like draws of the GP prior, so the
  GP conditioned on them, and G decoding the result, see what they see when sampling freely. Per
  channel, the mean and the autocovariance at every lag of H(x) over the batch are pulled to the
  prior's (0 and the RBF kernel k_c(d)). A moment term rather than a latent critic: it needs no
  third adversary, its target is exact, and with 96 channels and a few lags it is cheap and stable.
- ``GPConditioner``: the GP conditioned on known latent steps as a fixed linear map (mean weights
  and a Cholesky factor of the conditional covariance, per channel), so the completion path runs
  inside autograd.
- ``completion_batch``: random pins and a gap on a real window; each pin is encoded by H on its
  own frames, as the sampler does; the gap's latent steps are drawn from the GP conditioned on the
  pins' (or taken at the conditional mean, for the part of the batch that is reconstructed
  against the real gap), and G decodes the whole window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from csgn_core.model.gp.prior import GPPrior


def latent_moment_loss(h: torch.Tensor, kernel_rows: torch.Tensor, decorrelate: float = 0.0) -> torch.Tensor:
    """Distance of the batch moments of latents h (N, C, T0) from the GP prior's.

    kernel_rows: (C, L) the prior's k_c(d) for lags d = 0 .. L-1 (L <= T0; k_c(0) = 1). Per channel
    c, over the batch and time: the mean goes to 0, the log of the centred variance to 0 and the lag-d
    autocorrelation to k_c(d). The variance enters as a log so that a collapsed H (spread 0.05, as
    the bundled ones had) feels a strong pull; squared differences of raw moments vanish with h.
    """
    N, C, T = h.shape
    L = min(kernel_rows.shape[1], T)
    mean = h.mean(dim=(0, 2))  # (C,)
    # Centred: with raw second moments, a constant output of +-0.85 per channel satisfied the
    # variance term (E[h^2] near 1) and the variance term held the mean away from 0 (session 5).
    c = h - mean[None, :, None]
    covs = [(c[:, :, :T - d] * c[:, :, d:]).mean(dim=(0, 2)) for d in range(L)]  # L x (C,)
    var = covs[0].clamp_min(1e-8)
    loss = (mean ** 2).mean() + (var.log() ** 2).mean()
    if decorrelate > 0 and C > 1:
        # The prior's channels are independent; per-channel moments alone let H spread one code over
        # every channel, and G then decodes only that subspace (prior draws came out nearly still).
        flat = (c / var.sqrt()[None, :, None]).transpose(0, 1).reshape(C, -1)  # (C, N T)
        corr0 = flat @ flat.T / flat.shape[1]
        off = corr0 - torch.diag(torch.diagonal(corr0))
        loss = loss + decorrelate * (off ** 2).sum() / C
    if L > 1:
        corr = torch.stack(covs[1:], dim=1) / var[:, None]  # (C, L - 1)
        loss = loss + ((corr - kernel_rows[:, 1:L].to(h.dtype)) ** 2).mean()
    return loss


class GPConditioner:
    """p(z | z[:, known]) of the GP prior on T0 steps as z = A z_known + B eps, per channel.

    A: (C, T0, K) mean weights, B: (C, T0, T0) a square root of the conditional covariance; the known
    steps come back exactly as given, as ``GPPrior.condition`` returns them, whatever the prior's
    observation noise (``ModelConfig.pin_latent_noise``).
    """

    def __init__(self, prior: GPPrior, T0: int, known: np.ndarray):
        known = np.asarray(known, dtype=np.int64)
        # The covariance and observation noise the sampler conditions with, so training sees what
        # the editor's completion does.
        K, jitter = prior.effective_covariance(T0), prior.config.jitter  # (C, T0, T0)
        Kkk = K[:, known][:, :, known] + jitter * np.eye(len(known))
        Ktk = K[:, :, known]  # (C, T0, K)
        A = np.linalg.solve(Kkk, Ktk.transpose(0, 2, 1)).transpose(0, 2, 1)  # (C, T0, K)
        S = K - A @ Ktk.transpose(0, 2, 1)
        S = 0.5 * (S + S.transpose(0, 2, 1))
        w, V = np.linalg.eigh(S)  # PSD up to rounding: a symmetric square root needs no jitter
        B = (V * np.sqrt(np.clip(w, 0.0, None))[:, None, :]) @ V.transpose(0, 2, 1)
        self.T0, self.known = T0, known
        self.A = torch.from_numpy(A).float()
        self.B = torch.from_numpy(B).float()
        self._known = torch.from_numpy(known)

    def to(self, device) -> "GPConditioner":
        self.A, self.B, self._known = self.A.to(device), self.B.to(device), self._known.to(device)
        return self

    def __call__(self, z_known: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C, K) known steps -> (N, C, T0); eps (N, C, T0) standard normals, None for the mean."""
        z = torch.einsum("ctk,nck->nct", self.A, z_known)
        if eps is not None:
            z = z + torch.einsum("cts,ncs->nct", self.B, eps)
        return z.index_copy(2, self._known, z_known.to(z.dtype))


@dataclass
class CompletionLayout:
    """A training window of T0 latent steps: a left pin on steps [0, a), the gap [a, b), a right pin
    on [b, T0)."""

    T0: int
    a: int
    b: int

    def known(self) -> np.ndarray:
        return np.concatenate([np.arange(self.a), np.arange(self.b, self.T0)])


def draw_layout(rng: np.random.Generator, T0: int, step_frames: int, max_gap_frames: int = 72,
                min_pin_steps: int = 2) -> CompletionLayout:
    """Random pins of at least ``min_pin_steps`` latent steps and a gap of 1 .. ``max_gap_frames``
    frames' worth of steps (as long as the window allows)."""
    p = min_pin_steps
    if T0 < 2 * p + 1:
        raise ValueError(f"a completion window of {T0} latent steps cannot hold two pins of {p} and a gap")
    gmax = max(1, min(max_gap_frames // step_frames, T0 - 2 * p))
    g = int(rng.integers(1, gmax + 1))
    a = int(rng.integers(p, T0 - p - g + 1))
    return CompletionLayout(T0, a, a + g)
