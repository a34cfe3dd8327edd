"""Foot contacts, foot skating, and foot-slide clean-up by two-bone IK.

Feet. Each foot is a leg chain (hip, knee, ankle) and two contact points, heel and toe (the heel
may be the ankle itself where a skeleton has no heel joint). ``FEET`` names them for tang23,
bandai22 and kinect20; other skeletons pass ``feet=``.

Floor. A contact point's height is measured from its own floor: the 2nd percentile of its height
over the clip (ankle and heel joints sit some centimetres above the ground when the foot is flat,
and that offset differs per skeleton and per performer; a clip in which a point never comes down
to its floor has no contacts for it, which the low speed test below mostly prevents).

Contacts (``detect_contacts``). A point is in contact while it is low and slow, with hysteresis:
a contact starts where height < ``height_on`` (4 cm) and speed < ``speed_on`` (20 cm/s) and lasts
while height < ``height_off`` (7 cm) and speed < ``speed_off`` (40 cm/s); contacts shorter than
``min_frames`` (3) are dropped. Speed is the 3D speed from a central difference over +-1 frame.
The thresholds suit the Tang dances, whose points jitter by about 1 cm a frame: a foot at rest
there moves at 5-15 cm/s; the cleaner Bandai captures rest under 5 cm/s.

Skating (``foot_skating``): the mean over (frame, contact point) pairs with height h < H of the
horizontal speed v (cm/s, between consecutive frames, heights averaged) weighted by
(2 - 2^(h / H)), which is 1 on the floor and falls to 0 at H: the height-weighted measure in
common use since Zhang et al. 2018 (mode-adaptive neural networks), with H = 2.5 cm, on skeleton
joints with per-point floors as above. It counts every low frame, contacts or not (a toe skimming
the floor in a walk's swing counts too), so real captures score well above zero.

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
from csgn_core.motion.ops import runs, smoothstep
from csgn_core.motion.skeleton import Skeleton

# Per skeleton, per side: hip, knee, ankle, heel, toe joints; "pelvis" gives the other hip (for the
# side axis used when a leg is straight).
FEET: dict[str, dict[str, dict[str, str]]] = {
    "tang23": {
        "left": {"hip": "l_hip", "knee": "l_knee", "ankle": "l_ankle", "heel": "l_heel", "toe": "l_toe"},
        "right": {"hip": "r_hip", "knee": "r_knee", "ankle": "r_ankle", "heel": "r_heel", "toe": "r_toe"},
    },
    "bandai22": {
        "left": {"hip": "UpperLeg_L", "knee": "LowerLeg_L", "ankle": "Foot_L", "heel": "Foot_L", "toe": "Toes_L"},
        "right": {"hip": "UpperLeg_R", "knee": "LowerLeg_R", "ankle": "Foot_R", "heel": "Foot_R", "toe": "Toes_R"},
    },
    "kinect20": {
        "left": {"hip": "HipLeft", "knee": "KneeLeft", "ankle": "AnkleLeft", "heel": "AnkleLeft", "toe": "FootLeft"},
        "right": {"hip": "HipRight", "knee": "KneeRight", "ankle": "AnkleRight", "heel": "AnkleRight", "toe": "FootRight"},
    },
}
HEIGHT_ON, HEIGHT_OFF = 4.0, 7.0  # cm above the point's floor
SPEED_ON, SPEED_OFF = 20.0, 40.0  # cm/s
MIN_FRAMES = 3
BLEND = 4  # frames
SKATE_HEIGHT = 2.5  # cm, H of the skating measure
AIR_HEIGHT = SKATE_HEIGHT  # cm: corrections between contacts move the foot only above this height
FLOOR_PERCENTILE = 2.0


def feet_for(skeleton: Skeleton) -> dict[str, dict[str, str]]:
    """The FEET entry for a skeleton: by name, else the first whose joints it has."""
    if skeleton.name in FEET:
        return FEET[skeleton.name]
    names = set(skeleton.joints)
    for table in FEET.values():
        if all(j in names for side in table.values() for j in side.values()):
            return table
    raise CSGNError(
        f"no foot table fits skeleton {skeleton.name!r} (known: {', '.join(FEET)}); pass feet={{'left': "
        "{'hip': ..., 'knee': ..., 'ankle': ..., 'heel': ..., 'toe': ...}, 'right': {...}}"
    )


def _check_feet(feet: dict, skeleton: Skeleton) -> dict[str, dict[str, int]]:
    out = {}
    for side in ("left", "right"):
        if side not in feet:
            raise CSGNError(f"feet must give 'left' and 'right', got {sorted(feet)}")
        out[side] = {}
        for part in ("hip", "knee", "ankle", "heel", "toe"):
            name = feet[side].get(part)
            if name not in skeleton.joints:
                raise CSGNError(f"feet: {side} {part} {name!r} is not a joint of skeleton {skeleton.name!r}")
            out[side][part] = skeleton.index(name)
    return out


def _contact_points(idx: dict[str, dict[str, int]]) -> list[int]:
    pts = []
    for side in idx.values():
        for part in ("heel", "toe"):
            if side[part] not in pts:
                pts.append(side[part])
    return pts


def contact_point_indices(skeleton: Skeleton, feet: dict | None = None) -> list[int]:
    """The heel and toe joints of both feet (left then right, shared points once): the points whose
    contacts every function here detects, measures and pins."""
    return _contact_points(_check_feet(feet or feet_for(skeleton), skeleton))


def _floors(P: np.ndarray, joints: list[int]) -> np.ndarray:
    return np.percentile(P[:, joints, 1], FLOOR_PERCENTILE, axis=0)


# --- measuring -----------------------------------------------------------------------------------
def foot_skating(
    positions: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    *,
    feet: dict | None = None,
    height: float = SKATE_HEIGHT,
    floors: np.ndarray | None = None,
) -> float:
    """Foot skating in cm/s: mean of v_xz * (2 - 2^(h/H)) over (frame, heel/toe point) pairs with h < H.

    positions: (F, J, 3) cm. floors: per contact point (heel and toe of left then right, shared
    points once) floor heights; default their 2nd percentile over the clip. 0 when no point is
    ever below H.
    """
    return skating_report(positions, skeleton, fps, feet=feet, height=height, floors=floors)["skating"]


def skating_report(
    positions: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    *,
    feet: dict | None = None,
    height: float = SKATE_HEIGHT,
    floors: np.ndarray | None = None,
) -> dict:
    """foot_skating with its parts: skating (cm/s), low_fraction (share of pairs with h < H),
    per_point ({joint: cm/s}), floors ({joint: cm})."""
    P = np.asarray(positions, dtype=np.float64)
    idx = _check_feet(feet or feet_for(skeleton), skeleton)
    pts = _contact_points(idx)
    fl = _floors(P, pts) if floors is None else np.asarray(floors, dtype=np.float64)
    if len(P) < 2:
        return {"skating": 0.0, "low_fraction": 0.0, "per_point": {}, "floors": {}}
    h = P[:, pts, 1] - fl  # (F, K)
    h = (h[1:] + h[:-1]) / 2
    v = np.linalg.norm(np.diff(P[:, pts][..., [0, 2]], axis=0), axis=-1) * fps  # (F-1, K)
    low = h < height
    w = np.where(low, 2.0 - np.power(2.0, np.clip(h, None, height) / height), 0.0)
    per = {}
    for k, j in enumerate(pts):
        per[skeleton.joints[j]] = float((v[:, k] * w[:, k]).sum() / low[:, k].sum()) if low[:, k].any() else 0.0
    return {
        "skating": float((v * w).sum() / low.sum()) if low.any() else 0.0,
        "low_fraction": float(low.mean()),
        "per_point": per,
        "floors": {skeleton.joints[j]: float(f) for j, f in zip(pts, fl)},
    }


def point_speed(p: np.ndarray, fps: float) -> np.ndarray:
    """(F,) 3D speed, central differences (one-sided at the ends)."""
    if len(p) < 2:
        return np.zeros(len(p))
    return np.linalg.norm(np.gradient(p, axis=0), axis=-1) * fps


def detect_contacts(
    positions: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    *,
    feet: dict | None = None,
    height_on: float = HEIGHT_ON,
    height_off: float = HEIGHT_OFF,
    speed_on: float = SPEED_ON,
    speed_off: float = SPEED_OFF,
    min_frames: int = MIN_FRAMES,
) -> dict[str, np.ndarray]:
    """Contact flags (F,) bool per contact point name (heel and toe joints of both feet)."""
    if not (0 <= height_on <= height_off and 0 <= speed_on <= speed_off):
        raise ValueError("need 0 <= height_on <= height_off and 0 <= speed_on <= speed_off")
    P = np.asarray(positions, dtype=np.float64)
    idx = _check_feet(feet or feet_for(skeleton), skeleton)
    pts = _contact_points(idx)
    fl = _floors(P, pts)
    out = {}
    for j, f in zip(pts, fl):
        h = P[:, j, 1] - f
        v = point_speed(P[:, j], fps)
        enter = (h < height_on) & (v < speed_on)
        stay = (h < height_off) & (v < speed_off)
        flags = np.zeros(len(P), dtype=bool)
        on = False
        for t in range(len(P)):
            on = stay[t] if on else enter[t]
            flags[t] = on
        # Grow each contact backwards over frames that would have let it stay (hysteresis both ways).
        for t in range(len(P) - 2, -1, -1):
            if flags[t + 1] and not flags[t] and stay[t]:
                flags[t] = True
        out[skeleton.joints[j]] = drop_short(flags, min_frames)
    return out


def contacts_to_meta(contacts: dict[str, np.ndarray]) -> dict:
    """Contact flags {point: (F,) bool} as a motion's meta entries: runs [[start, stop), ...] per
    point and the frame count they were made for (a sliced or edited motion's do not apply)."""
    n = {len(v) for v in contacts.values()}
    if len(n) != 1:
        raise ValueError("contact flags of one motion must share a frame count")
    return {"contacts": {k: [[int(a), int(b)] for a, b in runs(np.asarray(v, bool))] for k, v in contacts.items()},
            "contacts_frames": int(n.pop())}


def contacts_from_meta(motion: Motion) -> dict[str, np.ndarray] | None:
    """The contact flags a generator stored with the motion (``contacts_to_meta``), or None when there
    are none or they were made for another frame count or skeleton."""
    c, n = motion.meta.get("contacts"), motion.meta.get("contacts_frames")
    if not isinstance(c, dict) or n != motion.n_frames or not all(k in motion.skeleton.joints for k in c):
        return None
    out = {}
    for k, spans in c.items():
        flags = np.zeros(motion.n_frames, dtype=bool)
        for a, b in spans:
            flags[int(a):int(b)] = True
        out[k] = flags
    return out


def drop_short(flags: np.ndarray, n: int) -> np.ndarray:
    """The flags without runs shorter than n frames."""
    flags = flags.copy()
    for s, e in runs(flags):
        if e - s < n:
            flags[s:e] = False
    return flags


def _targets(
    p: np.ndarray, flags: np.ndarray, blend: int, height: np.ndarray | None = None
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
                w[t], near[t] = ramp, pins[s]
    target = p + offset
    # Beside a contact the point eases into and out of its pin (a foot slows as it lands and lifts).
    target += w[:, None] * (near - target) * (~flags)[:, None]
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


def _foot_goals(R, sk, j, contacts, floors, pts, blend, *, follow: bool):
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
    heel_target, w_h, _ = _targets(R[:, heel], contacts[sk.joints[heel]], blend, h_heel)
    toe_target, w_t, _ = _targets(R[:, toe], contacts[sk.joints[toe]], blend, h_toe)
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
) -> tuple[Motion, dict]:
    """Remove foot sliding from a rotation motion; returns (cleaned motion, report).

    ``contacts``: flags per heel/toe point to pin instead of detecting them (a generator's own;
    points it leaves out are detected).

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
    idx = _check_feet(table, sk)
    P = motion.positions
    if not np.isfinite(P).all():
        raise CSGNError("the motion holds NaN or infinite values")
    R = P if reference is None else np.asarray(reference, dtype=np.float64)
    if R.shape != P.shape or not np.isfinite(R).all():
        raise CSGNError(f"reference positions must be finite and shaped like the motion's {P.shape}, got {R.shape}")
    detected = detect_contacts(R, sk, motion.fps, feet=table, height_on=height_on, height_off=height_off,
                               speed_on=speed_on, speed_off=speed_off, min_frames=min_frames)
    given = {k: np.asarray(v, bool) for k, v in (contacts or {}).items() if k in detected and len(v) == len(P)}
    contacts = {k: given.get(k, v) for k, v in detected.items()}
    pts = _contact_points(idx)
    floors = _floors(R, pts)
    follow = reference is not None
    goals = {side: _foot_goals(R, sk, j, contacts, floors, pts, blend, follow=follow) for side, j in idx.items()}
    # Keep the cleaned legs only where they lower the measure: try each subset of the feet.
    # Following reference feet moves the floor itself (a solve leaves feet hovering where it cannot
    # reach), so each candidate is then measured on its own floors, as a user measuring the file would.
    mfloors = None if follow else floors
    before = skating_report(P, sk, motion.fps, feet=table, floors=mfloors)
    best = (before["skating"], (), P, motion.rotations, motion.root)
    # Without a reference each leg's solution does not depend on the other's: solve both once. With
    # one, the hips' drop serves the legs being cleaned, so each subset is solved on its own.
    both = None if follow else _solve_legs(motion, idx, goals, follow=False)
    for sides in (("left", "right"), ("left",), ("right",)):
        legs, root = _solve_legs(motion, idx, {s: goals[s] for s in sides}, follow=True) if follow else both
        if not all(side in legs for side in sides):
            continue
        local = motion.rotations.copy()
        for side in sides:
            for jj, q in legs[side].items():
                local[:, jj] = q
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
                _, _, pin = _targets(R[:, sk.index(name)], flags, 0)
                pin_err = max(pin_err, float(np.linalg.norm(Pn[flags, sk.index(name)] - pin[flags], axis=-1).max()))
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
        return clean_feet(motion, contacts=contacts_from_meta(motion))  # a generator's contacts, if it gave them
    from csgn_core.motion.solve import positions_to_rotations

    solved = positions_to_rotations(motion)
    observed = motion.positions[:, [motion.skeleton.index(j) for j in solved.skeleton.joints]]
    cleaned, report = clean_feet(solved, reference=observed)
    report["skating_solved"] = report["skating_before"]
    report["skating_before"] = foot_skating(observed, solved.skeleton, motion.fps, feet=None)
    return cleaned, report

