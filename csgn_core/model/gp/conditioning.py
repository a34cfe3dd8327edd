"""Exact conditioning of the prior on known latent steps.

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

import numpy as np

from csgn_core.model.gp import fft as sfft
from csgn_core.model.gp.plan import FFTGroup, LowRankGroup, SamplingPlan, fft_workers


def _inv_spd(P: np.ndarray) -> np.ndarray:
    """Inverses of a stack of SPD matrices, in chunks (fresh huge temporaries cost page faults)."""
    out = np.empty_like(P)
    chunk = max(1, (1 << 19) // max(1, P.shape[-1] ** 2))
    for s in range(0, len(P), chunk):
        out[s : s + chunk] = np.linalg.inv(P[s : s + chunk])
    return out


def _fft_features(g: FFTGroup, kidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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

    def __init__(self, group: FFTGroup | LowRankGroup, pos: np.ndarray, kidx: np.ndarray, jitter: float):
        self.group, self.pos = group, pos
        k = len(kidx)
        if isinstance(group, FFTGroup):
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
        import scipy.linalg as sla  # here, not at import: free generation never conditions

        return np.stack([sla.cholesky_banded(a, lower=True, check_finite=False) for a in ab])

    def _alpha(self, r: np.ndarray) -> np.ndarray:
        """(K~_KK + jitter I)^-1 r for r (n, G, K)."""
        if self.kind == "dual":
            return np.matmul(self.inv, r[..., None])[..., 0]
        import scipy.linalg as sla

        out = np.empty_like(r)
        for c, cb in enumerate(self.band):
            out[:, c, :] = sla.cho_solve_banded((cb, True), r[:, c, :].T, check_finite=False).T
        return out

    def apply(self, r: np.ndarray, T0: int, kidx: np.ndarray) -> np.ndarray:
        """The posterior correction for residuals r (n, G, K) at the known steps -> (n, G, T0)."""
        g = self.group
        n, G, k = r.shape
        if isinstance(g, LowRankGroup):
            LK = g.L[:, kidx, :]  # (G, K, rank)
            if self.kind == "dual":
                coef = np.matmul(LK.transpose(0, 2, 1), np.matmul(self.inv, r[..., None]))
            else:
                coef = np.matmul(self.inv, np.matmul(LK.transpose(0, 2, 1), r[..., None]))
            return np.matmul(g.L, coef)[..., 0]
        nw = fft_workers(n * G * g.M)
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


class CondSolver:
    """Everything `condition` needs for one (T0, known set), built once and cached."""

    def __init__(self, plan: SamplingPlan, kidx: np.ndarray, jitter: float):
        self.gp = np.flatnonzero((plan.methods == "fft") | (plan.methods == "lowrank"))
        pos = np.full(len(plan.methods), -1, dtype=np.int64)
        pos[self.gp] = np.arange(len(self.gp))
        self.parts = [_Part(g, pos[g.idx], kidx, jitter) for g in [*plan.fft, *plan.lowrank]]
