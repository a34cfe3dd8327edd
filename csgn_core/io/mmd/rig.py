"""The standard MMD skeleton and the conversion between MMD's axes and units and the project's.

Axes and units. The project is right-handed, y up, centimetres, the character facing +z with its
left on +x. MMD is left-handed, y up, 1 unit ~ 8 cm, the model facing -z with its left on +x (a
left bone has x > 0). One reflection z -> -z takes one to the other: positions (x, y, z) cm ->
(x, y, -z) / 8, quaternions (w, x, y, z) -> MMD (x, y, z, w) = (-x, -y, z, w). Everything below
works in project axes and converts only when keys are written or read.

The standard skeleton (``standard_rig``) holds the bones MMD motions key: 全ての親, センター,
グルーブ, 下半身, 上半身, 上半身2, 首, 頭, and for 左/右 肩, 腕, ひじ, 手首, 足, ひざ, 足首, つま先,
足ＩＫ, つま先ＩＫ. Rest positions (heads, MMD units, MMD axes, left side; right mirrors x) are
those of a figure 158 cm tall (about 19.75 units: Miku's official height, the scale of standard
models), with proportions from Drillis and Contini's segment table and a stylised narrow shoulder
as on common Miku models: see ``STANDARD_HEADS`` and docs/export.md. The arms hang 35 degrees
below horizontal (MMD models stand in an A pose). A target model's own rest can be given as a
small JSON (``target_rest``): ``{"name": ..., "arm_angle_deg": 40, "positions": {"左腕": [x, y, z],
...}}``; a left bone given without its right twin is mirrored.

Keys are local rotations relative to the bind pose in world-aligned bone frames, so a rig is a
project Skeleton whose offsets are the rest head differences, and the keys are its local rotations.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.skeleton import Skeleton

MIN_LEN = 1e-9
UNIT_CM = 8.0  # centimetres per MMD unit


FPS = 30.0


ARM_ANGLE_DEG = 35.0  # rest arms below horizontal


# Segment lengths in MMD units for a 158 cm (19.75 unit) figure, Drillis-Contini fractions of height:
# upper arm 0.186 H, forearm 0.146 H, wrist to knuckles about 0.05 H.
ARM_LENGTHS = (3.67, 2.88, 1.0)


# Rest heads of the left side and the centre line, MMD units and axes (x = the model's left,
# z = the model's back). Heights: hip joint 0.53 H = 10.5, knee 0.285 H = 5.6, ankle 0.04 H = 0.8,
# shoulder joint 0.80 H = 15.7, neck base 16.2, skull base 17.1, head top 19.75 (H = 19.75).
_CENTRE_AND_LEFT = {
    "全ての親": (0.0, 0.0, 0.0),
    "センター": (0.0, 8.0, 0.0),
    "グルーブ": (0.0, 8.2, 0.0),
    "下半身": (0.0, 11.7, 0.0),
    "上半身": (0.0, 11.7, 0.0),
    "上半身2": (0.0, 13.4, 0.0),
    "首": (0.0, 16.2, 0.1),
    "頭": (0.0, 17.1, 0.0),
    "左肩": (0.35, 16.0, 0.1),
    "左腕": (1.8, 15.7, 0.1),
    "左足": (1.0, 10.5, 0.0),
    "左ひざ": (0.95, 5.6, -0.15),
    "左足首": (0.9, 0.8, 0.15),
    "左つま先": (0.9, 0.1, -1.5),
}


# name, parent, tail: a bone (tail at its head), a vector (MMD units and axes), "@hips" (the hip
# centre) or "@hand" (the forearm line continued by the hand length); None: no direction.
BONE_TREE = [
    ("全ての親", None, None),
    ("センター", "全ての親", None),
    ("グルーブ", "センター", None),
    ("下半身", "グルーブ", "@hips"),
    ("左足", "下半身", "左ひざ"),
    ("左ひざ", "左足", "左足首"),
    ("左足首", "左ひざ", "左つま先"),
    ("左つま先", "左足首", None),
    ("右足", "下半身", "右ひざ"),
    ("右ひざ", "右足", "右足首"),
    ("右足首", "右ひざ", "右つま先"),
    ("右つま先", "右足首", None),
    ("上半身", "グルーブ", "上半身2"),
    ("上半身2", "上半身", "首"),
    ("首", "上半身2", "頭"),
    ("頭", "首", (0.0, 2.0, 0.0)),
    ("左肩", "上半身2", "左腕"),
    ("左腕", "左肩", "左ひじ"),
    ("左ひじ", "左腕", "左手首"),
    ("左手首", "左ひじ", "@hand"),
    ("右肩", "上半身2", "右腕"),
    ("右腕", "右肩", "右ひじ"),
    ("右ひじ", "右腕", "右手首"),
    ("右手首", "右ひじ", "@hand"),
    ("左足ＩＫ", "全ての親", None),
    ("左つま先ＩＫ", "左足ＩＫ", None),
    ("右足ＩＫ", "全ての親", None),
    ("右つま先ＩＫ", "右足ＩＫ", None),
]


REST_DIRECTIONS = {  # project axes: the character faces +z, its left is +x
    "left": (1.0, 0.0, 0.0), "right": (-1.0, 0.0, 0.0), "up": (0.0, 1.0, 0.0), "down": (0.0, -1.0, 0.0),
    "forward": (0.0, 0.0, 1.0), "back": (0.0, 0.0, -1.0),
}


def _mirror_name(name: str) -> str | None:
    if name.startswith("左"):
        return "右" + name[1:]
    if name.startswith("右"):
        return "左" + name[1:]
    return None


def standard_heads(arm_angle_deg: float = ARM_ANGLE_DEG) -> dict[str, tuple[float, float, float]]:
    """Rest head positions of every standard bone, MMD units and axes (the numbers docs/export.md lists)."""
    heads = dict(_CENTRE_AND_LEFT)
    a = np.radians(arm_angle_deg)
    d = np.array([np.cos(a), -np.sin(a), 0.0])
    elbow = np.array(heads["左腕"]) + ARM_LENGTHS[0] * d
    wrist = elbow + ARM_LENGTHS[1] * d
    heads["左ひじ"] = tuple(float(x) for x in np.round(elbow, 4))
    heads["左手首"] = tuple(float(x) for x in np.round(wrist, 4))
    heads["左足ＩＫ"] = heads["左足首"]
    heads["左つま先ＩＫ"] = heads["左つま先"]
    for name in list(heads):
        twin = _mirror_name(name)
        if twin:
            x, y, z = heads[name]
            heads[twin] = (-x, y, z)
    return heads


STANDARD_HEADS = standard_heads()


def to_mmd_position(p: np.ndarray) -> np.ndarray:
    """Project positions (..., 3) cm to MMD units and axes."""
    return np.asarray(p, dtype=np.float64) * np.array([1.0, 1.0, -1.0]) / UNIT_CM


def from_mmd_position(p: np.ndarray) -> np.ndarray:
    """MMD positions (..., 3) to project centimetres and axes."""
    return np.asarray(p, dtype=np.float64) * np.array([1.0, 1.0, -1.0]) * UNIT_CM


def to_mmd_rotation(q: np.ndarray) -> np.ndarray:
    """Project quaternions (..., 4) w x y z to MMD's (..., 4) x y z w (the z reflection)."""
    q = np.asarray(q, dtype=np.float64)
    return np.stack([-q[..., 1], -q[..., 2], q[..., 3], q[..., 0]], axis=-1)


