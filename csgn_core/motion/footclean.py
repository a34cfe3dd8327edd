"""Foot-slide clean-up by two-bone IK, on the contacts of ``contacts.py``.

Clean-up (``clean_feet``). Each contact pins its point at its mean position. Between contacts the
point follows its own path plus an offset that moves from what the last contact left to what the
next one needs, in proportion to how far the point is above AIR_HEIGHT (so the correction travels
with the foot in the air, not on the floor); before the first and after the last contact the
offset ramps from and to zero. Within ``blend`` frames of a contact the point eases towards the
pin. The ankle follows the heel's and the toe's corrections (the one in contact dominating); with
both in contact the foot turns about the ankle to aim at the toe's pin. The leg is then solved
with analytic two-bone IK (``two_bone_ik``): the hip stays, thigh and shin keep their lengths, the
knee stays in the plane of hip, knee and target (the pelvis's side axis takes over when the leg is
straight). Only the hip, knee and ankle joints' local rotations change; the root and upper body
are untouched, so a target out of the leg's reach stays out of reach (reported as the largest
remaining pin error). Last, each subset of the two cleaned legs is tried and the one with the
lowest skating kept (none, if cleaning would raise it), so skating never rises.

Following a capture (``reference=``, what ``clean_for_export`` does for position motions). A solve to
rotations fixes bone lengths that a capture stretches, so solved feet jitter and hover where the
observed ones did not. Given the observed positions, contacts, floors and targets come from them:
the ankle follows the observed ankle between contacts and the pins inside them, the foot turns so
heel and toe best meet their goals (the point nearer the floor counting more), and the hips sink
where a leg cannot reach (``_reach_drop``). Candidates are then measured on their own floors.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, forward_kinematics, global_rotations
from csgn_core.motion.contacts import (
    HEIGHT_OFF,
    HEIGHT_ON,
    MIN_FRAMES,
    SKATE_HEIGHT,
    SPEED_OFF,
    SPEED_ON,
    check_feet,
    contact_points,
    contacts_from_meta,
    detect_contacts,
    feet_for,
    foot_skating,
    point_floors,
    skating_report,
)
from csgn_core.motion.ops import runs, smoothstep

BLEND = 4  # frames


AIR_HEIGHT = SKATE_HEIGHT  # cm: corrections between contacts move the foot only above this height


def _targets(
    p: np.ndarray, flags: np.ndarray, blend: int, height: np.ndarray | None = None, hold_ends: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where one contact point should be: targets (F, 3), contact weights (F,), pins (F, 3).

    Inside each contact the target is the contact's mean position (its pin). Between contacts
    the target is the point's own path plus an offset that moves from the offset the last
    contact left to the one the next contact needs, over the gap, in proportion to how high the
    point is above the skating height (``height``, (F,) cm above its floor), so that the
    correction travels with the foot in the air instead of sliding it on the floor (uniformly in
    time where it never lifts); before the first and after the last contact the offset ramps
    from and to zero over the clip's start and end. The weight is 1 inside contacts and falls to 0 over ``blend`` frames beside
    them: there the target eases towards the pin (a foot slows as it lands and lifts), and the
    weight ranks heel against toe and turns the foot.

    ``hold_ends``: a contact that runs into the first or last frame is pinned where the point is
    there (one that spans both slides evenly from the one to the other), so those frames keep
    their place: a span cleaned between frames it must join.
    """
    F = len(p)
    spans = runs(flags)
    offset = np.zeros((F, 3))
    w = np.zeros(F)
    pins = p.copy()
    if not spans:
        return p.copy(), w, pins
    ends = []  # (frame, offset) anchors between which the offset is interpolated
    for s, e in spans:
        pin = p[s:e].mean(0)
        if hold_ends and s == 0 and e == F:
            pin = p[0] + (p[-1] - p[0]) * np.linspace(0.0, 1.0, F)[:, None]
        elif hold_ends and (s == 0 or e == F):
            pin = p[0] if s == 0 else p[-1]
        pins[s:e] = pin
        offset[s:e] = pin - p[s:e]
        w[s:e] = 1.0
        ends.append((s, e))
    # Gaps: from the clip start (offset 0) to the first contact, between contacts, to the end.
    anchors = [(-1, np.zeros(3))]
    for s, e in ends:
        anchors += [(s, offset[s]), (e - 1, offset[e - 1])]
    anchors.append((F, np.zeros(3)))
    air = np.ones(F) if height is None else np.clip(height - AIR_HEIGHT, 0.0, None) + 1e-3
    for (t0, o0), (t1, o1) in zip(anchors[0::2], anchors[1::2]):
        if t1 - t0 > 1:
            t = np.arange(t0 + 1, t1)
            g = np.cumsum(air[t])
            u = (g / g[-1] * (t1 - t0 - 1) / (t1 - t0))[:, None]  # 0 -> (n-1)/n before the anchor at t1
            u = smoothstep(u) if height is None else u
            offset[t] = o0 + (o1 - o0) * u
    near = pins.copy()  # the pin of the nearest contact, for the frames beside it
    for s, e in spans:
        for t in list(range(max(0, s - blend), s)) + list(range(e, min(F, e + blend))):
            u = (t - (s - blend - 1)) / (blend + 1) if t < s else ((e + blend) - t) / (blend + 1)
            ramp = float(smoothstep(np.array(u)))
            if ramp > w[t]:
                w[t], near[t] = ramp, pins[s] if t < s else pins[e - 1]
    target = p + offset
    # Beside a contact the point eases into and out of its pin (a foot slows as it lands and lifts).
    target += w[:, None] * (near - target) * (~flags)[:, None]
    if hold_ends and blend > 0:  # nor may a contact near an end pull the end's frames towards its pin
        held = np.zeros(F, bool)
        for s, e in spans:
            held[s:e] |= s == 0 or e == F
        t = np.arange(F)
        fade = np.where(held, 1.0, smoothstep(np.clip(np.minimum(t, F - 1 - t) / blend, 0.0, 1.0)))
        target = p + fade[:, None] * (target - p)
    return target, w, pins


