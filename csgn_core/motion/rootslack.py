"""Root slack: floor offsets of a body's root that keep its planted feet still.

A generated body whose legs step at another pace than its root travels slides its planted feet by
the difference; so does a body carried along a floor path its legs did not step for. Moving the
whole body a little over the floor, where a foot is down, takes part of that difference off the
feet without touching a joint: no knee locks, no foot snaps (the IK clean-up's failure modes,
``footclean``). The offsets are least squares on each heel and toe point's step, weighted as
``contacts.foot_skating`` counts a point on the floor, plus a smoothness term on their second
difference (the frames beyond a held end held too, so a seam's velocity does not jump), within a
radius that opens from nothing at a held end no faster than ``OPENING``; the radius is kept by
clamping the offsets that leave it and solving again for the rest (a few rounds, each a banded
solve of the span's length).
"""
from __future__ import annotations

import numpy as np

OPENING = 0.25  # cm/frame^2: how fast the allowed offset grows away from a held end


def root_slack(positions: np.ndarray, points: list[int], floors: np.ndarray, *, radius: float, smooth: float,
               ramp: int = 0, hold: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """(n, 2) floor offsets (x, z, cm) for the root of ``positions`` (n, J, 3), at most ``radius`` from
    where it is, none at a held first or last frame (``hold``), reaching the full radius no sooner than
    ``ramp`` frames from a held end; ``points``: the heel and toe joints, ``floors`` their floor heights."""
    from csgn_core.motion.contacts import SKATE_HEIGHT

    n = len(positions)
    out = np.zeros((n, 2))
    i0, i1 = (1 if hold[0] else 0), (n - 1 if hold[1] else n)  # the frames whose offsets are free
    if n < 4 or radius <= 0 or i1 - i0 < 1:
        return out
    P = np.asarray(positions, dtype=np.float64)[:, points]  # (n, p, 3)
    h = np.maximum(np.minimum(P[1:, :, 1], P[:-1, :, 1]) - np.asarray(floors)[None], 0.0)
    w = np.clip(2.0 - 2.0 ** (h / SKATE_HEIGHT), 0.0, None)  # (n-1, p): foot_skating's weight of a point
    v = np.diff(P[..., [0, 2]], axis=0)  # (n-1, p, 2)
    W = w.sum(1)  # (n-1,): the weight of each frame's step
    s = np.einsum("tp,tpa->ta", w, v)  # (n-1, 2)
    # The normal equations over all n offsets, as bands (Q[t, t], Q[t, t+1], Q[t, t+2]): the steps'
    # weights (tridiagonal) plus the accelerations' (rows centred on each frame; none centred on a free
    # end, whose frame beyond is not held) plus a little to stay put.
    b0, b1, b2 = np.full(n, 1e-2), np.zeros(n), np.zeros(n)
    b0[:-1] += W
    b0[1:] += W
    b1[:-1] -= W
    for c in range(0 if hold[0] else 1, n if hold[1] else n - 1):  # rows of [1, -2, 1] on c-1, c, c+1
        for i, a in ((c - 1, 1.0), (c, -2.0), (c + 1, 1.0)):
            if not 0 <= i < n:
                continue
            for j, bb in ((c - 1, 1.0), (c, -2.0), (c + 1, 1.0)):
                if i <= j < n and j - i <= 2:
                    (b0, b1, b2)[j - i][i] += smooth * a * bb
    g = np.zeros((n, 2))
    g[1:] -= s  # -(D^T s): a step's residual pulls the later offset one way, the earlier the other
    g[:-1] += s
    t = np.arange(n).astype(float)
    edge = np.minimum(t if hold[0] else np.inf, (n - 1 - t) if hold[1] else np.inf)
    rad = np.full(n, float(radius))
    if hold[0] or hold[1]:
        rad = np.minimum(rad * np.clip(edge / max(ramp, 1), 0.0, 1.0) if ramp else rad, OPENING * edge ** 2)
    x = np.zeros((n, 2))
    fixed = np.zeros(n, bool)
    fixed[:i0] = True
    fixed[i1:] = True
    for _ in range(20):
        f = np.flatnonzero(~fixed)
        x[f] = _solve_banded((b0, b1, b2), f, g[f] - _band_matvec((b0, b1, b2), np.where(fixed[:, None], x, 0.0))[f])
        r = np.linalg.norm(x, axis=1)
        over = ~fixed & (r > rad)
        if not over.any():
            break
        x[over] *= (rad[over] / np.maximum(r[over], 1e-12))[:, None]
        fixed |= over
    out[i0:i1] = x[i0:i1]
    return out


def _band_matvec(bands, x: np.ndarray) -> np.ndarray:
    """Q x for the symmetric pentadiagonal Q of ``bands`` (its diagonal and two upper bands)."""
    b0, b1, b2 = bands
    y = b0[:, None] * x
    y[:-1] += b1[:-1, None] * x[1:]
    y[1:] += b1[:-1, None] * x[:-1]
    y[:-2] += b2[:-2, None] * x[2:]
    y[2:] += b2[:-2, None] * x[:-2]
    return y


def _solve_banded(bands, idx: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Q[idx][:, idx] y = rhs: dropping frames from a pentadiagonal matrix leaves one of the same width
    (frames more than two apart never couple), solved in O(n) by LAPACK's banded Cholesky. A dense
    solve here ran numpy's threaded BLAS, whose spinning threads then slowed torch's next generator
    pass by a third on 2 cores (session 19)."""
    from scipy.linalg import solveh_banded

    b0, b1, b2 = bands
    m = len(idx)
    ab = np.zeros((3, m))  # upper form: ab[2 - k, j] = Q[j - k, j]
    ab[2] = b0[idx]
    if m > 1:
        d1 = idx[1:] - idx[:-1]
        ab[1, 1:] = np.where(d1 == 1, b1[idx[:-1]], np.where(d1 == 2, b2[idx[:-1]], 0.0))
    if m > 2:
        d2 = idx[2:] - idx[:-2]
        ab[0, 2:] = np.where(d2 == 2, b2[idx[:-2]], 0.0)
    return solveh_banded(ab, rhs, check_finite=False)

