"""Pins spliced into generated motion with hidden seams, and the seam measures.

The splice keeps every pinned frame equal to its pin and hides the seams: inside each gap the root
heading is turned by a yaw that interpolates from the left seam's correction to the right seam's,
the horizontal root path is re-integrated from the left pin with the turned velocities and bent
(smoothstep) to meet the right pin, and a Hermite-like correction (the error at the seam plus its
rate of change, in each joint's rotation-vector tangent space and on the root) decays from each
seam over about half a second. Position and velocity are thus continuous across every seam.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.ops import runs, smoothstep

BLEND_SECONDS = 0.5  # how far into a gap a seam correction reaches


# --- small quaternion helpers ---------------------------------------------------------------------------
def heading_angle(q: np.ndarray) -> np.ndarray:
    """Heading angle (about +y) of rotations (..., 4), read from both horizontal axes."""
    m = Q.to_matrix(q)
    return np.arctan2(m[..., 0, 2] - m[..., 2, 0], m[..., 2, 2] + m[..., 0, 0])


def turn_about_y(angle: np.ndarray) -> np.ndarray:
    angle = np.asarray(angle, dtype=np.float64)
    out = np.zeros(angle.shape + (4,))
    out[..., 0] = np.cos(angle / 2)
    out[..., 2] = np.sin(angle / 2)
    return out


def _rot_y(angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate horizontal components of v (..., 3) by angle (...) about +y."""
    c, s = np.cos(angle), np.sin(angle)
    out = v.copy()
    out[..., 0] = c * v[..., 0] + s * v[..., 2]
    out[..., 2] = -s * v[..., 0] + c * v[..., 2]
    return out


