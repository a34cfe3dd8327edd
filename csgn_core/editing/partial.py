"""Partial-pose pins (issue 17): a pin that holds chosen joints only (an arm, the legs, the head).

Completion runs twice (``completion.fill``). The first pass generates the whole body through a
partial pin's frames, as through a gap; the pin then becomes a whole pose, its held joints from
the pin and the rest from that first pass (``composite``), and the second pass fills every gap
around it as around any pin, so the seams are spliced as a whole pin's are and the held joints are
the pin's exactly. A held joint's position relative to the body (the root's frame) is the pin's,
since its chain down from the root turns as the pin's did; when the root is held too (the legs
group: the legs carry the body), the body's travel over the floor is the pin's as well. Joint
groups are found by name, so they exist on every skeleton the project reads.
"""
from __future__ import annotations

import numpy as np

from csgn_core.errors import CSGNError

_ARM = ("shoulder", "clavicle", "collar", "arm", "elbow", "forearm", "wrist", "hand", "finger", "thumb")
_LEG = ("hip", "leg", "thigh", "knee", "shin", "ankle", "heel", "foot", "toe")
_HEAD = ("head", "neck")
# group name -> (words any of which a joint's name holds, side: "l", "r" or None, hold the root too)
GROUPS = {
    "left arm": (_ARM, "l", False),
    "right arm": (_ARM, "r", False),
    "arms": (_ARM, None, False),
    "legs": (_LEG, None, True),  # the legs carry the body: their pin holds its travel too
    "head": (_HEAD, None, False),
}


def _side(name: str) -> str | None:
    n = name.lower()
    if n.startswith(("l_", "left")) or n.endswith(("_l", "left", ".l")):
        return "l"
    if n.startswith(("r_", "right")) or n.endswith(("_r", "right", ".r")):
        return "r"
    return None


def group_joints(skeleton, group: str) -> tuple[str, ...]:
    """The skeleton's joints in a named group (``GROUPS``), in skeleton order."""
    if group not in GROUPS:
        raise CSGNError(f"unknown joint group {group!r}: one of {', '.join(GROUPS)}")
    words, side, with_root = GROUPS[group]
    names = list(skeleton.joints)
    root = names[0]
    out = [n for n in names[1:] if any(w in n.lower() for w in words) and (side is None or _side(n) == side)
           and not (group != "legs" and n.lower() in ("hips", "hip"))]  # a "Hips" joint is the pelvis
    if with_root:
        out = [root] + [n for n in out if n != root]
    if not out:
        raise CSGNError(f"the skeleton {skeleton.name} has no joints that read as {group}")
    return tuple(n for n in names if n in out)


def resolve_joints(skeleton, spec) -> tuple[str, ...] | None:
    """A pin's held joints from a group name or a list of joint names (None: the whole pose)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return group_joints(skeleton, spec)
    names = [str(n) for n in spec]
    unknown = [n for n in names if n not in skeleton.joints]
    if unknown:
        raise CSGNError(f"the skeleton {skeleton.name} has no joint {unknown[0]!r}")
    if not names:
        raise CSGNError("a partial pin must hold at least one joint")
    return tuple(n for n in skeleton.joints if n in names)


def describe(skeleton, joints: tuple[str, ...] | None) -> str:
    """What a pin holds, in words: "all", "floor path", a group's name, or the joint count."""
    if joints is None:
        return "all"
    if joints == "path":
        return "floor path"
    for g in GROUPS:
        try:
            if group_joints(skeleton, g) == tuple(joints):
                return g
        except CSGNError:
            continue
    return f"{len(joints)} joints"