# --- IK ------------------------------------------------------------------------------------------
def two_bone_ik(
    hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray, side_axis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """New knee and ankle positions (F, 3) that put the ankle on the target, hip fixed.

    Bone lengths come from the current pose. The knee stays in the plane of hip, knee and target,
    on the side it bends to now; where the leg is (nearly) straight the plane is the one normal to
    ``side_axis`` (the pelvis's left axis, (F, 3)), bending the knee forward. Targets beyond reach
    are approached along the hip-target line.
    """
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    d_vec = target - hip
    d_len = np.linalg.norm(d_vec, axis=-1)
    u = d_vec / np.maximum(d_len, 1e-9)[:, None]
    d = np.clip(d_len, np.abs(l1 - l2), l1 + l2)
    # Bend normal from the current pose; the side axis takes over as the leg straightens.
    n = np.cross(knee - hip, ankle - knee)
    axis = side_axis / np.maximum(np.linalg.norm(side_axis, axis=-1, keepdims=True), 1e-12)
    n = n + 0.02 * (l1 * l2)[:, None] * axis
    n = n - np.sum(n * u, -1, keepdims=True) * u
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    side = np.cross(u, n)  # towards the knee
    cos_a = np.clip((l1**2 + d**2 - l2**2) / (2 * l1 * np.maximum(d, 1e-9)), -1.0, 1.0)
    sin_a = np.sqrt(1 - cos_a**2)
    new_knee = hip + l1[:, None] * (cos_a[:, None] * u + sin_a[:, None] * side)
    new_ankle = hip + d[:, None] * u
    return new_knee, new_ankle


def _nearness(h: np.ndarray) -> np.ndarray:
    """1 + 20 on the floor, falling towards 1 over a few SKATE_HEIGHTs above it."""
    return 1 + 20 * np.exp(-np.clip(h, 0, None) / SKATE_HEIGHT)


def _foot_goals(R, sk, j, contacts, floors, pts, blend, *, follow: bool, hold_ends: bool = False):
    """One leg's goals: targets "ankle", "heel", "toe" (F, 3); "rank_heel", "rank_toe" (F,) (a point
    in contact counts more); "active" frames (F,) and foot-"aim" weight (F,).

    The ankle moves with the heel's and the toe's corrections, the point in contact first. Without
    ``follow`` only frames with a correction are active and the foot turns only as far as both points
    are pinned; following reference feet, every frame is active and the foot always turns towards its
    heel and toe goals.
    """
    heel, toe, ankle = j["heel"], j["toe"], j["ankle"]
    h_heel = R[:, heel, 1] - floors[pts.index(heel)]
    h_toe = R[:, toe, 1] - floors[pts.index(toe)]
    heel_target, w_h, _ = _targets(R[:, heel], contacts[sk.joints[heel]], blend, h_heel, hold_ends)
    toe_target, w_t, _ = _targets(R[:, toe], contacts[sk.joints[toe]], blend, h_toe, hold_ends)
    a_h = heel_target - R[:, heel]
    a_t = toe_target - R[:, toe]
    rank_h, rank_t = 1 + 20 * w_h, 1 + 20 * w_t
    a_target = R[:, ankle] + (rank_h[:, None] * a_h + rank_t[:, None] * a_t) / (rank_h + rank_t)[:, None]
    F = len(R)
    # The point nearer the floor counts more when the foot's turn is fitted: that is the one seen to slide.
    rank_h, rank_t = rank_h * _nearness(h_heel), rank_t * _nearness(h_toe)
    goals = {"ankle": a_target, "heel": heel_target, "toe": toe_target, "rank_heel": rank_h, "rank_toe": rank_t}
    if follow:
        return dict(goals, active=np.ones(F, dtype=bool), aim=np.ones(F))
    active = (np.abs(a_h).max(1) > 0) | (np.abs(a_t).max(1) > 0)
    return dict(goals, active=active, aim=w_h * w_t)


def _reach_drop(P: np.ndarray, idx: dict, ankle_targets: dict) -> np.ndarray:
    """(F,) cm to lower the root by so that the legs with ankle targets reach them (0 where they do).

    Per leg, the smallest drop d >= 0 with |target - (hip - d*y)| <= thigh + shin; smoothed by a
    running maximum and a short Gaussian so the hips sink and rise gently, never short of the need.
    """
    from scipy.ndimage import gaussian_filter1d, maximum_filter1d

    need = np.zeros(len(P))
    for side in ankle_targets:
        j = idx[side]
        hip, knee, ankle = P[:, j["hip"]], P[:, j["knee"]], P[:, j["ankle"]]
        reach = (np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1)) * 0.999
        d = ankle_targets[side] - hip
        dy = d[:, 1]
        disc = dy**2 - (np.sum(d * d, -1) - reach**2)
        drop = np.where(disc >= 0, -dy - np.sqrt(np.clip(disc, 0, None)), -dy)
        need = np.maximum(need, np.clip(drop, 0.0, None))
    if not need.any():
        return need
    return gaussian_filter1d(maximum_filter1d(need, 5), 1.5, mode="nearest")


