"""Conditional sampling (paper section 4): fill the gaps between pinned segments, predict, resample.

Completion follows the paper's factorisation p(z | x_K) ~ p(z_U | z_K) p(z_K | x_K):

1. every pin is encoded with the inverse network H; the latent steps whose S-frame span lies inside
   the pin are the observed steps z_K (steps straddling a pin's edge are left to the GP). A model
   whose H does not invert its G skips this and the next step's conditioning (``uses_inverse``);
2. the rest of the latent is drawn from the GP prior conditioned on z_K (Matheron's rule, exact at
   the observed steps), with the generator's receptive radius of extra steps on both sides so the
   result does not end at G's zero-padded borders;
3. optionally the latent steps that touch pinned frames are refined for a bounded time so that G
   reproduces the pins (this is also what honours pins too short for H, such as one keyframe);
4. G decodes the whole latent and the pins are spliced back in exactly (``splice``);
5. gaps between two pins shorter than ``inbetween.SPLINE_SECONDS[1]`` blend in a cubic Hermite
   in-between by their length (``inbetween.blend_short_gaps``): short gaps are transitions.

The splice keeps every pinned frame equal to its pin and hides the seams: inside each gap the root
heading is turned by a yaw that interpolates from the left seam's correction to the right seam's,
the horizontal root path is re-integrated from the left pin with the turned velocities and bent
(smoothstep) to meet the right pin, and a Hermite-like correction (the error at the seam plus its
rate of change, in each joint's rotation-vector tangent space and on the root) decays from each
seam over about half a second. Position and velocity are thus continuous across every seam.

Resampling one gap solves the same problem on a local window whose "pins" are the previous fill's
frames around the gap, then copies only the gap's frames into a copy of the previous fill, so every
frame outside the gap stays bit-identical.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import quaternion as Q
from .errors import CSGNError
from .inbetween import SPLINE_SECONDS, blend_short_gaps, gap_spline_weight
from .motion import Motion
from .ops import runs, smoothstep
from .paths import model_location
from .timeline import Fill, Pin, Timeline

Progress = Callable[[float, str], None] | None
Cancel = Callable[[], bool] | None

BLEND_SECONDS = 0.5  # how far into a gap a seam correction reaches
CONDITIONS = ("auto", "inverse", "prior")
MIN_INVERSE_FIDELITY = 0.5  # below this H's latents of the pins are not used (``uses_inverse``)


class Cancelled(CSGNError):
    """The caller's cancel hook asked the sampler to stop."""


# --- small quaternion helpers ---------------------------------------------------------------------------
def _yaw(q: np.ndarray) -> np.ndarray:
    """Heading angle (about +y) of rotations (..., 4), read from both horizontal axes."""
    m = Q.to_matrix(q)
    return np.arctan2(m[..., 0, 2] - m[..., 2, 0], m[..., 2, 2] + m[..., 0, 0])


def _ry(angle: np.ndarray) -> np.ndarray:
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


def _wrap(a):
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
    r[0] = Q.multiply(_ry(psi), r[0])
    p = gen_root[f].copy()
    if f == k:
        p[[0, 2]] = pin_root[k][[0, 2]]
    else:  # one frame beyond the seam: step along the turned generated velocity
        step = _rot_y(psi, vel[k] if side == "l" else vel[f])
        p[[0, 2]] = (pin_root[k] - step)[[0, 2]] if side == "l" else (pin_root[k] + step)[[0, 2]]
    return r, p