def wrap_angle(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def _decay(d: np.ndarray, B: int) -> np.ndarray:
    """1 at the seam (d = 0) falling smoothly to 0 at d = B + 1; zero slope at the seam."""
    return 1.0 - smoothstep(d / (B + 1.0))


def _rate_shape(d: np.ndarray, B: int) -> np.ndarray:
    """d (1 - d / (B + 1))^2: slope 1 at the seam, zero value and slope at B + 1, and the smallest
    peak curvature (4 / (B + 1)) of such cubics, so a velocity mismatch fades without a jolt."""
    u = np.clip(d / (B + 1.0), 0.0, 1.0)
    return d * (1.0 - u) ** 2


# --- the splice -----------------------------------------------------------------------------------------
def _seam_base(gen_rot, gen_root, pin_root, vel, psi, k: int, f: int, side: str) -> tuple[np.ndarray, np.ndarray]:
    """The gap's construction (turned heading, root path from the pin) carried on to pin frame f
    at or beyond the seam frame k: what the correction measures the pin against."""
    r = gen_rot[f].copy()
    r[0] = Q.multiply(turn_about_y(psi), r[0])
    p = gen_root[f].copy()
    if f == k:
        p[[0, 2]] = pin_root[k][[0, 2]]
    else:  # one frame beyond the seam: step along the turned generated velocity
        step = _rot_y(psi, vel[k] if side == "l" else vel[f])
        p[[0, 2]] = (pin_root[k] - step)[[0, 2]] if side == "l" else (pin_root[k] + step)[[0, 2]]
    return r, p


SEAM_FLIP_DEG = 45.0  # G's root turning this much faster than the pin, across a seam: a flip, not a move


def _steady_refs(gen_rot: np.ndarray, pin_rot: np.ndarray, pinned: np.ndarray, k: int, side: str) -> np.ndarray:
    """G's frames under a pin at seam frame ``k`` that the splice measures the pin against (``k`` and
    the pin frame beyond it): as generated, unless G's root flips there, turning faster than the pin
    by over ``SEAM_FLIP_DEG`` in a frame (the generator flips its waist now and then, and near a pin
    it may do so under the pin's frames, where it is not seen). Then those frames continue G's frame
    on the gap side at the pin's own rate, so the gap is not turned to meet a flip that never shows:
    measured against the flipped frames, a gap spun into its pin at up to 110 degrees a frame
    (5 of 90 one-draw fills of 30-frame gaps with a seam over 20 cm/frame^2, session 20)."""
    F = len(gen_rot)
    g, nb = (k + 1, k - 1) if side == "l" else (k - 1, k + 1)
    if not 0 <= g < F or pinned[g]:
        return gen_rot
    has_nb = 0 <= nb < F and pinned[nb]

    def turn(a, b):
        return float(np.degrees(Q.angle(Q.multiply(a, Q.conjugate(b)))))

    pin_step = turn(pin_rot[nb, 0], pin_rot[k, 0]) if has_nb else 0.0
    gen_step = max(turn(gen_rot[k, 0], gen_rot[g, 0]), turn(gen_rot[nb, 0], gen_rot[k, 0]) if has_nb else 0.0)
    if gen_step <= pin_step + SEAM_FLIP_DEG:
        return gen_rot
    ref = gen_rot.copy()
    # The pin's step per joint from the seam frame to the one beyond it (back in time on the left,
    # on on the right): carried on from the gap side, G's frame at the seam and beyond step as the pin's.
    step = Q.multiply(pin_rot[nb], Q.conjugate(pin_rot[k])) if has_nb else Q.identity(pin_rot[k].shape[:-1])
    ref[k] = Q.multiply(step, gen_rot[g])
    if has_nb:
        ref[nb] = Q.multiply(step, ref[k])
    return ref


def splice(gen_rot: np.ndarray, gen_root: np.ndarray, pin_rot: np.ndarray, pin_root: np.ndarray,
           pinned: np.ndarray, blend: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put the pinned frames back exactly and blend every gap into its neighbouring pins.

    gen_rot (F, J, 4), gen_root (F, 3): the decoded motion; pin_rot/pin_root: the pinned values
    (read only where ``pinned`` (F,) is True). ``blend`` frames: reach of the seam corrections, one
    number or (F,) per pinned frame (a seam takes its pin frame's: each pin its own blend).
    Returns (rotations, root); pinned frames are the pin's values, bit for bit.
    """
    F = len(gen_rot)
    out_rot, out_root = gen_rot.copy(), gen_root.copy()
    for g0, g1 in runs(~pinned):
        s = g0 - 1 if g0 > 0 else None  # last frame of the left pin
        e = g1 if g1 < F else None  # first frame of the right pin
        if s is None and e is None:
            continue
        idx = np.arange(g0, g1)
        n = g1 - g0
        ref_l = _steady_refs(gen_rot, pin_rot, pinned, s, "l") if s is not None else gen_rot
        ref_r = _steady_refs(gen_rot, pin_rot, pinned, e, "r") if e is not None else gen_rot
        # Heading and horizontal root path.
        psi_l = wrap_angle(heading_angle(pin_rot[s, 0]) - heading_angle(ref_l[s, 0])) if s is not None else None
        psi_r = wrap_angle(heading_angle(pin_rot[e, 0]) - heading_angle(ref_r[e, 0])) if e is not None else None
        if s is not None and e is not None:
            h = smoothstep((idx - s) / float(e - s))
            psi = psi_l + wrap_angle(psi_r - psi_l) * h
        else:
            h = None
            psi = np.full(n, psi_l if s is not None else psi_r)
        out_rot[idx, 0] = Q.multiply(turn_about_y(psi), gen_rot[idx, 0])
        vel = np.diff(gen_root, axis=0, prepend=gen_root[:1])  # vel[t] = root[t] - root[t-1]
        path = np.zeros((n, 3))
        if s is not None:
            path = pin_root[s] + np.cumsum(_rot_y(psi, vel[idx]), axis=0)
            if e is not None:
                reach = path[-1] + _rot_y(psi_r, vel[e])
                miss = pin_root[e] - reach
                path = path + miss[None] * h[:, None]
        else:  # only a right pin: integrate backwards from it
            steps = _rot_y(psi, vel[idx + 1]) if g1 < F else None
            back = np.cumsum(steps[::-1], axis=0)[::-1]
            path = pin_root[e] - back
        out_root[idx, 0] = path[:, 0]
        out_root[idx, 2] = path[:, 2]

        # Seam corrections: the error at the seam and its rate, decaying into the gap.
        for side, k, psi_k, ref in (("l", s, psi_l, ref_l), ("r", e, psi_r, ref_r)):
            if k is None:
                continue
            nb = k - 1 if side == "l" else k + 1  # the pin frame beyond the seam
            has_rate = 0 <= nb < F and pinned[nb]
            B = max(1, min(int(blend[k]) if np.ndim(blend) else int(blend), n))

            br, bp = _seam_base(ref, gen_root, pin_root, vel, psi_k, k, k, side)
            err0 = Q.multiply(pin_rot[k], Q.conjugate(br))  # (J, 4)
            e0_rot = Q.to_rotvec(err0)  # (J, 3)
            e0_root = pin_root[k] - bp
            if has_rate:
                br1, bp1 = _seam_base(ref, gen_root, pin_root, vel, psi_k, k, nb, side)
                # The rate is the rotation from one frame's error to the next, not the difference of
                # their rotation vectors: errors near 180 degrees on either side of the wrap (a pin
                # whose hips face away from the generated ones) differ by almost 2 pi as vectors.
                err1 = Q.multiply(pin_rot[nb], Q.conjugate(br1))
                e1_rot = Q.to_rotvec(Q.multiply(err0, Q.conjugate(err1)))
                e1_root = e0_root - (pin_root[nb] - bp1)
            else:
                e1_rot, e1_root = np.zeros_like(e0_rot), np.zeros_like(e0_root)
            d = (idx - k) if side == "l" else (k - idx)  # 1 .. n
            w = _decay(d, B)[:, None]
            wv = _rate_shape(d, B)[:, None]
            corr = e0_rot[None] * w[..., None] + e1_rot[None] * wv[..., None]  # (n, J, 3)
            out_rot[idx] = Q.multiply(Q.from_rotvec(corr), out_rot[idx])
            out_root[idx] += e0_root[None] * w + e1_root[None] * wv
        # Keep quaternion signs continuous from the left pin into the gap.
        lead = out_rot[s:s + 1] if s is not None else out_rot[g0:g0 + 1]
        seq = Q.make_continuous(np.concatenate([lead, out_rot[idx]], axis=0))
        out_rot[idx] = seq[1:]
    out_rot[pinned] = pin_rot[pinned]
    out_root[pinned] = pin_root[pinned]
    return out_rot, out_root


# --- seams ---------------------------------------------------------------------------------------------
def acceleration(positions: np.ndarray) -> np.ndarray:
    """(F - 2,) mean over joints of |second difference| of joint positions (cm / frame^2)."""
    a = positions[2:] - 2 * positions[1:-1] + positions[:-2]
    return np.linalg.norm(a, axis=-1).mean(axis=-1)


def seam_frames(pinned: np.ndarray) -> list[int]:
    """Frames where pinned and generated frames meet: the first frame after each switch."""
    p = np.asarray(pinned, bool)
    return (np.flatnonzero(p[1:] != p[:-1]) + 1).tolist()


def seam_jumps(motion: Motion, seams: Sequence[int]) -> np.ndarray:
    """Change of joint velocity across each seam (cm / frame^2, mean over joints).

    For a seam between frames k-1 and k, the largest |second difference| of the three that read
    across it (centred on k-2 .. k+1 when they exist), so a jump in position or in velocity shows.
    """
    acc = acceleration(motion.positions)  # acc[i] is centred on frame i + 1
    out = []
    for k in seams:
        lo, hi = max(0, k - 2), min(len(acc), k + 1)  # centres k-1 .. k+1 -> acc indices k-2 .. k
        out.append(float(acc[lo:hi].max()) if hi > lo else 0.0)
    return np.asarray(out)


def real_acceleration_quantile(motions: Sequence[Motion], q: float = 0.95) -> float:
    """The q-quantile of real frame-to-frame velocity changes (same statistic as ``seam_jumps``)."""
    return float(np.quantile(np.concatenate([acceleration(m.positions) for m in motions]), q))
