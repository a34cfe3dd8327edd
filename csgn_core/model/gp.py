"""The CSGN Gaussian-process latent prior (paper section 3.1): exact, fast sampling and conditioning.

Every latent channel c is an independent zero-mean GP over integer latent steps with the RBF kernel
k(i, j) = exp(-(i - j)^2 / (2 sigma_c^2)); sigma is measured in latent steps. The paper's default is
the spectrum sigma_c = (c / C0) * sigma_bar, c = 1..C0, with sigma_bar = 100 (section 6, Table 3).

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

Conditioning uses Matheron's rule against the realised covariance K~ of each channel, with
observation noise `jitter`: z = f + K~[:, K] (K~_KK + jitter I)^-1 (z_K - f_K - e), e ~ N(0, jitter),
which is exactly the posterior given noisy observations (and the noise-free one up to jitter).
The observed steps are then set to z_K exactly. The correction is computed, per group of channels,
in the cheapest of three exact forms (see `_Part`): "dual" (a K x K inverse), "banded" (fast
channels: K~_KK is banded to 1e-17, so K close to T0, as when one short gap is redrawn, stays
cheap) and "primal" (slow channels: the realised prior has few weights, R, and an R x R solve in
weight space gives the same map). K~[:, K] alpha is a circulant product (two FFTs) or L (L_K^T
alpha), so nothing of size T0 x K is formed. The solver is the cold cost of a new known set (about
0.5 to 1.3 s for 1,024 channels at T0 = 560 on 2 quiet cores) and is cached for the last two sets.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import scipy.fft as sfft
import scipy.linalg as sla

from csgn_core.errors import CSGNError

MODES = ("spectrum", "single", "range", "white", "constant")

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
_PLAN_CACHE = 8
# Each cached known set holds (C, K, K) float64: 80 MB for 1,024 channels and 100 known steps.
_COND_CACHE = 2
# Batched FFTs: pocketfft splits the batch over threads, each transform on one thread, so the
# result does not depend on the number of workers (bit-identical samples either way). Threads only
# pay off for big batches; below _FFT_THREAD_MIN points one thread is faster on this kind of CPU.
FFT_WORKERS = 2
_FFT_THREAD_MIN = 1 << 21


def _workers(points: int) -> int:
    return FFT_WORKERS if points >= _FFT_THREAD_MIN else 1


class GPPriorError(CSGNError, ValueError):
    """A GP prior configuration or a sampling request is invalid."""


def _as_float_or_none(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass(frozen=True)
class GPPriorConfig:
    """Length scales of the latent GP prior, in latent steps.

    mode "spectrum": sigma_c = (c / channels) * sigma_bar, c = 1..channels (the paper).
    mode "single": every channel uses `sigma` (0 means white, inf means constant).
    mode "range": sigma spaced linearly from sigma_min (channel 1) to sigma_max (last channel).
        Linear, because that is how the paper's spectrum is spaced: range(sigma_bar / C, sigma_bar)
        is exactly spectrum(sigma_bar), and Table 3's "0 ~ s" entries are such ranges.
    mode "white": sigma = 0, independent N(0, 1) per step.
    mode "constant": sigma = inf, one N(0, 1) per channel repeated over time.
    `jitter` is the diagonal added to K_KK when conditioning (the variance of the implied
    observation noise); it must be > 0.
    """

    channels: int = 1024
    sigma_bar: float = 100.0
    mode: str = "spectrum"
    sigma: float | None = None
    sigma_min: float | None = None
    sigma_max: float | None = None
    jitter: float = 1e-6

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", str(self.mode).lower())
        try:
            object.__setattr__(self, "channels", int(self.channels))
            object.__setattr__(self, "sigma_bar", float(self.sigma_bar))
            object.__setattr__(self, "jitter", float(self.jitter))
            for name in ("sigma", "sigma_min", "sigma_max"):
                object.__setattr__(self, name, _as_float_or_none(getattr(self, name)))
        except (TypeError, ValueError) as e:
            raise GPPriorError(f"GP prior: bad number in configuration ({e})") from None
        if self.mode not in MODES:
            raise GPPriorError(f"GP prior: unknown mode {self.mode!r} (choose from {', '.join(MODES)})")
        if self.channels < 1:
            raise GPPriorError(f"GP prior: channels must be >= 1, got {self.channels}")
        if not (math.isfinite(self.jitter) and self.jitter > 0):
            raise GPPriorError(f"GP prior: jitter must be a finite number > 0, got {self.jitter}")
        if self.mode == "spectrum" and not (math.isfinite(self.sigma_bar) and self.sigma_bar >= 0):
            raise GPPriorError(f"GP prior: sigma_bar must be finite and >= 0, got {self.sigma_bar}")
        if self.mode == "single":
            if self.sigma is None or math.isnan(self.sigma) or self.sigma < 0:
                raise GPPriorError(f"GP prior: mode 'single' needs sigma >= 0 (inf allowed), got {self.sigma}")
        if self.mode == "range":
            lo, hi = self.sigma_min, self.sigma_max
            if lo is None or hi is None:
                raise GPPriorError("GP prior: mode 'range' needs sigma_min and sigma_max")
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
                raise GPPriorError(f"GP prior: mode 'range' needs 0 <= sigma_min <= sigma_max < inf, got {lo}, {hi}")

    def sigmas(self) -> np.ndarray:
        """Length scale of each channel, (C,) float64 (0 = white, inf = constant)."""
        C = self.channels
        if self.mode == "spectrum":
            return np.arange(1, C + 1, dtype=np.float64) / C * self.sigma_bar
        if self.mode == "single":
            return np.full(C, self.sigma, dtype=np.float64)
        if self.mode == "range":
            if C == 1:
                return np.array([self.sigma_max], dtype=np.float64)
            return np.linspace(self.sigma_min, self.sigma_max, C)
        if self.mode == "white":
            return np.zeros(C)
        return np.full(C, np.inf)

    def to_dict(self) -> dict:
        """Plain JSON-safe dict (an infinite sigma is written as the string "inf")."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = str(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GPPriorConfig":
        """Inverse of `to_dict`; unknown keys are ignored so that older readers accept newer files."""
        if not isinstance(d, dict):
            raise GPPriorError(f"GP prior: configuration must be a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --------------------------------------------------------------------------------------------
# plans: what each channel needs for a given T0, built once and cached


def _selector(idx: np.ndarray) -> slice | np.ndarray:
    """A slice where the channel indices are contiguous: assigning through it is a plain copy."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and (np.diff(idx) == 1).all():
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


@dataclass
class _FFTGroup:
    idx: np.ndarray  # (G,) channel indices
    M: int  # embedding size
    J: int  # kept rfft bins (<= M // 2 + 1)
    lam: np.ndarray  # (G, J) kept, clipped eigenvalues (zero past a channel's own cut)
    scale: np.ndarray  # (G, J) noise scale per rfft bin: sqrt(M lam / 2), sqrt(M lam) at DC/Nyquist
    sig: np.ndarray  # (G,) length scales

    def __post_init__(self) -> None:
        self.sel = _selector(self.idx)


@dataclass
class _LowRankGroup:
    idx: np.ndarray  # (G,)
    L: np.ndarray  # (G, T0, r)

    def __post_init__(self) -> None:
        self.sel = _selector(self.idx)


@dataclass
class _Plan:
    T0: int
    methods: np.ndarray  # (C,) str
    white: np.ndarray  # channel indices
    constant: np.ndarray
    fft: list[_FFTGroup]
    lowrank: list[_LowRankGroup]
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


def _fft_group(idx: np.ndarray, sigmas: np.ndarray, T0: int, M: int) -> list[_FFTGroup]:
    """Eigenvalues of the periodised embedding; grows M for channels with a clearly negative one."""
    out: list[_FFTGroup] = []
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
            out.append(_FFTGroup(idx[good], M, J, lg, np.sqrt(M * lg * w), sigmas[good]))
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


def _build_plan(sig: np.ndarray, T0: int) -> _Plan:
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
    fft_groups: list[_FFTGroup] = []
    for M in np.unique(Ms):
        sel = fidx[Ms == M]
        fft_groups.extend(_fft_group(sel, sig[sel], T0, int(M)))
    fft_groups.sort(key=lambda g: (g.M, int(g.idx[0])))
    for g in fft_groups:
        rows[g.idx] = sfft.irfft(g.lam, n=g.M, axis=-1, workers=FFT_WORKERS)[:, :T0]

    # Low-rank channels, bucketed by rank so that no padding is stored.
    lr_groups: list[_LowRankGroup] = []
    lidx = np.flatnonzero(lowrank_mask)
    if len(lidx):
        d = np.arange(T0, dtype=np.float64)
        exact = np.exp(-0.5 * d[None, :] ** 2 / sig[lidx, None] ** 2)
        L, rank = _pivoted_cholesky(exact, _LOWRANK_TOL)
        for r in np.unique(rank):
            sel = rank == r
            lr_groups.append(_LowRankGroup(lidx[sel], np.ascontiguousarray(L[sel, :, :r])))
    return _Plan(T0, methods, white, constant, fft_groups, lr_groups, rows)


# --------------------------------------------------------------------------------------------


class GPPrior:
    """Independent per-channel RBF Gaussian processes over latent steps; see the module docstring."""

    def __init__(self, config: GPPriorConfig | None = None):
        self.config = config if config is not None else GPPriorConfig()
        self._sig = self.config.sigmas()
        self._plans: OrderedDict[int, _Plan] = OrderedDict()
        self._conds: OrderedDict[tuple, _CondSolver] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def channels(self) -> int:
        return self.config.channels

    def sigmas(self) -> np.ndarray:
        return self._sig.copy()

    # --- kernels -------------------------------------------------------------------------------
    def kernel_rows(self, T0: int) -> np.ndarray:
        """Exact kernel k_c(d) for lags d = 0..T0-1, (C, T0)."""
        T0 = _check_T0(T0)
        d = np.arange(T0, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            rows = np.exp(-0.5 * d[None, :] ** 2 / self._sig[:, None] ** 2)
        rows[self._sig == 0] = (d == 0).astype(np.float64)
        rows[np.isinf(self._sig)] = 1.0
        return rows

    def kernel(self, T0: int, channels: Any = None) -> np.ndarray:
        """Exact RBF covariance matrices, (C, T0, T0) or (len(channels), T0, T0).

        Mind the size: all 1,024 channels at T0 = 560 are 2.6 GB; pass `channels` to select.
        """
        rows = self.kernel_rows(T0)
        if channels is not None:
            rows = rows[np.atleast_1d(np.asarray(channels, dtype=np.int64))]
        lag = np.abs(np.arange(T0)[:, None] - np.arange(T0)[None, :])
        return rows[:, lag]

    def methods(self, T0: int) -> np.ndarray:
        """Which path samples each channel at this T0: "white", "constant", "fft" or "lowrank"."""
        return self._plan(_check_T0(T0)).methods.copy()

    def effective_covariance(self, T0: int, channels: Any = None) -> np.ndarray:
        """The covariance the sampler realises, (len(channels), T0, T0); compare with `kernel`."""
        T0 = _check_T0(T0)
        plan = self._plan(T0)
        ch = np.arange(self.channels) if channels is None else np.atleast_1d(np.asarray(channels, dtype=np.int64))
        lag = np.abs(np.arange(T0)[:, None] - np.arange(T0)[None, :])
        out = plan.rows[ch][:, lag]
        for g in plan.lowrank:
            for j, c in enumerate(ch):
                hit = np.flatnonzero(g.idx == c)
                if len(hit):
                    Lc = g.L[hit[0]]
                    out[j] = Lc @ Lc.T
        return out

    # --- sampling ------------------------------------------------------------------------------
    def sample(self, T0: int, n: int = 1, rng: Any = None) -> np.ndarray:
        """n exact prior samples of T0 latent steps, (n, C, T0) float64.

        rng: None (fresh entropy), an int seed, a SeedSequence or a numpy Generator (advanced in
        place). The same seed gives bit-identical samples.
        """
        T0 = _check_T0(T0)
        n = _check_n(n)
        gen = np.random.default_rng(rng)
        plan = self._plan(T0)
        out = np.empty((n, self.channels, T0))
        if len(plan.white):
            out[:, plan.white] = gen.standard_normal((n, len(plan.white), T0))
        if len(plan.constant):
            out[:, plan.constant] = gen.standard_normal((n, len(plan.constant), 1))
        for g in plan.fft:
            xi = gen.standard_normal((n, len(g.idx), g.J, 2)).view(np.complex128)[..., 0]
            xi *= g.scale
            x = sfft.irfft(xi, n=g.M, axis=-1, workers=_workers(xi.shape[0] * xi.shape[1] * g.M), overwrite_x=True)
            out[:, g.sel] = x[..., :T0]
        for g in plan.lowrank:
            w = gen.standard_normal((n, len(g.idx), g.L.shape[2], 1))
            out[:, g.sel] = np.matmul(g.L, w)[..., 0]
        return out

    def sample_torch(self, T0: int, n: int = 1, generator: Any = None, seed: int | None = None,
                     device: Any = None, dtype: Any = None):
        """`sample` as a torch tensor (n, C, T0); dtype defaults to float32.

        generator: a torch.Generator; a seed below 2**62 is drawn from it, so the result follows the
        generator's state. seed: an int used directly. With neither, fresh entropy.
        """
        import torch

        if generator is not None and seed is not None:
            raise GPPriorError("GP prior: pass a generator or a seed, not both")
        if generator is not None:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
        dtype = dtype or torch.float32
        z = self.sample(T0, n, seed)
        if dtype in (torch.float32, torch.float64):  # cast in numpy: no torch thread pool for 4 MB
            z = z.astype(np.float32 if dtype == torch.float32 else np.float64, copy=False)
        return torch.from_numpy(z).to(device=device or "cpu", dtype=dtype)

    # --- conditioning --------------------------------------------------------------------------
    def condition(self, z_known: Any, known_idx: Any, T0: int, n: int = 1, rng: Any = None) -> np.ndarray:
        """Exact samples of p(z | z[..., known_idx] = z_known), (n, C, T0).

        z_known: (C, K) shared by all n samples, or (n, C, K) one set per sample (then n may be
        left at 1). known_idx: (K,) distinct steps in [0, T0), any order. Observed steps come back
        exactly equal to z_known. White channels: unknown steps are independent of known ones.
        Constant channels: unknown steps take the mean of the channel's known values (they agree
        when the values really come from a constant channel).
        """
        T0 = _check_T0(T0)
        zk, kidx, n = self._check_known(z_known, known_idx, T0, _check_n(n))
        gen = np.random.default_rng(rng)
        f = self.sample(T0, n, gen)
        if len(kidx) == 0:
            return f
        plan = self._plan(T0)
        solver = self._cond_solver(plan, kidx)
        if len(solver.gp):
            eps = gen.standard_normal((n, len(solver.gp), len(kidx))) * math.sqrt(self.config.jitter)
            sel = _selector(solver.gp)
            resid = zk[:, sel] - f[..., kidx][:, sel] - eps  # (n, G, K)
            for part in solver.parts:
                f[:, part.group.sel] += part.apply(resid[:, part.pos], plan.T0, kidx)
        if len(plan.constant):
            f[:, plan.constant] = zk[:, plan.constant].mean(axis=-1, keepdims=True)
        f[..., kidx] = zk
        return f

    def conditional_mean(self, z_known: Any, known_idx: Any, T0: int) -> np.ndarray:
        """E[z | z[..., known_idx] = z_known], (C, T0) for (C, K) input or (n, C, T0) for (n, C, K)."""
        T0 = _check_T0(T0)
        squeeze = np.asarray(z_known).ndim == 2
        zk, kidx, n = self._check_known(z_known, known_idx, T0, 1)
        out = np.zeros((n, self.channels, T0))
        if len(kidx):
            plan = self._plan(T0)
            solver = self._cond_solver(plan, kidx)
            for part in solver.parts:
                out[:, part.group.sel] = part.apply(zk[:, part.group.idx], plan.T0, kidx)
            if len(plan.constant):
                out[:, plan.constant] = zk[:, plan.constant].mean(axis=-1, keepdims=True)
            out[..., kidx] = zk
        return out[0] if squeeze else out

    def conditional_covariance(self, known_idx: Any, T0: int, channel: int) -> np.ndarray:
        """K_UU - K_UK (K_KK + jitter I)^-1 K_KU over all T0 steps of one channel, (T0, T0).

        The textbook formula on the realised covariance, independent of how `condition` computes;
        rows and columns of known steps are zero. Meant for tests and small T0 (it is dense).
        """
        T0 = _check_T0(T0)
        kidx = np.unique(np.asarray(known_idx, dtype=np.int64))
        K = self.effective_covariance(T0, [channel])[0]
        s = self._sig[channel]
        if np.isinf(s) and len(kidx):
            return np.zeros((T0, T0))
        if len(kidx):
            Kkk = K[np.ix_(kidx, kidx)] + self.config.jitter * np.eye(len(kidx))
            K = K - K[:, kidx] @ np.linalg.solve(Kkk, K[kidx, :])
            K[kidx, :] = 0.0
            K[:, kidx] = 0.0
        return K

    def conditioning_paths(self, known_idx: Any, T0: int) -> np.ndarray:
        """Per channel, how `condition` solves for this known set: "dual", "primal" or the
        channel's sampling path ("white", "constant")."""
        T0 = _check_T0(T0)
        kidx = np.unique(np.asarray(known_idx, dtype=np.int64))
        plan = self._plan(T0)
        out = plan.methods.copy()
        if len(kidx):
            for part in self._cond_solver(plan, kidx).parts:
                out[part.group.idx] = part.kind
        return out

    # --- internals -----------------------------------------------------------------------------
    def _plan(self, T0: int) -> _Plan:
        with self._lock:
            plan = self._plans.get(T0)
            if plan is not None:
                self._plans.move_to_end(T0)
                return plan
        plan = _build_plan(self._sig, T0)
        with self._lock:
            self._plans[T0] = plan
            while len(self._plans) > _PLAN_CACHE:
                self._plans.popitem(last=False)
        return plan

    def _check_known(self, z_known: Any, known_idx: Any, T0: int, n: int) -> tuple[np.ndarray, np.ndarray, int]:
        kidx = np.asarray(known_idx)
        if kidx.ndim != 1 or (kidx.size and not np.issubdtype(kidx.dtype, np.integer)):
            raise GPPriorError("GP prior: known_idx must be a 1-D array of integer steps")
        kidx = kidx.astype(np.int64)
        if kidx.size and (kidx.min() < 0 or kidx.max() >= T0):
            raise GPPriorError(f"GP prior: known steps must lie in [0, {T0}), got {kidx.min()}..{kidx.max()}")
        if len(np.unique(kidx)) != len(kidx):
            raise GPPriorError("GP prior: known_idx has repeated steps")
        zk = np.asarray(z_known, dtype=np.float64)
        if zk.ndim == 2:
            zk = np.broadcast_to(zk, (n,) + zk.shape)
        elif zk.ndim == 3:
            if n not in (1, zk.shape[0]):
                raise GPPriorError(f"GP prior: z_known holds {zk.shape[0]} sets but n = {n}")
            n = zk.shape[0]
        else:
            raise GPPriorError(f"GP prior: z_known must be (C, K) or (n, C, K), got shape {zk.shape}")
        if zk.shape[1:] != (self.channels, len(kidx)):
            raise GPPriorError(
                f"GP prior: z_known must have {self.channels} channels x {len(kidx)} known steps, got {zk.shape[1:]}"
            )
        if not np.isfinite(zk).all():
            raise GPPriorError("GP prior: z_known holds NaN or infinite values")
        order = np.argsort(kidx, kind="stable")
        return zk[..., order], kidx[order], n

    def _cond_solver(self, plan: _Plan, kidx: np.ndarray) -> "_CondSolver":
        key = (plan.T0, kidx.tobytes())
        with self._lock:
            hit = self._conds.get(key)
            if hit is not None:
                self._conds.move_to_end(key)
                return hit
        solver = _CondSolver(plan, kidx, self.config.jitter)
        with self._lock:
            self._conds[key] = solver
            while len(self._conds) > _COND_CACHE:
                self._conds.popitem(last=False)
        return solver


