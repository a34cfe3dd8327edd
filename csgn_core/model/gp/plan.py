"""How each channel of the prior is sampled for a window of T0 latent steps (the sampling plan).

Sampling is exact in distribution up to stated tolerances: the realised covariance is within about
1e-13 of the kernel on the FFT path and 1e-10 on the low-rank path (`effective_covariance` returns
what the sampler really realises, so this can be checked). Each channel takes one of four paths,
chosen per (sigma, T0) and cached per T0:

- "white" (sigma = 0): independent N(0, 1) per step.
- "constant" (sigma = inf): one N(0, 1) per channel, repeated over time.
- "fft" (sigma <= T0 / 4): circulant embedding. The kernel is periodised with period
  M >= T0 - 1 + 8 sigma, so its top-left T0 x T0 block differs from the kernel by < 1e-13 and, by
  Poisson summation, its FFT eigenvalues are a sampled positive Gaussian spectrum (non-negative up
  to rounding, which is clipped; M is doubled if one is clearly negative). Frequencies whose
  eigenvalue is below 1e-13 of the largest are dropped, which leaves the covariance unchanged to
  that level but means a slow channel needs only a few dozen normals. Channels sharing an M are one
  batched inverse rFFT.
- "lowrank" (sigma > T0 / 4): the embedding would need M >> T0, while the T0 x T0 kernel matrix is
  numerically of low rank (roughly 2.6 T0 / sigma + a few). A batched pivoted Cholesky factor L,
  stopped once the trace of the PSD residual K - L L^T is below 1e-10, is cached per (sigma, T0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from csgn_core.model.gp import fft as sfft

# Periodisation margin in units of sigma: exp(-8^2 / 2) ~ 1.3e-14 is what the wrap-around adds.
_PAD_SIGMAS = 8.0


# Eigenvalues below this fraction of the largest are dropped (FFT path) or treated as rounding.
_EIG_DROP = 1e-13


# An eigenvalue below -_EIG_NEG * largest is not rounding: the embedding is grown.
_EIG_NEG = 1e-9


# Channels whose sigma exceeds T0 * _LOWRANK_RATIO use the pivoted Cholesky factor.
_LOWRANK_RATIO = 0.25


# Trace of the residual K - L L^T at which the pivoted Cholesky stops.
_LOWRANK_TOL = 1e-10


# Batched FFTs: pocketfft splits the batch over threads, each transform on one thread, so the
# result does not depend on the number of workers (bit-identical samples either way). Threads only
# pay off for big batches; below _FFT_THREAD_MIN points one thread is faster on this kind of CPU.
FFT_WORKERS = 2


_FFT_THREAD_MIN = 1 << 21


def fft_workers(points: int) -> int:
    return FFT_WORKERS if points >= _FFT_THREAD_MIN else 1


def channel_selector(idx: np.ndarray) -> slice | np.ndarray:
    """A slice where the channel indices are contiguous: assigning through it is a plain copy."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and (np.diff(idx) == 1).all():
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


@dataclass
class FFTGroup:
    idx: np.ndarray  # (G,) channel indices
    M: int  # embedding size
    J: int  # kept rfft bins (<= M // 2 + 1)
    lam: np.ndarray  # (G, J) kept, clipped eigenvalues (zero past a channel's own cut)
    scale: np.ndarray  # (G, J) noise scale per rfft bin: sqrt(M lam / 2), sqrt(M lam) at DC/Nyquist
    sig: np.ndarray  # (G,) length scales

    def __post_init__(self) -> None:
        self.sel = channel_selector(self.idx)


@dataclass
class LowRankGroup:
    idx: np.ndarray  # (G,)
    L: np.ndarray  # (G, T0, r)

    def __post_init__(self) -> None:
        self.sel = channel_selector(self.idx)


@dataclass
class SamplingPlan:
    T0: int
    methods: np.ndarray  # (C,) str
    white: np.ndarray  # channel indices
    constant: np.ndarray
    fft: list[FFTGroup]
    lowrank: list[LowRankGroup]
    rows: np.ndarray  # (C, T0) realised covariance row k~(d), d = 0..T0-1 (FFT, white, constant)


def _periodised_rows(sigmas: np.ndarray, M: int) -> np.ndarray:
    """k(d) summed over the wraps d + m M, for d = 0..M-1; (G, M).

    M >= 8 sigma, so only the nearest wrap, k(M - d), is above 1e-14; the kernel is not
    evaluated past 10 sigma, where it is below 1e-21.
    """
    cut = min(M + 1, int(math.ceil(10.0 * sigmas.max())) + 2)
    d = np.arange(cut, dtype=np.float64)
    g = np.zeros((len(sigmas), M + 1))
    g[:, :cut] = np.exp(d[None, :] ** 2 * (-0.5 / sigmas[:, None] ** 2))
    return g[:, :M] + g[:, M:0:-1]