def splice(gen_rot: np.ndarray, gen_root: np.ndarray, pin_rot: np.ndarray, pin_root: np.ndarray,
           pinned: np.ndarray, blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Put the pinned frames back exactly and blend every gap into its neighbouring pins.

    gen_rot (F, J, 4), gen_root (F, 3): the decoded motion; pin_rot/pin_root: the pinned values
    (read only where ``pinned`` (F,) is True). ``blend`` frames: reach of the seam corrections.
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
        # Heading and horizontal root path.
        psi_l = _wrap(_yaw(pin_rot[s, 0]) - _yaw(gen_rot[s, 0])) if s is not None else None
        psi_r = _wrap(_yaw(pin_rot[e, 0]) - _yaw(gen_rot[e, 0])) if e is not None else None
        if s is not None and e is not None:
            h = smoothstep((idx - s) / float(e - s))
            psi = psi_l + _wrap(psi_r - psi_l) * h
        else:
            h = None
            psi = np.full(n, psi_l if s is not None else psi_r)
        out_rot[idx, 0] = Q.multiply(_ry(psi), gen_rot[idx, 0])
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
        for side, k, psi_k in (("l", s, psi_l), ("r", e, psi_r)):
            if k is None:
                continue
            nb = k - 1 if side == "l" else k + 1  # the pin frame beyond the seam
            has_rate = 0 <= nb < F and pinned[nb]
            B = max(1, min(blend, n))

            br, bp = _seam_base(gen_rot, gen_root, pin_root, vel, psi_k, k, k, side)
            err0 = Q.multiply(pin_rot[k], Q.conjugate(br))  # (J, 4)
            e0_rot = Q.to_rotvec(err0)  # (J, 3)
            e0_root = pin_root[k] - bp
            if has_rate:
                br1, bp1 = _seam_base(gen_rot, gen_root, pin_root, vel, psi_k, k, nb, side)
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


# --- pins onto the model --------------------------------------------------------------------------------
def conform(motion: Motion, model, *, resample_fps: bool = True) -> Motion:
    """A motion on the model's skeleton (retargeted through a joint map if needed) and, if asked, at its fps."""
    from .ops import resample

    if not motion.skeleton.same_topology(model.skeleton):
        from .retarget import to_model
        motion = to_model(motion, model.skeleton)
    elif not motion.has_rotations:
        from .solve import positions_to_rotations
        motion = positions_to_rotations(motion, model.skeleton)
    if resample_fps and abs(motion.fps - model.fps) > 1e-6:
        motion = resample(motion, model.fps)
    return motion


def _pin_frames(pin: Pin, model) -> Motion:
    src = pin.frames()
    if abs(src.fps - model.fps) > 1e-6:
        raise CSGNError(f"pin {pin.label or pin.id}: its source runs at {src.fps:g} fps but the model at "
                        f"{model.fps:g}; resample the source before pinning it")
    return conform(src, model, resample_fps=False)


# --- the core -------------------------------------------------------------------------------------------
@dataclass
class Problem:
    length: int
    pins: list[tuple[int, Motion]]  # (timeline frame, motion on the model skeleton at the model's fps)


def _check(cancel: Cancel) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def _report(progress: Progress, f: float, msg: str) -> None:
    if progress is not None:
        progress(float(min(max(f, 0.0), 1.0)), msg)


def uses_inverse(model, condition: str = "auto") -> bool:
    """Whether completion conditions the prior on H's latents of the pins (steps 1-2 above).

    ``condition``: "inverse" always, "prior" never, "auto" when ``model.inverse_fidelity`` reaches
    ``MIN_INVERSE_FIDELITY``. An H that does not invert G (as in both bundled models: H(G(z))
    correlates about 0.1 with z) maps real motion to latents G never sees when it samples freely;
    conditioning on them made the dance model's gap fills worse than a free prior sample (L2P about
    10% higher, feet sliding 10-30% more: ``docs/results/infill.md``), so such a model's pins enter
    through the refinement and the splice alone.
    """
    if condition not in CONDITIONS:
        raise CSGNError(f"condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")
    if condition == "auto":
        return model.inverse_fidelity >= MIN_INVERSE_FIDELITY
    return condition == "inverse"


def complete_problem(model, prob: Problem, seed, refine_seconds: float = 0.0, progress: Progress = None,
                     cancel: Cancel = None, blend: int | None = None,
                     condition: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
    """(rotations (L, J, 4), root (L, 3), pinned (L,), contacts) of the completed problem; contacts
    are the generator's foot-contact flags {joint: (L,) bool} (None for a model without them)."""
    from .nn.model import decode_features, encode

    use_h = uses_inverse(model, condition)
    L, S = prob.length, model.step_frames
    J = model.skeleton.n_joints
    m = model.G.latent_radius()
    T0 = max(1, math.ceil(L / S))
    T = T0 + 2 * m
    pinned = np.zeros(L, bool)
    pin_rot = np.tile(Q.identity((J,)), (L, 1, 1))
    pin_root = np.zeros((L, 3))
    kidx, zk = [], []
    stage = "encoding pins" if use_h else "placing pins"
    _report(progress, 0.0, stage)
    for i, (at, mo) in enumerate(prob.pins):
        _check(cancel)
        n = mo.n_frames
        pinned[at:at + n] = True
        pin_rot[at:at + n] = mo.rotations
        pin_root[at:at + n] = mo.root
        t0, t1 = -(-at // S), (at + n) // S
        if use_h and t1 > t0:
            z = encode(model, mo.slice(t0 * S - at, n)).numpy()  # steps t0 .. (covers to the pin's end)
            zk.append(z[:, :t1 - t0])
            kidx.extend(range(t0 + m, t1 + m))
        _report(progress, 0.3 * (i + 1) / max(1, len(prob.pins)), stage)
    _check(cancel)
    rng = np.random.default_rng(seed)
    if kidx:
        z = model.prior.condition(np.concatenate(zk, axis=1), np.asarray(kidx), T, 1, rng)[0]
    else:
        z = model.prior.sample(T, 1, rng)[0]
    z = torch.from_numpy(z).float()
    _report(progress, 0.4, "sampling the latent")
    if refine_seconds > 0 and pinned.any():
        z = _refine(model, z, pin_rot, pin_root, pinned, m, refine_seconds, progress, cancel)
    _check(cancel)
    feat = decode_features(model, z)[:, m * S:m * S + L]
    rot, root = model.codec.decode_np(feat)
    contacts = model.codec.contact_flags(feat)
    _report(progress, 0.9, "splicing pins")
    _check(cancel)
    if blend is None:
        blend = max(1, int(round(BLEND_SECONDS * model.fps)))
    rot, root = splice(rot, root, pin_rot, pin_root, pinned, blend)
    rot, root = blend_short_gaps(rot, root, pinned, model.fps)  # short gaps are spline transitions
    _report(progress, 1.0, "done")
    return rot, root, pinned, contacts


def _with_contacts(motion: Motion, generated: dict | None, pinned: np.ndarray) -> Motion:
    """The motion with foot contacts in its meta (``footclean.contacts_to_meta``): the generator's in
    generated frames, detected ones in pinned frames (the pins are the user's motion)."""
    if generated is None:
        return motion
    from .footclean import contacts_to_meta, detect_contacts

    found = detect_contacts(motion.positions, motion.skeleton, motion.fps)
    flags = {k: np.where(pinned, found[k], v) if k in found else v for k, v in generated.items()}
    motion.meta.update(contacts_to_meta(flags))
    return motion


def _refine(model, z: torch.Tensor, pin_rot, pin_root, pinned, m: int, seconds: float, progress: Progress,
            cancel: Cancel) -> torch.Tensor:
    """Adjust the latent steps that reach pinned frames so G reproduces the pins (time-bounded)."""
    S, L = model.step_frames, len(pinned)
    dev = model.device
    target = torch.from_numpy(model.codec.encode_np(pin_rot, pin_root)).to(dev)  # (9, L, J)
    # The root velocity channels of the target are meaningless at a pin's first frame (they read
    # across the pin edge): weight only frames whose predecessor is pinned too, plus every rotation.
    wt = torch.zeros(1, L, 1)
    wt[0, torch.from_numpy(pinned)] = 1.0
    wroot = wt.clone()
    starts = np.flatnonzero(pinned & ~np.concatenate([[False], pinned[:-1]]))
    wroot[0, torch.from_numpy(starts)] = 0.0
    wt, wroot = wt.to(dev), wroot.to(dev)
    r = model.G.latent_radius()
    steps = np.unique(np.concatenate([np.arange(f // S - 1, f // S + 2) for f in np.flatnonzero(pinned)])) + m
    steps = steps[(steps >= 0) & (steps < z.shape[1])]
    lo, hi = max(0, steps.min() - r), min(z.shape[1], steps.max() + r + 1)
    zw = z[:, lo:hi].clone().to(dev)
    sel = torch.from_numpy(steps - lo).to(dev)
    var = zw[:, sel].clone().requires_grad_(True)
    # Adam written out: importing torch.optim costs about 2 s the first time (it pulls in sympy).
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    m1, m2 = torch.zeros_like(var), torch.zeros_like(var)
    f0 = (lo - m) * S  # timeline frame of the window's first output frame
    a, b = max(0, f0), min(L, (hi - m) * S)
    t_end = time.perf_counter() + seconds
    it = 0
    while time.perf_counter() < t_end:
        _check(cancel)
        zz = zw.index_copy(1, sel, var)
        out = model.G(zz[None])[0][:, a - f0:b - f0]
        tgt = target[:, a:b]
        err = (out - tgt) ** 2
        loss = (err[:6] * wt[:, a:b]).sum() + (err[6:8, :, :1] * wroot[:, a:b]).sum() + (err[8:, :, :1] * wt[:, a:b]).sum()
        g, = torch.autograd.grad(loss, [var])  # no gradients for G's own weights
        it += 1
        with torch.no_grad():
            m1.mul_(b1).add_(g, alpha=1 - b1)
            m2.mul_(b2).addcmul_(g, g, value=1 - b2)
            var -= lr * (m1 / (1 - b1 ** it)) / ((m2 / (1 - b2 ** it)).sqrt() + eps)
        _report(progress, 0.4 + 0.4 * min(1.0, it / 50), "refining pinned latents")
    z = z.clone()
    z[:, lo:hi] = zw.index_copy(1, sel, var.detach()).cpu()
    return z


# --- public API -----------------------------------------------------------------------------------------
def _motion(model, rot, root, **meta) -> Motion:
    return Motion(model.skeleton, model.fps, rotations=rot, root=root, meta=dict(generator="csgn", **meta))


def fill(doc: Timeline, model, seed: int = 0, *, refine_seconds: float = 0.0, progress: Progress = None,
         cancel: Cancel = None) -> Fill:
    """Complete the whole timeline: every pinned frame equals its pin, the gaps are sampled.

    Pins must hold source motions at the model's fps; sources on another skeleton are retargeted
    through a joint map. ``progress(fraction, message)`` reports; ``cancel()`` returning True stops
    the work with ``Cancelled``.
    """
    if abs(doc.fps - model.fps) > 1e-6:
        raise CSGNError(f"the timeline runs at {doc.fps:g} fps but the model at {model.fps:g}")
    pins = [(p.at, _pin_frames(p, model)) for p in doc.pins]
    with torch.no_grad() if refine_seconds <= 0 else _nullctx():
        rot, root, pinned, contacts = complete_problem(model, Problem(doc.length, pins), seed, refine_seconds,
                                                       progress, cancel)
    gaps = doc.gaps()
    return Fill(_with_contacts(_motion(model, rot, root, seed=seed), contacts, pinned),
                {(g.start, g.stop): int(seed) for g in gaps}, frozenset(g.signature() for g in gaps))


def fill_stale(doc: Timeline, model, seed: int = 0, *, refine_seconds: float = 0.0, progress: Progress = None,
               cancel: Cancel = None) -> Fill:
    """Like ``fill``, but gaps whose fill is still current keep their frames bit-identical.

    After an edit only the gaps next to the edited pins change. Without a usable previous fill this
    is ``fill``.
    """
    prev = doc.fill
    new = fill(doc, model, seed, refine_seconds=refine_seconds, progress=progress, cancel=cancel)
    if prev is None or prev.motion.n_frames != doc.length:
        return new
    rot, root = new.motion.rotations, new.motion.root
    seeds = dict(new.seeds)
    kept = np.zeros(doc.length, dtype=bool)
    for g in doc.gaps():
        if g.signature() in prev.signatures:
            rot[g.start:g.stop] = prev.motion.rotations[g.start:g.stop]
            root[g.start:g.stop] = prev.motion.root[g.start:g.stop]
            seeds[(g.start, g.stop)] = prev.seeds.get((g.start, g.stop), seed)
            kept[g.start:g.stop] = True
    from .footclean import contacts_from_meta

    _merge_contacts(new.motion, contacts_from_meta(prev.motion), kept)  # kept gaps keep their contacts
    return Fill(new.motion, seeds, new.signatures)


def _merge_contacts(motion: Motion, other: dict | None, frames: np.ndarray) -> None:
    """In ``frames`` (a mask over the motion's frames), the motion's foot contacts become ``other``'s
    (flags over the same frames); in place, and only where both have contacts."""
    from .footclean import contacts_from_meta, contacts_to_meta

    own = contacts_from_meta(motion)
    if own is None or other is None or not frames.any():
        return
    motion.meta.update(contacts_to_meta({k: np.where(frames, other[k], v) if k in other else v for k, v in own.items()}))


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def new_timeline(model, seconds: float, seed: int = 0, *, name: str = "model") -> Timeline:
    """A filled document of ``seconds`` seconds with no pins."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CSGNError(f"seconds must be positive, got {seconds}")
    doc = Timeline(max(1, int(round(seconds * model.fps))), model.fps, name, model.skeleton)
    doc.set_fill(fill(doc, model, seed))
    return doc


def predict(model, prefix: Motion, seconds: float, seed: int = 0, *, refine_seconds: float = 0.0,
            progress: Progress = None, cancel: Cancel = None) -> Motion:
    """The prefix clip followed by ``seconds`` seconds of sampled continuation.

    The prefix is retargeted and resampled to the model first; the result starts with it (exact)
    and has ``prefix frames + round(seconds * fps)`` frames; meta["prefix_frames"] says where the
    prediction begins. ``progress`` and ``cancel`` work as in ``fill``.
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CSGNError(f"seconds must be positive, got {seconds}")
    pre = conform(prefix, model)
    L = pre.n_frames + max(1, int(round(seconds * model.fps)))
    with torch.no_grad() if refine_seconds <= 0 else _nullctx():
        rot, root, pinned, contacts = complete_problem(model, Problem(L, [(0, pre)]), seed, refine_seconds, progress, cancel)
    return _with_contacts(_motion(model, rot, root, seed=seed, prefix_frames=pre.n_frames), contacts, pinned)


def resample_refusal(doc: Timeline, gap) -> str | None:
    """Why ``gap`` has no variants (a short gap between two pins is all spline transition), or None."""
    if gap_spline_weight(gap.start, gap.stop, doc.length, doc.fps) < 1:
        return None
    return (f"this gap is {gap.stop - gap.start} frames: gaps up to {SPLINE_SECONDS[0]:g} s are spline "
            "transitions and have no variants; move a pin to lengthen it")


def resample_gap(doc: Timeline, model, gap_start: int, seed: int, *, progress: Progress = None,
                 cancel: Cancel = None) -> Fill:
    """A new variant of the gap containing frame ``gap_start``; every other frame of the previous
    fill is copied unchanged (bit-identical)."""
    prev = doc.fill
    if prev is None:
        raise CSGNError("fill the timeline before resampling a gap")
    if prev.motion.n_frames != doc.length:
        raise CSGNError("the fill is out of date (timeline length changed); fill it again first")
    gap = doc.gap_at(int(gap_start))
    if gap is None:
        raise CSGNError(f"frame {gap_start} is not in a gap")
    refusal = resample_refusal(doc, gap)
    if refusal:
        raise CSGNError(refusal)
    S = model.step_frames
    ctx = (2 * model.G.latent_radius() + 2) * S  # frames of the previous fill that anchor the window
    w0, w1 = max(0, gap.start - ctx), min(doc.length, gap.stop + ctx)
    # Align the window so the pins' latent steps fall on the same grid as a full fill.
    w0 -= w0 % S
    pm = prev.motion
    pins = []
    if gap.start > w0:
        pins.append((0, pm.slice(w0, gap.start)))
    if w1 > gap.stop:
        pins.append((gap.stop - w0, pm.slice(gap.stop, w1)))
    with torch.no_grad():
        rot, root, _, contacts = complete_problem(model, Problem(w1 - w0, pins), seed, progress=progress, cancel=cancel)
    new_rot, new_root = pm.rotations.copy(), pm.root.copy()
    new_rot[gap.start:gap.stop] = rot[gap.start - w0:gap.stop - w0]
    new_root[gap.start:gap.stop] = root[gap.start - w0:gap.stop - w0]
    motion = Motion(pm.skeleton, pm.fps, rotations=new_rot, root=new_root, meta=dict(pm.meta))
    if contacts is not None:  # the gap's frames take the new variant's contacts
        gap_frames = np.zeros(doc.length, dtype=bool)
        gap_frames[gap.start:gap.stop] = True
        placed = {k: np.pad(v, (w0, doc.length - w1)) for k, v in contacts.items()}  # on the timeline's frames
        _merge_contacts(motion, placed, gap_frames)
    seeds = dict(prev.seeds)
    seeds[(gap.start, gap.stop)] = int(seed)
    return Fill(motion, seeds, frozenset(prev.signatures | {gap.signature()}))


# --- plans and the command line ------------------------------------------------------------------------
PLAN_FORMAT = "csgn-plan"
MAX_PLAN_CHARS = 1 << 20


@dataclass
class PinSpec:
    """One pin of a plan: source file frames START..END (inclusive, the file's own frames) at timeline frame AT."""

    file: str
    start: int
    end: int
    at: int
    label: str = ""


def parse_pin(text: str) -> PinSpec:
    """``FILE:START-END@AT`` (FILE may contain colons; split at the last one)."""
    bad = CSGNError(f"--pin {text!r}: expected FILE:START-END@AT, e.g. walk.bvh:0-59@120")
    if "@" not in text:
        raise bad
    head, at = text.rsplit("@", 1)
    if ":" not in head:
        raise bad
    path, rng = head.rsplit(":", 1)
    parts = rng.split("-")
    try:
        if len(parts) != 2 or not path:
            raise ValueError
        start, end, at_i = int(parts[0]), int(parts[1]), int(at)
    except ValueError:
        raise bad from None
    return PinSpec(path, start, end, at_i, label=f"{Path(path).name}:{start}-{end}")


def read_plan(path: str | Path) -> tuple[dict, list[PinSpec]]:
    """A plan JSON (schema in docs/sampling.md) -> (settings, pins); relative files resolve against it."""
    from .io.safejson import is_number, loads_bounded

    p = Path(path)
    try:
        d = loads_bounded(p.read_text(encoding="utf-8"), 32, MAX_PLAN_CHARS)
    except (OSError, ValueError) as e:
        raise CSGNError(f"{p}: unreadable plan ({e})".replace("\n", " ")) from None
    if not isinstance(d, dict) or not isinstance(d.get("pins", []), list):
        raise CSGNError(f"{p}: a plan is a JSON object with a \"pins\" list")
    if d.get("format", PLAN_FORMAT) != PLAN_FORMAT:
        raise CSGNError(f"{p}: not a CSGN plan (format {d.get('format')!r})")
    unknown = set(d) - {"format", "version", "seconds", "frames", "seed", "refine_seconds", "pins", "model"}
    if unknown:
        raise CSGNError(f"{p}: unknown plan keys {sorted(unknown)}")
    for key, lo, hi in (("seconds", 0.0, 3600.0), ("frames", 1, 360000), ("seed", -(2**63), 2**63 - 1),
                        ("refine_seconds", 0.0, 600.0)):
        v = d.get(key)
        if v is not None and not is_number(v, lo, hi, whole=key in ("frames", "seed")):
            raise CSGNError(f"{p}: {key} must be a number in [{lo:g}, {hi:g}], got {v!r}")
    if d.get("model") is not None and not isinstance(d["model"], str):
        raise CSGNError(f"{p}: model must be a name or a folder, got {d['model']!r}")
    pins = []
    for i, q in enumerate(d.get("pins", [])):
        try:
            f = Path(q["file"])
            f = f if f.is_absolute() else p.parent / f
            spec = PinSpec(str(f), int(q["start"]), int(q["end"]), int(q["at"]),
                           str(q.get("label") or f"{Path(q['file']).name}:{q['start']}-{q['end']}"))
            if not isinstance(q["file"], str) or min(spec.start, spec.end, spec.at) < 0 or spec.at > 10**8:
                raise ValueError("file must be a path and start, end, at non-negative")
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise CSGNError(f"{p}: pin {i}: needs file, start, end and at (integers) ({e})") from None
        pins.append(spec)
    return d, pins


def build_timeline(model, pins: Sequence[PinSpec], *, seconds: float | None = None, frames: int | None = None,
                   name: str = "model") -> Timeline:
    """A document at the model's fps with the plan's pins (sources retargeted and resampled).

    Without a length, the timeline ends with the last pin. Bad pins raise one-line CSGNErrors.
    """
    from .io import load_motion

    if frames is None and seconds is not None:
        if not (seconds > 0 and math.isfinite(seconds)):
            raise CSGNError(f"seconds must be positive, got {seconds}")
        frames = max(1, int(round(seconds * model.fps)))
    loaded: dict[str, tuple[Motion, float, int]] = {}
    placed = []
    for spec in pins:
        if spec.file not in loaded:
            src = load_motion(spec.file)
            loaded[spec.file] = (conform(src, model), src.fps, src.n_frames)
        mo, src_fps, n_src = loaded[spec.file]
        if not (0 <= spec.start <= spec.end < n_src):
            raise CSGNError(f"pin {spec.label}: frames {spec.start}-{spec.end} are outside {Path(spec.file).name} "
                            f"(frames 0-{n_src - 1})")
        if spec.at < 0:
            raise CSGNError(f"pin {spec.label}: timeline frame {spec.at} is negative")
        k = model.fps / src_fps
        a = int(round(spec.start * k))
        b = min(mo.n_frames, max(a + 1, int(round(spec.end * k)) + 1))
        placed.append((spec, mo, a, b))
    if frames is None:
        frames = max([spec.at + (b - a) for spec, _, a, b in placed], default=0)
        if frames == 0:
            raise CSGNError("give --seconds (or \"seconds\" in the plan): there are no pins to size the timeline")
    doc = Timeline(frames, model.fps, name, model.skeleton)
    pins_ = [Pin(mo, a, b, spec.at, label=spec.label) for spec, mo, a, b in placed]
    doc.pins = doc.check_pins(pins_)  # one check of the whole set: overlaps and range as one-line errors
    return doc


def parse_namespace(args, parser_fn):
    """``args`` as parsed options: a list of strings is parsed with a parser that ``parser_fn`` fills
    (how the ``*_main`` entry points take a list in tests); a namespace passes through."""
    if isinstance(args, (list, tuple)):
        import argparse

        p = argparse.ArgumentParser()
        parser_fn(p)
        return p.parse_args(list(args))
    return args


def add_predict_args(p) -> None:
    p.add_argument("--model", default="dance", help="bundled model name (dance, actions) or a model/run folder")
    p.add_argument("--prefix", required=True, help="motion file whose continuation is sampled")
    p.add_argument("--seconds", type=float, required=True, help="seconds to add after the prefix")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--refine", type=float, default=0.0, metavar="SECONDS", help="latent refinement budget")
    p.add_argument("-o", "--output", required=True, help="output file (.bvh, .npz)")


def add_complete_args(p) -> None:
    p.add_argument("--model", help="bundled model name (dance, actions) or a model/run folder (default: the "
                                   "plan's \"model\", else dance)")
    p.add_argument("--plan", help="plan JSON (see docs/sampling.md)")
    p.add_argument("--seconds", type=float, help="timeline length (default: the plan's, else up to the last pin)")
    p.add_argument("--pin", action="append", default=[], metavar="FILE:START-END@AT",
                   help="pin source frames START-END (inclusive, the file's frames) at timeline frame AT; repeatable")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--refine", type=float, default=None, metavar="SECONDS", help="latent refinement budget")
    p.add_argument("-o", "--output", required=True, help="output file (.bvh, .npz) or project (.csgnproj)")


def predict_main(args) -> int:
    """``csgn predict --model M --prefix FILE --seconds S --seed K -o OUT``."""
    from .io import load_motion, save_motion
    from .nn.model import load_model

    a = parse_namespace(args, add_predict_args)
    if not (0 < a.seconds <= 3600):
        raise CSGNError(f"--seconds must be between 0 and 3600, got {a.seconds:g}")
    model = load_model(model_location(a.model))
    t0 = time.perf_counter()
    out = predict(model, load_motion(a.prefix), a.seconds, a.seed, refine_seconds=a.refine)
    save_motion(out, a.output)
    print(f"wrote {a.output}: {out.meta['prefix_frames']} prefix + {out.n_frames - out.meta['prefix_frames']} "
          f"predicted frames at {out.fps:g} fps ({time.perf_counter() - t0:.2f} s)")
    return 0


def complete_main(args) -> int:
    """``csgn complete --model M (--plan PLAN.json | --seconds S --pin FILE:START-END@AT ...) -o OUT``."""
    from .io import save_motion
    from .nn.model import load_model

    a = parse_namespace(args, add_complete_args)
    settings, pins = read_plan(a.plan) if a.plan else ({}, [])
    pins = pins + [parse_pin(t) for t in a.pin]
    model = load_model(model_location(a.model if a.model else settings.get("model", "dance")))
    seconds = a.seconds if a.seconds is not None else settings.get("seconds")
    frames = None if a.seconds is not None else settings.get("frames")
    try:
        seconds = None if seconds is None else float(seconds)
        frames = None if frames is None else int(frames)
        seed = int(a.seed if a.seed is not None else settings.get("seed", 0))
        refine = float(a.refine if a.refine is not None else settings.get("refine_seconds", 0.0))
    except (TypeError, ValueError) as e:
        raise CSGNError(f"bad plan setting ({e})") from None
    doc = build_timeline(model, pins, seconds=seconds, frames=frames, name=str(a.model or settings.get("model", "dance")))
    t0 = time.perf_counter()
    doc.set_fill(fill(doc, model, seed, refine_seconds=refine))
    dt = time.perf_counter() - t0
    if Path(a.output).suffix.lower() == ".csgnproj":
        from .project import save_project
        save_project(doc, a.output)
    else:
        save_motion(doc.fill.motion, a.output)
    print(f"wrote {a.output}: {doc.length} frames at {doc.fps:g} fps, {len(doc.pins)} pins, "
          f"{len(doc.gaps())} gaps filled in {dt:.2f} s")
    return 0
