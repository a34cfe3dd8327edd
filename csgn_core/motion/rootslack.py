"""Root slack: floor moves and turns of a body's root that keep its planted feet still.

A generated body whose legs step at another pace than its root travels slides its planted feet by
the difference; so does a body carried along a floor path its legs did not step for. Moving the
whole body a little over the floor, where a foot is down, takes part of that difference off the
feet without touching a joint: no knee locks, no foot snaps (the IK clean-up's failure modes,
``footclean``). The offsets are least squares on each heel and toe point's step, weighted as
``contacts.foot_skating`` counts a point on the floor, plus a smoothness term on their second
difference (the frames beyond a held end held too, so a seam's velocity does not jump), within a
radius that opens from nothing at a held end no faster than ``OPENING``; the radius is kept by
clamping the offsets that leave it and solving again for the rest (a few rounds, each a banded
solve of the span's length). Each frame may also turn about the vertical through the root
(``floor_slack``'s ``turn``): a body that pivots where its planted foot should not slides that foot
in an arc, which no move of the whole body takes off.
"""
from __future__ import annotations

import numpy as np

OPENING = 0.25  # cm/frame^2: how fast the allowed offset grows away from a held end


def root_slack(positions: np.ndarray, points: list[int], floors: np.ndarray, *, radius: float, smooth: float,
               ramp: int = 0, hold: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """(n, 2) floor offsets (x, z, cm) for the root of ``positions`` (n, J, 3), at most ``radius`` from
    where it is, none at a held first or last frame (``hold``), reaching the full radius no sooner than
    ``ramp`` frames from a held end; ``points``: the heel and toe joints, ``floors`` their floor heights.
    ``floor_slack`` without a turn."""
    return floor_slack(positions, points, floors, radius=radius, turn=0.0, smooth=smooth, ramp=ramp, hold=hold)[:, :2]


TURN_REACH = 30.0  # cm: the lever a turn of the body is weighed at against a move (a foot's reach from the root)


def floor_slack(positions: np.ndarray, points: list[int], floors: np.ndarray, *, radius: float, turn: float,
                smooth: float | np.ndarray, ramp: int = 0, hold: tuple[bool, bool] = (True, True),
                opening: float = OPENING) -> np.ndarray:
    """(n, 3) floor moves (x, z, cm) and turns about the vertical through the root (radians) of the body
    ``positions`` (n, J, 3) that keep its planted feet still: moves at most ``radius`` and turns at most
    ``turn``, none at a held first or last frame (``hold``), opening from a held end no faster than
    ``opening`` (a turn as a move at ``TURN_REACH`` does) and reaching the full radius no sooner than
    ``ramp`` frames from it; ``points``: the heel and toe joints, ``floors`` their floor heights.
    Moves and turns are one least-squares problem, linear in small turns (interleaved unknowns: a
    band of 8)."""
    from scipy.linalg import solveh_banded
    from scipy.sparse import coo_matrix

    from csgn_core.motion.contacts import SKATE_HEIGHT

    n = len(positions)
    out = np.zeros((n, 3))
    i0, i1 = (1 if hold[0] else 0), (n - 1 if hold[1] else n)
    if n < 4 or (radius <= 0 and turn <= 0) or i1 - i0 < 1:
        return out
    pos = np.asarray(positions, dtype=np.float64)
    P = pos[:, points]  # (n, p, 3)
    h = np.maximum(np.minimum(P[1:, :, 1], P[:-1, :, 1]) - np.asarray(floors)[None], 0.0)
    w = np.clip(2.0 - 2.0 ** (h / SKATE_HEIGHT), 0.0, None)  # (n-1, p)
    v = np.diff(P[..., [0, 2]], axis=0)  # (n-1, p, 2)
    rel = P[..., [0, 2]] - pos[:, None, 0, [0, 2]]
    q = np.stack([rel[..., 1], -rel[..., 0]], axis=-1)  # (n, p, 2): a point's move per radian of turn
    # The normal equations: a step's residual is v + M y, y = (x, z, turn) at t and t + 1, M (n-1, p, 2, 6)
    M = np.zeros(v.shape[:2] + (2, 6))
    M[..., 0, 0] = M[..., 1, 1] = -1.0
    M[..., 0, 3] = M[..., 1, 4] = 1.0
    M[..., :, 2] = -q[:-1]
    M[..., :, 5] = q[1:]
    A = np.einsum("tp,tpai,tpaj->tij", w, M, M)  # (n-1, 6, 6)
    blk = 3 * np.arange(n - 1)[:, None] + np.arange(6)  # (n-1, 6): each step's unknowns
    g = np.zeros(3 * n)
    np.add.at(g, blk, -np.einsum("tp,tpai,tpa->ti", w, M, v))
    rows = [np.repeat(blk[:, :, None], 6, axis=2).ravel()]
    cols = [np.repeat(blk[:, None, :], 6, axis=1).ravel()]
    vals = [A.ravel()]
    scale = np.array([1.0, 1.0, TURN_REACH ** 2])
    rows.append(np.arange(3 * n))
    cols.append(np.arange(3 * n))
    vals.append(np.tile(1e-2 * scale, n))  # a little to stay put
    centres = np.arange(0 if hold[0] else 1, n if hold[1] else n - 1)
    sw = np.broadcast_to(np.asarray(smooth, dtype=np.float64), (n,))[centres]  # per centre frame
    for k in range(3):  # each unknown's second difference, frames beyond a held end at zero
        for di, a in ((-1, 1.0), (0, -2.0), (1, 1.0)):
            for dj, b in ((-1, 1.0), (0, -2.0), (1, 1.0)):
                i, j = centres + di, centres + dj
                ok = (i >= 0) & (i < n) & (j >= 0) & (j < n)
                rows.append(3 * i[ok] + k)
                cols.append(3 * j[ok] + k)
                vals.append(sw[ok] * (scale[k] * a * b))
    Qm = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(3 * n,) * 2).tocsr()
    t = np.arange(n).astype(float)
    edge = np.minimum(t if hold[0] else np.inf, (n - 1 - t) if hold[1] else np.inf)
    rad, lim = np.full(n, float(radius)), np.full(n, max(float(turn), 0.0))
    if hold[0] or hold[1]:
        near = np.clip(edge / ramp, 0.0, 1.0) if ramp else 1.0
        rad = np.minimum(rad * near, opening * edge ** 2)
        lim = np.minimum(lim * near, opening * edge ** 2 / TURN_REACH)
    x = np.zeros(3 * n)
    fixed = np.ones(3 * n, bool)
    fixed[3 * i0:3 * i1] = False
    if turn <= 0:
        fixed[2::3] = True
    for _ in range(20):
        f = np.flatnonzero(~fixed)
        Qf = Qm[f][:, f]
        ab = np.zeros((9, len(f)))
        for k in range(min(9, len(f))):
            ab[8 - k, k:] = Qf.diagonal(k)
        x[f] = solveh_banded(ab, g[f] - (Qm @ np.where(fixed, x, 0.0))[f], check_finite=False)
        X = x.reshape(n, 3)
        r = np.linalg.norm(X[:, :2], axis=1)
        free = ~fixed.reshape(n, 3)
        over_m = free[:, 0] & (r > rad)
        over_t = free[:, 2] & (np.abs(X[:, 2]) > lim)
        if not (over_m.any() or over_t.any()):
            break
        X[over_m, :2] *= (rad[over_m] / np.maximum(r[over_m], 1e-12))[:, None]
        X[over_t, 2] = np.clip(X[over_t, 2], -lim[over_t], lim[over_t])
        fm = fixed.reshape(n, 3)
        fm[over_m, :2] = True
        fm[over_t, 2] = True
    out[i0:i1] = x.reshape(n, 3)[i0:i1]
    return out


def turn_body(rotations: np.ndarray, root: np.ndarray, slack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The body (rotations (n, J, 4), root (n, 3)) turned about the vertical through its root by
    ``slack[:, 2]`` and moved over the floor by ``slack[:, :2]`` (``floor_slack``'s answer)."""
    from csgn_core.motion import quaternion as Q

    rot = rotations.copy()
    rot[:, 0] = Q.multiply(Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), slack[:, 2]), rotations[:, 0])
    out = root.copy()
    out[:, [0, 2]] += slack[:, :2]
    return rot, out