def _solve_legs(motion: Motion, idx: dict, goals: dict, *, follow: bool) -> tuple[dict, np.ndarray]:
    """({side: {joint: new local rotations (F, 4)}}, root (F, 3)) putting the legs named in ``goals``
    on their goals; a leg with no active frame is left out.

    Following reference feet, the hips first sink where one of these legs cannot reach its ankle goal
    (a solve fixes bone lengths that a capture stretches), as an animator would, rather than leave
    that foot hovering. Only the hip, knee and ankle joints' local rotations change.
    """
    sk, F = motion.skeleton, motion.n_frames
    local, root = motion.rotations, motion.root
    P = motion.positions
    if follow:
        root = root - _reach_drop(P, idx, {s: g["ankle"] for s, g in goals.items()})[:, None] * np.array([0.0, 1.0, 0.0])
        P = forward_kinematics(sk, local, root)
    G = global_rotations(sk, local)
    legs = {}
    for side, g in goals.items():
        j = idx[side]
        other = idx["right" if side == "left" else "left"]["hip"]
        hip, knee, ankle, heel = (j[k] for k in ("hip", "knee", "ankle", "heel"))
        a_target, active = g["ankle"], g["active"]
        if not active.any():
            continue
        # Joints between hip and knee or knee and ankle would break this chain: only direct links.
        if sk.parents[knee] != hip or sk.parents[ankle] != knee:
            raise CSGNError(f"feet: {side} hip, knee and ankle must be parent and child in turn")
        # Foot turn about the ankle that aims its toe (and heel, when following reference feet and
        # the heel is a joint of its own) at their goals, as far as the "aim" weight says.
        ends = ["toe"] + (["heel"] if follow and heel != ankle else [])
        ends = [e for e in ends if sk.parents[j[e]] == ankle]  # points hanging off another joint keep their turn
        aim = Q.identity((F,))
        if ends:
            aim = Q.fit_rotations(np.stack([P[:, j[e]] - P[:, ankle] for e in ends], 1),
                                  np.stack([g[e] - a_target for e in ends], 1),
                                  np.stack([g["rank_" + e] for e in ends], 1))
            aim = Q.slerp(Q.identity((F,)), aim, g["aim"][:, None])
        side_axis = P[:, hip] - P[:, other] if side == "left" else P[:, other] - P[:, hip]
        new_knee, new_ankle = two_bone_ik(P[:, hip], P[:, knee], P[:, ankle], a_target, side_axis)
        d1 = Q.between(P[:, knee] - P[:, hip], new_knee - P[:, hip])
        d2 = Q.between(Q.rotate(d1, P[:, ankle] - P[:, knee]), new_ankle - new_knee)
        g_hip = Q.multiply(d1, G[:, hip])
        g_knee = Q.multiply(d2, Q.multiply(d1, G[:, knee]))
        g_ankle = Q.multiply(aim, G[:, ankle])
        parent = sk.parents[hip]
        solved = {
            hip: Q.multiply(Q.conjugate(G[:, parent]), g_hip) if parent >= 0 else g_hip,
            knee: Q.multiply(Q.conjugate(g_hip), g_knee),
            ankle: Q.multiply(Q.conjugate(g_knee), g_ankle),
        }
        legs[side] = {jj: Q.make_continuous(np.where(active[:, None], q, local[:, jj])) for jj, q in solved.items()}
    return legs, root


