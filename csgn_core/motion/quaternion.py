"""Unit quaternions as numpy arrays, (w, x, y, z) order, broadcasting over leading axes.

All functions are pure and vectorised: a motion's rotations are one (F, J, 4) array.
"""
from __future__ import annotations

import numpy as np

_AXES = {"X": 0, "Y": 1, "Z": 2}


def identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    q = np.zeros(tuple(shape) + (4,))
    q[..., 0] = 1.0
    return q


def normalize(q: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    return q / np.maximum(n, 1e-12)


def conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (apply b first, then a)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    half = 0.5 * np.asarray(angle, dtype=float)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def to_axis_angle(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    s = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    axis = q[..., 1:] / np.maximum(s, 1e-12)[..., None]
    return axis, angle


def to_rotvec(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions -> (..., 3) rotation vectors (axis times angle, shortest path)."""
    q = np.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    ang = 2.0 * np.arctan2(s, q[..., :1])
    return v * np.where(s > 1e-12, ang / np.maximum(s, 1e-12), 2.0)


def from_rotvec(r: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors -> (..., 4) unit quaternions."""
    a = np.linalg.norm(r, axis=-1, keepdims=True)
    k = np.where(a > 1e-12, np.sin(0.5 * a) / np.maximum(a, 1e-12), 0.5)
    return np.concatenate([np.cos(0.5 * a), r * k], axis=-1)


def angle(q: np.ndarray) -> np.ndarray:
    """Rotation angle in radians, in [0, pi]."""
    return to_axis_angle(q)[1]


def between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction a onto direction b (both (..., 3))."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    d = np.sum(a * b, axis=-1, keepdims=True)
    c = np.cross(a, b)
    q = np.concatenate([1.0 + d, c], axis=-1)
    # Opposite directions: any axis perpendicular to a works.
    opposite = (1.0 + d[..., 0]) < 1e-9
    if np.any(opposite):
        ortho = np.cross(a, np.array([1.0, 0.0, 0.0]))
        small = np.linalg.norm(ortho, axis=-1) < 1e-6
        ortho = np.where(small[..., None], np.cross(a, np.array([0.0, 1.0, 0.0])), ortho)
        q = np.where(opposite[..., None], np.concatenate([np.zeros_like(d), ortho], axis=-1), q)
    return normalize(q)


def fit_rotations(a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Rotations (F, 4) taking directions a (C, 3) or (F, C, 3) best onto directions b (F, C, 3).

    Weighted least squares over unit directions (Kabsch, no reflections); weights (C,) or (F, C),
    default 1. Where the directions are (nearly) collinear, so that the turn about them is
    undetermined, the frame takes the shortest arc of its heaviest direction instead.
    """
    b = np.asarray(b, dtype=np.float64)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), b.shape)
    w = np.broadcast_to(np.ones(b.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64), b.shape[:2])
    au = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    bu = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    H = np.einsum("fc,fci,fcj->fij", w, au, bu)  # (F, 3, 3) sum w a b^T
    U, S, Vt = np.linalg.svd(H)
    V, Ut = Vt.transpose(0, 2, 1), U.transpose(0, 2, 1)
    D = np.broadcast_to(np.eye(3), H.shape).copy()
    D[:, 2, 2] = np.where(np.linalg.det(V @ Ut) < 0, -1.0, 1.0)
    q = from_matrix(V @ D @ Ut)
    degenerate = S[:, 1] < 1e-6 * np.maximum(S[:, 0], 1e-12)
    if degenerate.any():
        k = np.argmax(w[degenerate], axis=1)
        rows = np.nonzero(degenerate)[0]
        q[degenerate] = between(au[rows, k], bu[rows, k])
    return q


def to_matrix(q: np.ndarray) -> np.ndarray:
    q = normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to quaternions, numerically robust (Shepperd's method).

    Each matrix uses the candidate of its largest diagonal term (w, x, y or z). The shared sums and
    differences are formed once on whole planes and the candidates picked per component: the
    stacked (..., 4, 4) candidate table this replaced made it a third of decoding a generated take.
    """
    m = np.asarray(m, dtype=float)
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    t = m00 + m11 + m22
    a, b, c = m21 - m12, m02 - m20, m10 - m01
    d, e, f = m01 + m10, m02 + m20, m12 + m21
    dw, dx, dy, dz = 1 + t, 1 + 2 * m00 - t, 1 + 2 * m11 - t, 1 + 2 * m22 - t
    best = np.argmax(np.stack([t, m00, m11, m22], -1), axis=-1)
    q = np.stack([np.choose(best, (dw, a, b, c)), np.choose(best, (a, dx, d, e)),
                  np.choose(best, (b, d, dy, f)), np.choose(best, (c, e, f, dz))], -1)
    q = normalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def from_euler(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Euler angles in degrees, (..., len(order)), applied as BVH does.

    BVH channel order "ZXY" means R = Rz @ Rx @ Ry: the first listed axis is outermost.
    """
    angles = np.radians(np.asarray(angles_deg, dtype=float))
    q = identity(angles.shape[:-1])
    for i, ax in enumerate(order.upper()):
        axis = np.zeros(3)
        axis[_AXES[ax]] = 1.0
        q = multiply(q, from_axis_angle(axis, angles[..., i]))
    return q


def to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """Quaternions to Euler angles in degrees for a three-axis order such as "ZXY" (inverse of from_euler).

    The middle angle comes from atan2 rather than arcsin, and the gimbal-lock branch is taken only
    within 1e-8 rad of the lock, so round trips stay exact to ~1e-8 rad right up to it.
    """
    order = order.upper()
    if len(order) != 3 or len(set(order)) != 3 or not set(order) <= set("XYZ"):
        raise ValueError(f"Euler order must name three distinct axes, got {order!r}")
    m = to_matrix(q)
    i, j, k = (_AXES[a] for a in order)
    # R = R_i(a) R_j(b) R_k(c); parity tells the sign pattern of a Tait-Bryan decomposition.
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    cb = np.hypot(m[..., i, i], m[..., i, j])
    b = np.arctan2(sign * m[..., i, k], cb)
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    lock = cb < 1e-8
    if np.any(lock):
        # Gimbal lock: put all of the remaining rotation on the first axis.
        a = np.where(lock, np.arctan2(sign * m[..., k, j], m[..., j, j]), a)
        c = np.where(lock, 0.0, c)
    return np.degrees(np.stack([a, b, c], axis=-1))


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if t.ndim and t.shape[-1] != 1:
        t = t[..., None]
    d = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(d < 0, -b, b)
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    s = np.sin(theta)
    small = s < 1e-6
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(small, 1.0, s))
    wb = np.where(small, t, np.sin(t * theta) / np.where(small, 1.0, s))
    return normalize(wa * a + wb * b)


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` (time) so that consecutive quaternions stay in one hemisphere."""
    q = np.moveaxis(np.array(q, dtype=float, copy=True), axis, 0)
    if len(q) > 1:
        dots = np.sum(q[1:] * q[:-1], axis=-1)
        flips = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
        q[1:] *= flips[..., None]
    return np.moveaxis(q, 0, axis)