# --------------------------------------------------------------------------------------------
# conditioning: per group of channels, the cheaper of two exact forms of the same posterior


def _inv_spd(P: np.ndarray) -> np.ndarray:
    """Inverses of a stack of SPD matrices, in chunks (fresh huge temporaries cost page faults)."""
    out = np.empty_like(P)
    chunk = max(1, (1 << 19) // max(1, P.shape[-1] ** 2))
    for s in range(0, len(P), chunk):
        out[s : s + chunk] = np.linalg.inv(P[s : s + chunk])
    return out


def _fft_features(g: _FFTGroup, kidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature scales h (G, J) and the unscaled features at the known steps T (K, J, 2).

    The sampler's output is x_t = sum_j h_j (a_j cos(2 pi j t / M) - b_j sin(2 pi j t / M)) with
    (a_j, b_j) the standard normals it draws; at DC and Nyquist irfft ignores b_j.
    """
    j = np.arange(g.J)
    edge = (j == 0) | (2 * j == g.M)
    c = np.where(edge, 1.0 / g.M, 2.0 / g.M)
    theta = (np.outer(kidx, j) % g.M) * (2.0 * np.pi / g.M)  # exact integer phase, then angle
    T = np.stack([np.cos(theta), -np.sin(theta)], axis=-1)
    T[:, edge, 1] = 0.0
    return g.scale * c, T


# Kernel lags past this many sigma are below 3e-18 and are dropped from banded K_KK.
_BAND_SIGMAS = 9.0
# What a banded solve costs beyond its flops: a Python-level LAPACK call per channel at every
# `condition`, where the dense forms use one batched matmul. Banded wins only when K is large.
_CALL_FLOPS = 2e6


class _Part:
    """One group of channels and the solve that conditions it on the known steps.

    Three exact forms of the same linear map r -> K~[:, K] (K~_KK + jitter I)^-1 r, cheapest chosen:
    "dual": the K x K inverse per channel, applied by one batched matmul.
    "banded": for fast channels, K~_KK is banded to 1e-17 (lags past 9 sigma dropped, far below
        the jitter), so a banded Cholesky costs K b^2; this is what keeps "everything but a short
        gap is known" (K close to T0) cheap.
    "primal": the realised prior is f = Phi w with R weights (2 J rFFT coefficients, or the rank
        of the low-rank factor): dw = (jitter I + Phi_K^T Phi_K)^-1 Phi_K^T r, update = Phi dw,
        which equals the dual by the push-through identity and costs R^3 + K R^2 (slow channels).
    """

    def __init__(self, group: _FFTGroup | _LowRankGroup, pos: np.ndarray, kidx: np.ndarray, jitter: float):
        self.group, self.pos = group, pos
        k = len(kidx)
        if isinstance(group, _FFTGroup):
            R = 2 * group.J
            reach = np.searchsorted(kidx, kidx + _BAND_SIGMAS * group.sig.max(), side="right")
            band = int((reach - np.arange(k)).max()) - 1  # known steps within reach below the diagonal
            costs = {  # per channel
                "dual": float(k) ** 3,
                "primal": k * R * R + float(R) ** 3,
                "banded": k * (band + 1) ** 2 + _CALL_FLOPS,
            }
            self.kind = min(costs, key=costs.get)
            if self.kind == "primal":
                self.h, T = _fft_features(group, kidx)
                Tf = T.reshape(k, R)
                hh = np.repeat(self.h, 2, axis=1)  # (G, R)
                gram = (Tf.T @ Tf)[None] * hh[:, :, None] * hh[:, None, :]
            else:
                row = sfft.irfft(group.lam, n=group.M, axis=-1)[:, : int(kidx.max() - kidx.min()) + 1]
                if self.kind == "banded":
                    self.band = self._banded_cholesky(row, kidx, band, jitter)
                    return
                lag = np.abs(kidx[:, None] - kidx[None, :]).ravel()
                gram = row.take(lag, axis=1).reshape(len(row), k, k)
        else:
            R = group.L.shape[2]
            self.kind = "primal" if R < k else "dual"
            LK = group.L[:, kidx, :]  # (G, K, r)
            gram = LK.transpose(0, 2, 1) @ LK if self.kind == "primal" else LK @ LK.transpose(0, 2, 1)
        d = np.arange(gram.shape[-1])
        gram[:, d, d] += jitter
        self.inv = _inv_spd(gram)

    def _banded_cholesky(self, row: np.ndarray, kidx: np.ndarray, band: int, jitter: float) -> np.ndarray:
        """Lower banded Cholesky factors of K~_KK + jitter I, LAPACK layout, (G, band + 1, K)."""
        k = len(kidx)
        d = np.arange(band + 1)[:, None]
        j = np.arange(k)[None, :]
        inside = j + d < k
        lag = np.where(inside, kidx[np.minimum(j + d, k - 1)] - kidx[j[0]][None, :], 0)  # (band+1, K)
        cut = np.ceil(_BAND_SIGMAS * self.group.sig)  # (G,)
        ab = row[:, lag]  # (G, band+1, K)
        ab[~np.broadcast_to(inside, ab.shape)] = 0.0
        ab[lag[None] > cut[:, None, None]] = 0.0
        ab[:, 0, :] += jitter
        return np.stack([sla.cholesky_banded(a, lower=True, check_finite=False) for a in ab])

    def _alpha(self, r: np.ndarray) -> np.ndarray:
        """(K~_KK + jitter I)^-1 r for r (n, G, K)."""
        if self.kind == "dual":
            return np.matmul(self.inv, r[..., None])[..., 0]
        out = np.empty_like(r)
        for c, cb in enumerate(self.band):
            out[:, c, :] = sla.cho_solve_banded((cb, True), r[:, c, :].T, check_finite=False).T
        return out

    def apply(self, r: np.ndarray, T0: int, kidx: np.ndarray) -> np.ndarray:
        """The posterior correction for residuals r (n, G, K) at the known steps -> (n, G, T0)."""
        g = self.group
        n, G, k = r.shape
        if isinstance(g, _LowRankGroup):
            LK = g.L[:, kidx, :]  # (G, K, rank)
            if self.kind == "dual":
                coef = np.matmul(LK.transpose(0, 2, 1), np.matmul(self.inv, r[..., None]))
            else:
                coef = np.matmul(self.inv, np.matmul(LK.transpose(0, 2, 1), r[..., None]))
            return np.matmul(g.L, coef)[..., 0]
        nw = _workers(n * G * g.M)
        v = np.zeros((n, G, T0))
        if self.kind != "primal":
            v[..., kidx] = self._alpha(r)
            V = sfft.rfft(v, n=g.M, axis=-1, workers=nw)[..., : g.J]
            V *= g.lam
        else:
            v[..., kidx] = r
            V = sfft.rfft(v, n=g.M, axis=-1, workers=nw)[..., : g.J]  # Phi^T: h * (Re V, Im V)
            u = np.ascontiguousarray(V).view(np.float64).reshape(n, G, g.J, 2) * self.h[..., None]
            u[..., 0, 1] = 0.0
            if g.M % 2 == 0 and g.J == g.M // 2 + 1:
                u[..., -1, 1] = 0.0
            dw = np.matmul(self.inv, u.reshape(n, G, 2 * g.J, 1))  # (n, G, 2J, 1)
            V = dw.reshape(n, G, g.J, 2).view(np.complex128)[..., 0] * g.scale
        return sfft.irfft(V, n=g.M, axis=-1, workers=nw, overwrite_x=True)[..., :T0]


class _CondSolver:
    """Everything `condition` needs for one (T0, known set), built once and cached."""

    def __init__(self, plan: _Plan, kidx: np.ndarray, jitter: float):
        self.gp = np.flatnonzero((plan.methods == "fft") | (plan.methods == "lowrank"))
        pos = np.full(len(plan.methods), -1, dtype=np.int64)
        pos[self.gp] = np.arange(len(self.gp))
        self.parts = [_Part(g, pos[g.idx], kidx, jitter) for g in [*plan.fft, *plan.lowrank]]


def _check_T0(T0: Any) -> int:
    try:
        t = int(T0)
    except (TypeError, ValueError):
        raise GPPriorError(f"GP prior: T0 must be an integer, got {T0!r}") from None
    if t != T0 or t < 1:
        raise GPPriorError(f"GP prior: T0 must be an integer >= 1, got {T0!r}")
    return t


def _check_n(n: Any) -> int:
    try:
        k = int(n)
    except (TypeError, ValueError):
        raise GPPriorError(f"GP prior: n must be an integer, got {n!r}") from None
    if k != n or k < 0:
        raise GPPriorError(f"GP prior: n must be an integer >= 0, got {n!r}")
    return k