STRICT_PIN_CM = 2.0  # clean_feet(strict=True): the farthest a pinned point may stay from its pin
STRICT_STEP = 1.25  # ... and how much faster than the input's fastest frame a foot point may move
STRICT_ROUNDS = 3  # ... and how many solves may let go of the contacts a leg cannot reach


def _with_legs(rotations: np.ndarray, legs: dict, sides) -> np.ndarray:
    """Local rotations with the solved legs of ``sides`` put in."""
    local = rotations.copy()
    for side in sides:
        for jj, q in legs[side].items():
            local[:, jj] = q
    return local


def _pin_miss(R: np.ndarray, Pt: np.ndarray, joint: int, flags: np.ndarray, hold_ends: bool) -> np.ndarray:
    """(F,) how far the point ``joint`` of positions ``Pt`` lies from its pin (``_targets`` of the
    reference ``R``), 0 outside its contacts ``flags``."""
    _, _, pin = _targets(R[:, joint], flags, 0, hold_ends=hold_ends)
    return np.where(flags, np.linalg.norm(Pt[:, joint] - pin, axis=-1), 0.0)


def _drop_unreached(Pt: np.ndarray, sk, idx: dict, contacts: dict, R: np.ndarray, hold_ends: bool) -> bool:
    """Unflag (in place) each contact whose pinned point stays over ``STRICT_PIN_CM`` from its pin in
    the solved positions ``Pt``; whether any was."""
    dropped = False
    for j in idx.values():
        for k in ("heel", "toe"):
            name = sk.joints[j[k]]
            flags = contacts[name]
            if not flags.any():
                continue
            err = _pin_miss(R, Pt, j[k], flags, hold_ends)
            for a, b in runs(flags):
                if err[a:b].max() > STRICT_PIN_CM:
                    flags[a:b] = False
                    dropped = True
    return dropped