def composite(gen_rot: np.ndarray, gen_root: np.ndarray, pin_rot: np.ndarray, pin_root: np.ndarray,
              joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A whole pose for a partial pin's frames (n, J, 4), (n, 3): the held joints (index 0 among them
    holds the root's track too) from the pin, every other joint from the generated motion there."""
    rot = gen_rot.copy()
    j = np.asarray(joints, dtype=int)
    rot[:, j] = pin_rot[:, j]
    root = pin_root.copy() if 0 in j else gen_root.copy()
    return rot, root


def path_composite(gen_rot: np.ndarray, gen_root: np.ndarray, pin_rot: np.ndarray, pin_root: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A whole pose for a floor-path pin's frames: the generated body, turned about the vertical to the
    pin's facing and carried along the pin's floor track (x, z); its height stays the generated one."""
    from csgn_core.editing.splice import heading_angle, turn_about_y, wrap_angle
    from csgn_core.motion import quaternion as Q

    rot = gen_rot.copy()
    turn = wrap_angle(heading_angle(pin_rot[:, 0]) - heading_angle(gen_rot[:, 0]))
    rot[:, 0] = Q.multiply(turn_about_y(turn), gen_rot[:, 0])
    root = gen_root.copy()
    root[:, [0, 2]] = pin_root[:, [0, 2]]
    return rot, root


PATH_SLACK_CM = 4.5  # how far the root may leave a floor path for the feet (the issue allows 5 cm)
PATH_SLACK_RAMP = 8  # frames over which that give opens from nothing at the path's two ends
PATH_SLACK_SMOOTH = 4.0  # weight of the offsets' second difference


def path_slack(positions: np.ndarray, points: list[int], floors: np.ndarray, *,
               radius: float = PATH_SLACK_CM) -> np.ndarray:
    """(n, 2) floor offsets (x, z, cm) of a floor path's body, within ``radius`` of the path and none at
    its first and last frames, that keep its feet still where they are on the floor
    (``rootslack.root_slack``; session 19: sliding 94.8 / 115.7 -> 90.1 / 108.3 cm/s at 30 / 60-frame
    gaps, ``scripts/path_pins.py``)."""
    from csgn_core.motion.rootslack import root_slack

    return root_slack(positions, points, floors, radius=radius, smooth=PATH_SLACK_SMOOTH, ramp=PATH_SLACK_RAMP)


def path_from_points(take, points: np.ndarray):
    """A floor-path pin's source drawn by the user: the frames of ``take`` (the motion under the
    range), carried along the polyline ``points`` (N, 2) of floor positions (x, z, cm).

    The take's own pace along its track is kept (where it slowed down, it slows down on the drawn
    path too; a take that stands still is spread evenly), and its facing is turned by the one angle
    that takes its overall direction of travel onto the drawn one, so a dancer who moved backwards
    still does: dancers do not always face where they go."""
    from csgn_core.editing.splice import turn_about_y
    from csgn_core.motion import quaternion as Q
    from csgn_core.motion.clip import Motion

    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(pts) < 2 or not np.isfinite(pts).all():
        raise CSGNError("draw a path of at least two points on the floor")
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    if seg.sum() < 1.0:
        raise CSGNError("the drawn path is shorter than a centimetre: drag further on the floor")
    arc = np.concatenate([[0.0], np.cumsum(seg)]) / seg.sum()  # 0..1 along the drawing
    track = take.root[:, [0, 2]]
    step = np.linalg.norm(np.diff(track, axis=0), axis=1)
    n = take.n_frames
    pace = np.concatenate([[0.0], np.cumsum(step)])
    u = pace / pace[-1] if pace[-1] > 5.0 else np.linspace(0.0, 1.0, n)  # where along the path each frame is
    xz = np.stack([np.interp(u, arc, pts[:, 0]), np.interp(u, arc, pts[:, 1])], axis=1)
    travel = track[-1] - track[0]
    drawn = pts[-1] - pts[0]
    turn = 0.0
    if np.linalg.norm(travel) > 5.0 and np.linalg.norm(drawn) > 5.0:
        turn = float(np.arctan2(drawn[0], drawn[1]) - np.arctan2(travel[0], travel[1]))
    rot = take.rotations.copy()
    rot[:, 0] = Q.multiply(turn_about_y(np.full(n, turn)), rot[:, 0])
    root = take.root.copy()
    root[:, [0, 2]] = xz
    return Motion(take.skeleton, take.fps, rotations=rot, root=root, meta=dict(take.meta, drawn_path=True))