def _fft_group(idx: np.ndarray, sigmas: np.ndarray, T0: int, M: int) -> list[FFTGroup]:
    """Eigenvalues of the periodised embedding; grows M for channels with a clearly negative one."""
    out: list[FFTGroup] = []
    while len(idx):
        lam = sfft.rfft(_periodised_rows(sigmas, M), axis=-1, workers=FFT_WORKERS).real  # (G, M/2+1)
        top = lam.max(axis=1, keepdims=True)
        bad = (lam < -_EIG_NEG * top).any(axis=1)
        good = ~bad
        if good.any():
            lg = np.where(lam[good] > _EIG_DROP * top[good], lam[good], 0.0)
            kept = lg > 0
            last = np.where(kept.any(axis=1), lam.shape[1] - np.argmax(kept[:, ::-1], axis=1), 1)
            J = int(last.max())
            lg = lg[:, :J]
            # Bin 0 (and the Nyquist bin) carry one real normal, the others a complex pair.
            w = np.full(J, 0.5)
            w[0] = 1.0
            if M % 2 == 0 and J == M // 2 + 1:
                w[-1] = 1.0
            out.append(FFTGroup(idx[good], M, J, lg, np.sqrt(M * lg * w), sigmas[good]))
        idx, sigmas = idx[bad], sigmas[bad]
        M = sfft.next_fast_len(2 * M, real=True)
    return out


def _pivoted_cholesky(rows: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Batched pivoted Cholesky of Toeplitz kernels given by rows (G, T0).

    Stops per channel once the trace of the (PSD) residual is <= tol. Returns L (G, T0, rmax)
    with zero columns past each channel's rank, and the ranks (G,).
    """
    G, T = rows.shape
    t = np.arange(T)
    d = np.repeat(rows[:, :1], T, axis=1)  # residual diagonal
    L = np.zeros((G, T, min(T, 16)))
    rank = np.zeros(G, dtype=np.int64)
    active = np.ones(G, dtype=bool)
    for m in range(T):
        active &= d.sum(axis=1) > tol
        if not active.any():
            break
        if m == L.shape[2]:
            L = np.concatenate([L, np.zeros((G, T, min(T - m, m)))], axis=2)
        a = np.flatnonzero(active)
        p = d[a].argmax(axis=1)  # (A,)
        col = rows[a[:, None], np.abs(t[None, :] - p[:, None])]  # (A, T)
        if m:
            La = L[a, :, :m]  # (A, T, m)
            col -= np.einsum("atm,am->at", La, La[np.arange(len(a)), p])
        col /= np.sqrt(d[a, p])[:, None]
        L[a, :, m] = col
        d[a] -= col**2
        d[a, p] = 0.0
        np.maximum(d, 0.0, out=d)
        rank[a] += 1
    L = L[:, :, : int(rank.max(initial=0))]
    return L, rank


def build_plan(sig: np.ndarray, T0: int) -> SamplingPlan:
    C = len(sig)
    methods = np.empty(C, dtype=object)
    white = np.flatnonzero(sig == 0)
    constant = np.flatnonzero(np.isinf(sig))
    finite = (sig > 0) & np.isfinite(sig)
    lowrank_mask = finite & (sig > _LOWRANK_RATIO * T0)
    fft_mask = finite & ~lowrank_mask
    methods[white] = "white"
    methods[constant] = "constant"
    methods[lowrank_mask] = "lowrank"
    methods[fft_mask] = "fft"

    rows = np.zeros((C, T0))
    rows[white, 0] = 1.0
    rows[constant] = 1.0

    # FFT channels, bucketed by embedding size.
    fidx = np.flatnonzero(fft_mask)
    need = [T0 + int(math.ceil(_PAD_SIGMAS * s)) for s in sig[fidx]]
    Ms = np.array([sfft.next_fast_len(m, real=True) for m in need], dtype=np.int64)
    fft_groups: list[FFTGroup] = []
    for M in np.unique(Ms):
        sel = fidx[Ms == M]
        fft_groups.extend(_fft_group(sel, sig[sel], T0, int(M)))
    fft_groups.sort(key=lambda g: (g.M, int(g.idx[0])))
    for g in fft_groups:
        rows[g.idx] = sfft.irfft(g.lam, n=g.M, axis=-1, workers=FFT_WORKERS)[:, :T0]

    # Low-rank channels, bucketed by rank so that no padding is stored.
    lr_groups: list[LowRankGroup] = []
    lidx = np.flatnonzero(lowrank_mask)
    if len(lidx):
        d = np.arange(T0, dtype=np.float64)
        exact = np.exp(-0.5 * d[None, :] ** 2 / sig[lidx, None] ** 2)
        L, rank = _pivoted_cholesky(exact, _LOWRANK_TOL)
        for r in np.unique(rank):
            sel = rank == r
            lr_groups.append(LowRankGroup(lidx[sel], np.ascontiguousarray(L[sel, :, :r])))
    return SamplingPlan(T0, methods, white, constant, fft_groups, lr_groups, rows)