def _holds_up(P: np.ndarray, Pt: np.ndarray, sk, j: dict, contacts: dict, R: np.ndarray, hold_ends: bool) -> bool:
    """Whether one cleaned leg (positions ``Pt`` against the input's ``P``) reaches its pins within
    ``STRICT_PIN_CM`` and moves its foot points no faster than ``STRICT_STEP`` times the input's fastest."""
    for k in ("heel", "toe"):
        flags = contacts[sk.joints[j[k]]]
        if flags.any() and _pin_miss(R, Pt, j[k], flags, hold_ends).max() > STRICT_PIN_CM:
            return False
    for k in ("ankle", "heel", "toe"):
        if len(P) > 1:
            fast = np.linalg.norm(np.diff(P[:, j[k]], axis=0), axis=-1).max()
            if np.linalg.norm(np.diff(Pt[:, j[k]], axis=0), axis=-1).max() > STRICT_STEP * fast + 1e-6:
                return False
    return True


def clean_feet(
    motion: Motion,
    *,
    feet: dict | None = None,
    blend: int = BLEND,
    height_on: float = HEIGHT_ON,
    height_off: float = HEIGHT_OFF,
    speed_on: float = SPEED_ON,
    speed_off: float = SPEED_OFF,
    min_frames: int = MIN_FRAMES,
    reference: np.ndarray | None = None,
    contacts: dict[str, np.ndarray] | None = None,
    hold_ends: bool = False,
    strict: bool = False,
) -> tuple[Motion, dict]:
    """Remove foot sliding from a rotation motion; returns (cleaned motion, report).

    ``contacts``: flags per heel/toe point to pin instead of detecting them (a generator's own;
    points it leaves out are detected). ``hold_ends``: the first and last frames' feet stay where they
    are (a span to be spliced between other frames; ``_targets``). ``strict``: a contact whose pin its
    leg misses by over ``STRICT_PIN_CM`` after the solve (a pin out of reach straightens the knee and
    leaves the foot hanging) is let go and the legs solved again (``STRICT_ROUNDS``), and a leg is kept only if it
    then reaches every pin it holds and moves no foot point faster in any frame than ``STRICT_STEP``
    times the input's fastest (a pin let go snaps the foot).

    See the module docstring for contacts, pins and the IK. The report holds skating_before and
    skating_after (cm/s, foot_skating with the input's floors), contact_fraction per point,
    contacts (number of contacts per point) and max_pin_error_cm (largest distance between a pinned
    point and its pin inside a contact after the solve).
    """
    if not motion.has_rotations:
        raise CSGNError("clean_feet needs a rotation motion; solve positions first (csgn_core.motion.solve.positions_to_rotations)")
    if blend < 0:
        raise ValueError(f"blend must be >= 0 frames, got {blend}")
    sk = motion.skeleton
    table = feet or feet_for(sk)
    idx = check_feet(table, sk)
    P = motion.positions
    if not np.isfinite(P).all():
        raise CSGNError("the motion holds NaN or infinite values")
    R = P if reference is None else np.asarray(reference, dtype=np.float64)
    if R.shape != P.shape or not np.isfinite(R).all():
        raise CSGNError(f"reference positions must be finite and shaped like the motion's {P.shape}, got {R.shape}")
    detected = detect_contacts(R, sk, motion.fps, feet=table, height_on=height_on, height_off=height_off,
                               speed_on=speed_on, speed_off=speed_off, min_frames=min_frames)
    given = {k: np.asarray(v, bool) for k, v in (contacts or {}).items() if k in detected and len(v) == len(P)}
    contacts = {k: np.array(given.get(k, v), dtype=bool) for k, v in detected.items()}  # strict unflags some
    pts = contact_points(idx)
    floors = point_floors(R, pts)
    follow = reference is not None
    goals = {side: _foot_goals(R, sk, j, contacts, floors, pts, blend, follow=follow, hold_ends=hold_ends)
             for side, j in idx.items()}
    # Keep the cleaned legs only where they lower the measure: try each subset of the feet.
    # Following reference feet moves the floor itself (a solve leaves feet hovering where it cannot
    # reach), so each candidate is then measured on its own floors, as a user measuring the file would.
    mfloors = None if follow else floors
    before = skating_report(P, sk, motion.fps, feet=table, floors=mfloors)
    best = (before["skating"], (), P, motion.rotations, motion.root)
    # Without a reference each leg's solution does not depend on the other's: solve both once. With
    # one, the hips' drop serves the legs being cleaned, so each subset is solved on its own.
    both = None if follow else _solve_legs(motion, idx, goals, follow=False)
    fit = set(idx)
    if strict and both is not None:
        # A contact whose pin the leg cannot reach is let go (the foot keeps its own path there), and
        # the legs are solved again without it; a leg that still misses or snaps is left as it was.
        for solves in range(STRICT_ROUNDS + 1):
            Pb = forward_kinematics(sk, _with_legs(motion.rotations, both[0], tuple(both[0])), both[1])
            if solves == STRICT_ROUNDS or not _drop_unreached(Pb, sk, idx, contacts, R, hold_ends):
                break
            goals = {side: _foot_goals(R, sk, j, contacts, floors, pts, blend, follow=False, hold_ends=hold_ends)
                     for side, j in idx.items()}
            both = _solve_legs(motion, idx, goals, follow=False)
        fit = {side for side in both[0] if _holds_up(P, Pb, sk, idx[side], contacts, R, hold_ends)}
    for sides in (("left", "right"), ("left",), ("right",)):
        legs, root = _solve_legs(motion, idx, {s: goals[s] for s in sides}, follow=True) if follow else both
        if not all(side in legs and side in fit for side in sides):
            continue
        local = _with_legs(motion.rotations, legs, sides)
        Pt = forward_kinematics(sk, local, root)
        score = skating_report(Pt, sk, motion.fps, feet=table, floors=mfloors)["skating"]
        if score < best[0] - 1e-12 or (score <= best[0] + 1e-12 and len(sides) > len(best[1])):
            best = (score, sides, Pt, local, root)
    _, kept, Pn, local, root = best
    out = replace(motion, rotations=local, root=root.copy(), meta=dict(motion.meta, feet_cleaned=list(kept)))
    pin_err = 0.0
    for side in kept:
        for name in {sk.joints[idx[side]["heel"]], sk.joints[idx[side]["toe"]]}:
            flags = contacts[name]
            if flags.any():
                pin_err = max(pin_err, float(_pin_miss(R, Pn, sk.index(name), flags, hold_ends).max()))
    after = skating_report(Pn, sk, motion.fps, feet=table, floors=mfloors)
    report = {
        "feet_cleaned": list(kept),
        "skating_before": before["skating"],
        "skating_after": after["skating"],
        "per_point_before": before["per_point"],
        "per_point_after": after["per_point"],
        "contact_fraction": {k: float(v.mean()) for k, v in contacts.items()},
        "contacts": {k: len(runs(v)) for k, v in contacts.items()},
        "max_pin_error_cm": pin_err,
    }
    return out, report


def clean_for_export(motion: Motion) -> tuple[Motion, dict]:
    """clean_feet for any motion: a position motion is solved to rotations first and its observed
    positions are the reference the cleaned feet follow (so the clean-up also removes the foot jitter
    the solve adds); skating_before is then that of the observed positions."""
    if motion.has_rotations:
        return clean_feet(motion, contacts=contacts_from_meta(motion), strict=True)  # a generator's contacts, if any
    from csgn_core.motion.solve import positions_to_rotations

    solved = positions_to_rotations(motion)
    observed = motion.positions[:, [motion.skeleton.index(j) for j in solved.skeleton.joints]]
    cleaned, report = clean_feet(solved, reference=observed)
    report["skating_solved"] = report["skating_before"]
    report["skating_before"] = foot_skating(observed, solved.skeleton, motion.fps, feet=None)
    return cleaned, report