def from_mmd_rotation(q: np.ndarray) -> np.ndarray:
    """MMD quaternions (..., 4) x y z w to project (..., 4) w x y z."""
    q = np.asarray(q, dtype=np.float64)
    return np.stack([q[..., 3], -q[..., 0], -q[..., 1], q[..., 2]], axis=-1)


# --- the rig -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MmdRig:
    """A standard MMD skeleton in project axes and centimetres.

    skeleton: bone names in tree order, offsets = rest head differences. tails: (B, 3) rest bone
    vector of each bone (head -> tail), zero where a bone has no direction. heads_mmd: rest heads
    in MMD units and axes, as documented.
    """

    name: str
    skeleton: Skeleton
    tails: np.ndarray
    heads_mmd: dict[str, tuple[float, float, float]]

    @property
    def bones(self) -> tuple[str, ...]:
        return self.skeleton.joints

    def index(self, bone: str) -> int:
        return self.skeleton.index(bone)

    @property
    def rest_positions(self) -> np.ndarray:
        """(B, 3) rest heads, project cm."""
        return np.array([from_mmd_position(self.heads_mmd[b]) for b in self.bones])

    def leg_length(self) -> float:
        """Mean thigh + shin length of the two legs, cm."""
        P = self.rest_positions
        i = self.index
        return float(np.mean([
            np.linalg.norm(P[i(f"{s}ひざ")] - P[i(f"{s}足")]) + np.linalg.norm(P[i(f"{s}足首")] - P[i(f"{s}ひざ")])
            for s in "左右"
        ]))


