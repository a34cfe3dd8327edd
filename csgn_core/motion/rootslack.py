"""Root slack: floor offsets of a body's root that keep its planted feet still.

A generated body whose legs step at another pace than its root travels slides its planted feet by
the difference; so does a body carried along a floor path its legs did not step for. Moving the
whole body a little over the floor, where a foot is down, takes part of that difference off the
feet without touching a joint: no knee locks, no foot snaps (the IK clean-up's failure modes,
``footclean``). The offsets are least squares on each heel and toe point's step, weighted as
``contacts.foot_skating`` counts a point on the floor, plus a smoothness term on their second
difference (the frames beyond a held end held too, so a seam's velocity does not jump), within a
radius that opens from nothing at a held end no faster than ``OPENING``; the radius is kept by
clamping the offsets that leave it and solving again for the rest (a few rounds, a dense solve of
the span's length each).
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
    D = np.diff(np.eye(n), axis=0)[:, i0:i1]  # (n-1, m): each frame's step from the free offsets
    A = np.diff(np.eye(n + 2), 2, axis=0)[:, 1 + i0:1 + i1]  # (n, m): accelerations, frames beyond held
    A = A[(0 if hold[0] else 1):(n if hold[1] else n - 1)]  # a free end has no frame beyond it to hold
    m = i1 - i0
    Q = D.T @ (w.sum(1)[:, None] * D) + smooth * A.T @ A + 1e-2 * np.eye(m)
    g = -D.T @ np.einsum("tp,tpa->ta", w, v)  # (m, 2)
    t = np.arange(i0, i1).astype(float)
    edge = np.minimum(t if hold[0] else np.inf, (n - 1 - t) if hold[1] else np.inf)
    rad = np.full(m, float(radius))
    if hold[0] or hold[1]:
        rad = np.minimum(rad * np.clip(edge / max(ramp, 1), 0.0, 1.0) if ramp else rad, OPENING * edge ** 2)
    x = np.zeros((m, 2))
    fixed = np.zeros(m, bool)
    for _ in range(20):
        f = ~fixed
        x[f] = np.linalg.solve(Q[np.ix_(f, f)], g[f] - Q[np.ix_(f, fixed)] @ x[fixed])
        r = np.linalg.norm(x, axis=1)
        over = f & (r > rad)
        if not over.any():
            break
        x[over] *= (rad[over] / np.maximum(r[over], 1e-12))[:, None]
        fixed |= over
    out[i0:i1] = x
    return out
