"""FID and Inception Score on action-classifier outputs, and the paper's sequence variants (eqs. 6-8).

Basic metrics on a set of snippets:

- ``fid(feats, ref)``: Frechet distance between a Gaussian fitted to the set's classifier features
  (penultimate layer) and the reference Gaussian,
  ``|mu - mu_r|^2 + tr(S + S_r - 2 (S_r^1/2 S S_r^1/2)^1/2)``;
- ``inception_score(probs)``: ``exp(mean_x KL(p(y|x) || p(y)))`` with ``p(y)`` the set's mean
  softmax; 1 for a classifier that says the same thing about every snippet, K for confident,
  evenly spread answers over K labels.

Sequence variants, on N sequences cut into M consecutive snippets (``feats`` (N, M, D), ``probs``
(N, M, K)), snippet m of sequence n written F^{nm}:

- short (eq. 8): the basic metric of {F^{n1}}_n, the first snippet of every sequence;
- mean ensemble (eq. 6): for each index m the metric of {F^{nm}}_n (one snippet per sequence, all
  from the same place in time), averaged over m: quality and diversity *across* sequences;
- mean time (eq. 7): for each sequence n the metric of {F^{nm}}_m (all of its own snippets),
  averaged over n: quality and diversity *within* one sequence, low for a sequence that loops or
  stands still even when different sequences differ.

The reference Gaussian is fitted once to many real snippets. Note that FID of a set of n snippets
is biased upward by the sampling noise of n points in D dimensions (with n <= D the covariance is
singular): compare sources at the same N and M, and read them against the real-data row measured
the same way (``csgn eval fid --sanity``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Gaussian:
    """Mean and covariance of a feature set, with the covariance's square root kept for FID."""

    mu: np.ndarray  # (D,)
    sigma: np.ndarray  # (D, D)
    count: int

    def __post_init__(self) -> None:
        self.sqrt = _psd_sqrt(self.sigma)

    @classmethod
    def fit(cls, feats: np.ndarray) -> "Gaussian":
        f = np.asarray(feats, dtype=np.float64)
        if f.ndim != 2 or len(f) < 2:
            raise ValueError(f"need (n >= 2, D) features, got {f.shape}")
        return cls(f.mean(0), np.cov(f, rowvar=False), len(f))

    def to_dict(self) -> dict:
        return {"mu": self.mu.tolist(), "sigma": self.sigma.tolist(), "count": self.count}


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, ref: Gaussian) -> float:
    """|mu1 - mu_r|^2 + tr(S1) + tr(S_r) - 2 tr((S_r^1/2 S1 S_r^1/2)^1/2).

    The cross term is the trace of sqrt(S1 S_r) (same eigenvalues), computed on a symmetric matrix so
    it stays real and stable where the covariances are singular.
    """
    mu1, sigma1 = np.asarray(mu1, np.float64), np.asarray(sigma1, np.float64)
    m = ref.sqrt @ sigma1 @ ref.sqrt
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = mu1 - ref.mu
    return float(d @ d + np.trace(sigma1) + np.trace(ref.sigma) - 2 * cross)


def fid(feats: np.ndarray, ref: Gaussian) -> float:
    """FID of a set of features (n, D) against the reference Gaussian."""
    f = np.asarray(feats, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors, got {f.shape}")
    return frechet_distance(f.mean(0), np.cov(f, rowvar=False), ref)


def inception_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """exp(mean KL(p(y|x) || p(y))) of a set of class distributions (n, K)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) < 1:
        raise ValueError(f"IS needs (n, K) probabilities, got {p.shape}")
    p = p / p.sum(axis=1, keepdims=True)
    marginal = p.mean(axis=0)
    kl = (p * (np.log(p + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


# --- the paper's variants ---------------------------------------------------------------------------
def fid_short(feats: np.ndarray, ref: Gaussian) -> float:
    """Eq. 8: FID of the first snippets {F^{n1}}_n. feats (N, M, D)."""
    return fid(feats[:, 0], ref)


def fid_ensemble(feats: np.ndarray, ref: Gaussian) -> float:
    """Eq. 6: (1/M) sum_m FID({F^{nm}}_n)."""
    return float(np.mean([fid(feats[:, m], ref) for m in range(feats.shape[1])]))


def fid_time(feats: np.ndarray, ref: Gaussian) -> float:
    """Eq. 7: (1/N) sum_n FID({F^{nm}}_m)."""
    return float(np.mean([fid(feats[n], ref) for n in range(feats.shape[0])]))


def is_short(probs: np.ndarray) -> float:
    return inception_score(probs[:, 0])


def is_ensemble(probs: np.ndarray) -> float:
    return float(np.mean([inception_score(probs[:, m]) for m in range(probs.shape[1])]))


def is_time(probs: np.ndarray) -> float:
    return float(np.mean([inception_score(probs[n]) for n in range(probs.shape[0])]))


def sequence_scores(feats: np.ndarray, probs: np.ndarray, ref: Gaussian) -> dict:
    """All six numbers of Table 2 for one source: feats (N, M, D), probs (N, M, K).

    ``time`` needs M >= 2 and ``short``/``ensemble`` N >= 2 (a covariance needs two points); a
    variant that cannot be computed is NaN.
    """
    N, M = feats.shape[:2]
    nan = float("nan")
    out = {"fid_short": fid_short(feats, ref) if N >= 2 else nan,
           "fid_ensemble": fid_ensemble(feats, ref) if N >= 2 else nan,
           "fid_time": fid_time(feats, ref) if M >= 2 else nan,
           "is_short": is_short(probs), "is_ensemble": is_ensemble(probs), "is_time": is_time(probs)}
    # The pooled set (all N x M snippets) is what one FID over independent snippets would say.
    out["fid_all"] = fid(feats.reshape(N * M, -1), ref) if N * M >= 2 else nan
    out["is_all"] = inception_score(probs.reshape(N * M, -1))
    return out


KEYS = ("fid_short", "fid_ensemble", "fid_time", "is_short", "is_ensemble", "is_time")