def load_json_spec(spec, what: str) -> dict:
    if isinstance(spec, dict):
        return spec
    path = Path(spec)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CSGNError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    except ValueError as e:
        raise CSGNError(f"{path}: the {what} is not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise CSGNError(f"{path}: the {what} must be a JSON object")
    return d


def standard_rig(target_rest: dict | str | Path | None = None) -> MmdRig:
    """The standard MMD skeleton, or a target model's rest pose given as a dict or a JSON file.

    target_rest keys (all optional): "name"; "arm_angle_deg" (the arms' angle below horizontal);
    "positions": {bone: [x, y, z]} heads in MMD units and axes (a left bone without its right
    twin given is mirrored, and vice versa).
    """
    spec = {} if target_rest is None else load_json_spec(target_rest, "target rest pose")
    angle = spec.get("arm_angle_deg", ARM_ANGLE_DEG)
    if not isinstance(angle, (int, float)) or isinstance(angle, bool) or not -90 <= angle <= 90:
        raise CSGNError(f"target rest: arm_angle_deg must be a number of degrees in -90..90, got {angle!r}")
    heads = standard_heads(float(angle))
    given = spec.get("positions", {})
    if not isinstance(given, dict):
        raise CSGNError("target rest: 'positions' must map bone names to [x, y, z]")
    for name, p in given.items():
        if name not in heads:
            raise CSGNError(f"target rest: unknown bone {name!r} (known: {', '.join(heads)})")
        try:
            v = tuple(float(x) for x in p)
        except (TypeError, ValueError):
            v = ()
        if len(v) != 3 or not np.all(np.isfinite(v)):
            raise CSGNError(f"target rest: the position of {name!r} must be three finite numbers, got {p!r}")
        heads[name] = v
        twin = _mirror_name(name)
        if twin and twin not in given:
            heads[twin] = (-v[0], v[1], v[2])

    names = [n for n, _, _ in BONE_TREE]
    parents = [-1 if p is None else names.index(p) for _, p, _ in BONE_TREE]
    P = np.array([from_mmd_position(heads[n]) for n in names])
    offsets = np.array([P[j] - P[p] if p >= 0 else np.zeros(3) for j, p in enumerate(parents)])
    pairs = [(names.index(n), names.index(_mirror_name(n))) for n in names if n.startswith("左")]
    skeleton = Skeleton(f"mmd:{spec.get('name', 'standard')}", names, parents, offsets, lr_pairs=pairs)
    tails = np.zeros((len(names), 3))
    for j, (name, parent, tail) in enumerate(BONE_TREE):
        if tail is None:
            continue
        if tail == "@hips":
            tails[j] = (P[names.index("左足")] + P[names.index("右足")]) / 2 - P[j]
        elif tail == "@hand":
            fore = P[j] - P[parents[j]]
            tails[j] = fore / max(np.linalg.norm(fore), MIN_LEN) * ARM_LENGTHS[2] * UNIT_CM
        elif isinstance(tail, str):
            tails[j] = P[names.index(tail)] - P[j]
        else:
            tails[j] = from_mmd_position(tail)
        if np.linalg.norm(tails[j]) < 1e-6:
            raise CSGNError(f"target rest: bone {name!r} has zero length (its head sits on its tail)")
    return MmdRig(str(spec.get("name", "standard")), skeleton, tails, heads)


def rig_forward(rig: MmdRig, local: np.ndarray, trans: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics with per-bone translations: positions (F, B, 3) cm and global rotations (F, B, 4).

    local: (F, B, 4) project quaternions; trans: (F, B, 3) key translations in project cm (each
    moves its bone from the rest head, in the parent's frame), or None.
    """
    F, B = local.shape[:2]
    off = rig.skeleton.offsets
    rest = rig.rest_positions
    pos = np.empty((F, B, 3))
    glob = np.empty((F, B, 4))
    for b, p in enumerate(rig.skeleton.parents):
        t = trans[:, b] if trans is not None else 0.0
        if p < 0:
            glob[:, b] = local[:, b]
            pos[:, b] = rest[b] + t
        else:
            glob[:, b] = Q.multiply(glob[:, p], local[:, b])
            pos[:, b] = pos[:, p] + Q.rotate(glob[:, p], off[b] + t)
    return pos, glob
