"""The CSGN Gaussian-process latent prior (paper section 3.1): exact, fast sampling and conditioning.

Every latent channel c is an independent zero-mean GP over integer latent steps with the RBF kernel
k(i, j) = exp(-(i - j)^2 / (2 sigma_c^2)); sigma is measured in latent steps. The paper's default is
the spectrum sigma_c = (c / C0) * sigma_bar, c = 1..C0, with sigma_bar = 100 (section 6, Table 3).

``GPPrior`` samples through the plans of ``plan.py`` and conditions with the solvers of
``conditioning.py``; ``config.py`` holds its settings.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from csgn_core.model.gp import fft as sfft
from csgn_core.model.gp.conditioning import CondSolver
from csgn_core.model.gp.config import GPPriorConfig, GPPriorError, check_n, check_T0
from csgn_core.model.gp.plan import SamplingPlan, build_plan, channel_selector, fft_workers

_PLAN_CACHE = 8


# Each cached known set holds (C, K, K) float64: 80 MB for 1,024 channels and 100 known steps.
_COND_CACHE = 2


class GPPrior:
    """Independent per-channel RBF Gaussian processes over latent steps; see the module docstring."""

    def __init__(self, config: GPPriorConfig | None = None):
        self.config = config if config is not None else GPPriorConfig()
        self._sig = self.config.sigmas()
        self._plans: OrderedDict[int, SamplingPlan] = OrderedDict()
        self._conds: OrderedDict[tuple, CondSolver] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def channels(self) -> int:
        return self.config.channels

    def sigmas(self) -> np.ndarray:
        return self._sig.copy()

    # --- kernels -------------------------------------------------------------------------------
    def kernel_rows(self, T0: int) -> np.ndarray:
        """Exact kernel k_c(d) for lags d = 0..T0-1, (C, T0)."""
        T0 = check_T0(T0)
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
        return self._plan(check_T0(T0)).methods.copy()

    def effective_covariance(self, T0: int, channels: Any = None) -> np.ndarray:
        """The covariance the sampler realises, (len(channels), T0, T0); compare with `kernel`."""
        T0 = check_T0(T0)
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
        place). The same seed gives bit-identical samples. A list of n of these draws sample i from
        rng[i], as n calls with one each would (several draws at once: see ``condition``).
        """
        T0 = check_T0(T0)
        n = check_n(n)
        if isinstance(rng, (list, tuple)):
            return np.concatenate([self.sample(T0, 1, g) for g in _one_each(rng, n)])
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
            x = sfft.irfft(xi, n=g.M, axis=-1, workers=fft_workers(xi.shape[0] * xi.shape[1] * g.M), overwrite_x=True)
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
        rng: as for ``sample``; a list of n gives sample i exactly what a call with rng[i] alone
        gives, the solve shared (a floor path's dozen candidate draws condition on the same pins).
        """
        T0 = check_T0(T0)
        zk, kidx, n = self._check_known(z_known, known_idx, T0, check_n(n))
        gens = [np.random.default_rng(g) for g in _one_each(rng, n)] if isinstance(rng, (list, tuple)) else None
        gen = None if gens is not None else np.random.default_rng(rng)
        f = np.concatenate([self.sample(T0, 1, g) for g in gens]) if gens is not None else self.sample(T0, n, gen)
        if len(kidx) == 0:
            return f
        plan = self._plan(T0)
        solver = self._cond_solver(plan, kidx)
        if len(solver.gp):
            shape = (len(solver.gp), len(kidx))
            eps = (np.stack([g.standard_normal(shape) for g in gens]) if gens is not None
                   else gen.standard_normal((n,) + shape)) * math.sqrt(self.config.jitter)
            sel = channel_selector(solver.gp)
            resid = zk[:, sel] - f[..., kidx][:, sel] - eps  # (n, G, K)
            for part in solver.parts:
                f[:, part.group.sel] += part.apply(resid[:, part.pos], plan.T0, kidx)
        if len(plan.constant):
            f[:, plan.constant] = zk[:, plan.constant].mean(axis=-1, keepdims=True)
        f[..., kidx] = zk
        return f

    def conditional_mean(self, z_known: Any, known_idx: Any, T0: int) -> np.ndarray:
        """E[z | z[..., known_idx] = z_known], (C, T0) for (C, K) input or (n, C, T0) for (n, C, K)."""
        T0 = check_T0(T0)
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
        T0 = check_T0(T0)
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
        T0 = check_T0(T0)
        kidx = np.unique(np.asarray(known_idx, dtype=np.int64))
        plan = self._plan(T0)
        out = plan.methods.copy()
        if len(kidx):
            for part in self._cond_solver(plan, kidx).parts:
                out[part.group.idx] = part.kind
        return out

    # --- internals -----------------------------------------------------------------------------
    def _plan(self, T0: int) -> SamplingPlan:
        with self._lock:
            plan = self._plans.get(T0)
            if plan is not None:
                self._plans.move_to_end(T0)
                return plan
        plan = build_plan(self._sig, T0)
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

    def _cond_solver(self, plan: SamplingPlan, kidx: np.ndarray) -> "CondSolver":
        key = (plan.T0, kidx.tobytes())
        with self._lock:
            hit = self._conds.get(key)
            if hit is not None:
                self._conds.move_to_end(key)
                return hit
        solver = CondSolver(plan, kidx, self.config.jitter)
        with self._lock:
            self._conds[key] = solver
            while len(self._conds) > _COND_CACHE:
                self._conds.popitem(last=False)
        return solver


def _one_each(rngs, n: int) -> list:
    if len(rngs) != n:
        raise GPPriorError(f"GP prior: {len(rngs)} random generators for {n} samples")
    return list(rngs)
