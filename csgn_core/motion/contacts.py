"""Feet on the floor: which joints are feet, their floors, contact detection, and the skating measure.

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
"""
from __future__ import annotations

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion.clip import Motion
from csgn_core.motion.ops import runs
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


HEIGHT_ON = 4.0  # cm above the point's floor


HEIGHT_OFF = 7.0


SPEED_ON = 20.0  # cm/s


SPEED_OFF = 40.0


MIN_FRAMES = 3


SKATE_HEIGHT = 2.5  # cm, H of the skating measure


FLOOR_PERCENTILE = 2.0


def has_foot_table(skeleton: Skeleton) -> bool:
    """Whether ``feet_for`` finds the skeleton's feet (contacts and the foot clean-up need them)."""
    try:
        feet_for(skeleton)
    except CSGNError:
        return False
    return True


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


def check_feet(feet: dict, skeleton: Skeleton) -> dict[str, dict[str, int]]:
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


def contact_points(idx: dict[str, dict[str, int]]) -> list[int]:
    pts = []
    for side in idx.values():
        for part in ("heel", "toe"):
            if side[part] not in pts:
                pts.append(side[part])
    return pts


def contact_point_indices(skeleton: Skeleton, feet: dict | None = None) -> list[int]:
    """The heel and toe joints of both feet (left then right, shared points once): the points whose
    contacts every function here detects, measures and pins."""
    return contact_points(check_feet(feet or feet_for(skeleton), skeleton))


def point_floors(P: np.ndarray, joints: list[int]) -> np.ndarray:
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
    idx = check_feet(feet or feet_for(skeleton), skeleton)
    pts = contact_points(idx)
    fl = point_floors(P, pts) if floors is None else np.asarray(floors, dtype=np.float64)
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
    idx = check_feet(feet or feet_for(skeleton), skeleton)
    pts = contact_points(idx)
    fl = point_floors(P, pts)
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
