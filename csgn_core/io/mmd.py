"""MikuMikuDance: the standard MMD skeleton, bone maps, and retargeting motions to and from VMD.

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

Retargeting (``motion_to_vmd``) goes through global directions. A bone map (resources/bonemaps)
says for each MMD bone which source joints define its direction (``dir``: from-joints -> to-joints,
each side the mean of the joints named) and, optionally, which source vectors fix its turn about
itself (``twist``: a vector between joints, or a joint's own local axis, that should point where a
named direction of the rest pose points: left, right, up, down, forward, back). Each frame, an MMD
bone's global rotation is the shortest swing, from its parent's frame, that lays its rest bone
(head -> tail) along the source direction, then the turn about the bone that best brings the
twist cues into place (weighted by how far each leaves the bone's line; with no usable cue the
bone keeps its parent's turn). Rest poses and proportions of source and target therefore never
meet: only directions cross over. Local key = parent global^-1 * global.

センター carries the translation: the hip centre (mean of 左足 and 右足) is put where the source
hip centre is, scaled by the ratio of leg lengths (MMD thigh + shin over the source's), with the
source's floor placed so that its lowest ankle height (2nd percentile) matches the MMD ankle's
rest height (``floor: "ankle"`` in the map; a number gives the floor height in cm).

Import (``vmd_to_motion``) samples the keys (Bezier interpolation), solves leg IK where the file
keys 足ＩＫ and leaves IK on, runs forward kinematics on the rig, and rebuilds the target skeleton
bone by bone: each target bone keeps its own rest length and takes the turn of the MMD bone it
maps to (the rotation from the target's rest pose, retargeted onto the rig, to the MMD pose). What
is lost: bones outside the map (fingers, twist bones, 腰, eyes), morphs, cameras, physics;
whatever the map merges (Tang's single torso line drives both spine bones) comes back merged;
turns about a bone the source never fixed (wrists, most limbs) come back as the MMD file has them;
the translation is scaled by leg-length ratio, so a differently proportioned target slides
slightly; 足ＩＫ solving is analytic (no MMD knee-angle limits).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.io.vmd import IK_BONES, IkKey, VmdMotion, bezier_points, ik_off_key
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, global_rotations
from csgn_core.motion.ops import resample
from csgn_core.motion.skeleton import Skeleton, load_named
from csgn_core.paths import RESOURCES

UNIT_CM = 8.0  # centimetres per MMD unit
FPS = 30.0
ARM_ANGLE_DEG = 35.0  # rest arms below horizontal
# Segment lengths in MMD units for a 158 cm (19.75 unit) figure, Drillis-Contini fractions of height:
# upper arm 0.186 H, forearm 0.146 H, wrist to knuckles about 0.05 H.
ARM_LENGTHS = (3.67, 2.88, 1.0)
_TWIST_PRIOR = 0.05  # how strongly a bone keeps its parent's turn against weak twist cues
_MIN_LEN = 1e-9
MAX_IMPORT_FRAMES = 200_000  # about 1.9 hours at 30 fps; dense arrays beyond that are a corrupt file

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
_TREE = [
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
_DIRECTIONS = {  # project axes: the character faces +z, its left is +x
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


def _load_json(spec, what: str) -> dict:
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
    spec = {} if target_rest is None else _load_json(target_rest, "target rest pose")
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

    names = [n for n, _, _ in _TREE]
    parents = [-1 if p is None else names.index(p) for _, p, _ in _TREE]
    P = np.array([from_mmd_position(heads[n]) for n in names])
    offsets = np.array([P[j] - P[p] if p >= 0 else np.zeros(3) for j, p in enumerate(parents)])
    pairs = [(names.index(n), names.index(_mirror_name(n))) for n in names if n.startswith("左")]
    skeleton = Skeleton(f"mmd:{spec.get('name', 'standard')}", names, parents, offsets, lr_pairs=pairs)
    tails = np.zeros((len(names), 3))
    for j, (name, parent, tail) in enumerate(_TREE):
        if tail is None:
            continue
        if tail == "@hips":
            tails[j] = (P[names.index("左足")] + P[names.index("右足")]) / 2 - P[j]
        elif tail == "@hand":
            fore = P[j] - P[parents[j]]
            tails[j] = fore / max(np.linalg.norm(fore), _MIN_LEN) * ARM_LENGTHS[2] * UNIT_CM
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


# --- bone maps -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TwistCue:
    """A vector that fixes a bone's turn: between joints (from/to) or a joint's local axis."""

    rest: tuple[float, float, float]  # unit, project axes, in the MMD rest pose
    src_from: tuple[str, ...] = ()
    src_to: tuple[str, ...] = ()
    joint: str | None = None
    axis: tuple[float, float, float] | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class BoneRule:
    src_from: tuple[str, ...]
    src_to: tuple[str, ...]
    twist: tuple[TwistCue, ...] = ()


@dataclass(frozen=True, eq=False)
class BoneMap:
    """Which source joints drive which MMD bone; see resources/bonemaps/*.json and docs/export.md."""

    name: str
    skeleton: str | None
    bones: dict[str, BoneRule]
    hip_center: tuple[str, ...]
    legs: dict[str, tuple[str, str, str]]
    floor: str | float = "ankle"
    imports: dict[str, dict] = field(default_factory=dict)
    description: str = ""

    def joints(self) -> set[str]:
        used = set(self.hip_center)
        for leg in self.legs.values():
            used.update(leg)
        for rule in self.bones.values():
            used.update(rule.src_from + rule.src_to)
            for cue in rule.twist:
                used.update(cue.src_from + cue.src_to + ((cue.joint,) if cue.joint else ()))
        return used


def bonemap_dir() -> Path:
    return RESOURCES / "bonemaps"


def named_bone_maps() -> list[str]:
    return sorted(p.stem for p in bonemap_dir().glob("*.json"))


def _names(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CSGNError(f"{where}: expected a joint name or a non-empty list of joint names, got {value!r}")


def _direction(value, where: str) -> tuple[float, float, float]:
    if isinstance(value, str):
        if value not in _DIRECTIONS:
            raise CSGNError(f"{where}: unknown direction {value!r} (use {', '.join(_DIRECTIONS)} or [x, y, z])")
        return _DIRECTIONS[value]
    try:
        v = np.array([float(x) for x in value])
    except (TypeError, ValueError):
        v = np.zeros(0)
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) < 1e-9:
        raise CSGNError(f"{where}: expected a direction word or a non-zero [x, y, z], got {value!r}")
    return tuple(v / np.linalg.norm(v))


def load_bone_map(spec: str | Path | dict | BoneMap) -> BoneMap:
    """A bone map from a built-in name (tang23, bandai22, kinect20), a JSON path or a dict."""
    if isinstance(spec, BoneMap):
        return spec
    name = "custom"
    if isinstance(spec, (str, Path)) and not isinstance(spec, dict):
        builtin = bonemap_dir() / f"{spec}.json"
        if isinstance(spec, str) and "/" not in spec and "\\" not in spec and builtin.is_file():
            spec = builtin
        elif not Path(spec).is_file():
            raise CSGNError(f"unknown bone map {str(spec)!r} (built in: {', '.join(named_bone_maps())}; or give a JSON file)")
        name = Path(spec).stem
    d = _load_json(spec, "bone map")
    where = f"bone map {d.get('name', name)!r}"
    rig_bones = {n for n, _, _ in _TREE}
    bones_d = d.get("bones")
    if not isinstance(bones_d, dict) or not bones_d:
        raise CSGNError(f"{where}: 'bones' must map MMD bone names to rules")
    bones: dict[str, BoneRule] = {}
    for bone, rule in bones_d.items():
        w = f"{where}, bone {bone!r}"
        if bone not in rig_bones:
            raise CSGNError(f"{w}: not a standard MMD bone (known: {', '.join(n for n, _, t in _TREE if t)})")
        if not isinstance(rule, dict) or not isinstance(rule.get("dir"), list) or len(rule["dir"]) != 2:
            raise CSGNError(f"{w}: needs \"dir\": [from joint(s), to joint(s)]")
        cues = []
        for k, cue in enumerate(rule.get("twist", []) or []):
            wc = f"{w}, twist {k}"
            if not isinstance(cue, dict) or "rest" not in cue:
                raise CSGNError(f"{wc}: needs \"rest\" and either \"from\"/\"to\" or \"joint\"/\"axis\"")
            weight = cue.get("weight", 1.0)
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not weight > 0:
                raise CSGNError(f"{wc}: weight must be a positive number")
            if "joint" in cue:
                if not isinstance(cue["joint"], str):
                    raise CSGNError(f"{wc}: 'joint' must be a joint name")
                cues.append(TwistCue(_direction(cue["rest"], wc), joint=cue["joint"],
                                     axis=_direction(cue.get("axis"), wc + " axis"), weight=float(weight)))
            else:
                cues.append(TwistCue(_direction(cue["rest"], wc), _names(cue.get("from"), wc + " from"),
                                     _names(cue.get("to"), wc + " to"), weight=float(weight)))
        bones[bone] = BoneRule(_names(rule["dir"][0], w), _names(rule["dir"][1], w), tuple(cues))
    # Rules in tree order so that parents are solved first.
    order = [n for n, _, _ in _TREE]
    bones = {b: bones[b] for b in sorted(bones, key=order.index)}
    hip = _names(d.get("hip_center"), f"{where}: hip_center")
    legs_d = d.get("legs")
    if not isinstance(legs_d, dict) or set(legs_d) != {"left", "right"}:
        raise CSGNError(f"{where}: 'legs' must give 'left' and 'right' as [hip, knee, ankle]")
    legs = {}
    for side, chain in legs_d.items():
        chain = _names(chain, f"{where}: legs.{side}")
        if len(chain) != 3:
            raise CSGNError(f"{where}: legs.{side} must name [hip, knee, ankle]")
        legs[side] = chain
    floor = d.get("floor", "ankle")
    if floor != "ankle" and (not isinstance(floor, (int, float)) or isinstance(floor, bool) or not np.isfinite(floor)):
        raise CSGNError(f"{where}: floor must be \"ankle\" or a height in cm, got {floor!r}")
    imports = d.get("import", {})
    if not isinstance(imports, dict):
        raise CSGNError(f"{where}: 'import' must map joint names to rules")
    for joint, rule in imports.items():
        ok = (isinstance(rule, str) and rule in rig_bones) or (
            isinstance(rule, dict) and (rule.get("floor") is True or (
                rule.get("bone") in rig_bones and (isinstance(rule.get("anchor"), str) or (
                    isinstance(rule.get("anchor"), list) and rule["anchor"] and all(isinstance(a, str) for a in rule["anchor"])))))
        )
        if not ok:
            raise CSGNError(f"{where}: import rule for {joint!r} must be an MMD bone name, {{\"bone\": B, "
                            f"\"anchor\": \"hip_center\", a joint or a list of joints}} or {{\"floor\": true}}")
    return BoneMap(str(d.get("name", name)), d.get("skeleton"), bones, hip, legs, floor, dict(imports),
                   str(d.get("description", "")))


def bone_map_for(skeleton: Skeleton) -> BoneMap:
    """The built-in bone map for a skeleton: by its name, else the first whose joints it has."""
    names = named_bone_maps()
    if skeleton.name in names:
        return load_bone_map(skeleton.name)
    for n in names:
        bmap = load_bone_map(n)
        if bmap.joints() <= set(skeleton.joints):
            return bmap
    raise CSGNError(
        f"no built-in MMD bone map fits skeleton {skeleton.name!r} (built in: {', '.join(names)}); "
        "pass bone_map= a JSON file like resources/bonemaps/tang23.json"
    )


def _check_map(bmap: BoneMap, skeleton: Skeleton) -> None:
    missing = sorted(bmap.joints() - set(skeleton.joints))
    if missing:
        raise CSGNError(f"bone map {bmap.name!r} names joints that skeleton {skeleton.name!r} lacks: {', '.join(missing)}")


# --- retargeting core ----------------------------------------------------------------------------
def _mean(P: np.ndarray, skeleton: Skeleton, names: tuple[str, ...]) -> np.ndarray:
    return P[:, [skeleton.index(n) for n in names]].mean(axis=1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def retarget_globals(
    P: np.ndarray, skeleton: Skeleton, bmap: BoneMap, rig: MmdRig, src_globals: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations (F, B, 4) of the rig's bones that point each mapped bone along its source direction.

    P: (F, J, 3) source positions; src_globals: (F, J, 4) source global rotations (needed only by
    joint-axis twist cues; without them those cues are skipped). Returns the rotations and a (B,)
    mask of the mapped bones. Unmapped bones keep their parent's rotation.
    """
    F = P.shape[0]
    B = len(rig.bones)
    G = Q.identity((F, B))
    mapped = np.zeros(B, dtype=bool)
    for b, parent in enumerate(rig.skeleton.parents):
        Gp = G[:, parent] if parent >= 0 else Q.identity((F,))
        rule = bmap.bones.get(rig.bones[b])
        if rule is None:
            G[:, b] = Gp
            continue
        mapped[b] = True
        v = _mean(P, skeleton, rule.src_to) - _mean(P, skeleton, rule.src_from)  # (F, 3)
        rest = np.broadcast_to(rig.tails[b], (F, 3))
        G0 = Q.multiply(Q.between(Q.rotate(Gp, rest), v), Gp)
        if rule.twist:
            a = _unit(v)
            s = np.zeros(F)
            c = np.zeros(F)
            prior = 0.0
            for cue in rule.twist:
                if cue.joint is not None:
                    if src_globals is None:
                        continue
                    y = Q.rotate(src_globals[:, skeleton.index(cue.joint)], np.broadcast_to(cue.axis, (F, 3)))
                else:
                    y = _mean(P, skeleton, cue.src_to) - _mean(P, skeleton, cue.src_from)
                y = _unit(y)
                x = Q.rotate(G0, np.broadcast_to(cue.rest, (F, 3)))
                x = x - np.sum(x * a, -1, keepdims=True) * a
                y = y - np.sum(y * a, -1, keepdims=True) * a
                s += cue.weight * np.sum(a * np.cross(x, y), -1)
                c += cue.weight * np.sum(x * y, -1)
                prior += cue.weight
            if prior > 0:
                theta = np.arctan2(s, c + _TWIST_PRIOR * prior)
                G0 = Q.multiply(Q.from_axis_angle(a, theta), G0)
        G[:, b] = Q.make_continuous(G0)
    return G, mapped


def _locals(rig: MmdRig, G: np.ndarray) -> np.ndarray:
    L = np.empty_like(G)
    for b, p in enumerate(rig.skeleton.parents):
        L[:, b] = G[:, b] if p < 0 else Q.multiply(Q.conjugate(G[:, p]), G[:, b])
    return Q.make_continuous(L)


def _leg_length(P: np.ndarray, skeleton: Skeleton, bmap: BoneMap) -> float:
    total = []
    for hip, knee, ankle in bmap.legs.values():
        h, k, a = (P[:, skeleton.index(n)] for n in (hip, knee, ankle))
        total.append(np.linalg.norm(k - h, axis=-1) + np.linalg.norm(a - k, axis=-1))
    return float(np.mean(total))


# --- key reduction -------------------------------------------------------------------------------
def reduce_keys(rot: np.ndarray | None, pos: np.ndarray | None, tol_deg: float, tol_pos: float) -> np.ndarray:
    """Frame indices to keep so that slerp / lerp between kept keys stays within the tolerances.

    rot: (F, 4) quaternions or None; pos: (F, 3) or None (same units as tol_pos). Douglas-Peucker
    on time: the first and last frames stay; a segment whose worst in-between frame (error over
    tolerance, the larger of rotation and position) exceeds 1 is split there. All open segments
    are tested at once, one vectorised pass per level of splitting.
    """
    F = (rot if rot is not None else pos).shape[0]
    if F <= 2:
        return np.arange(F)
    keep = np.zeros(F, dtype=bool)
    keep[[0, F - 1]] = True
    tol_rad = max(np.radians(tol_deg), 1e-12)
    tol_pos = max(tol_pos, 1e-12)
    I, J = np.array([0]), np.array([F - 1])
    while len(I):
        n = J - I - 1  # in-between frames per segment
        seg = np.repeat(np.arange(len(I)), n)
        first = np.cumsum(n) - n
        k = I[seg] + 1 + (np.arange(len(seg)) - first[seg])
        t = (k - I[seg]) / (J[seg] - I[seg])
        err = np.zeros(len(k))
        if rot is not None:
            q = Q.slerp(rot[I[seg]], rot[J[seg]], t[:, None])
            d = np.abs(np.sum(q * rot[k], -1))
            err = np.maximum(err, 2 * np.arccos(np.clip(d, -1.0, 1.0)) / tol_rad)
        if pos is not None:
            p = pos[I[seg]] + (pos[J[seg]] - pos[I[seg]]) * t[:, None]
            err = np.maximum(err, np.linalg.norm(p - pos[k], axis=-1) / tol_pos)
        worst = np.maximum.reduceat(err, first)
        at = np.flatnonzero(err == worst[seg])
        seg_of, pick = np.unique(seg[at], return_index=True)
        split = worst[seg_of] > 1.0
        seg_of, m = seg_of[split], k[at[pick]][split]
        keep[m] = True
        I2 = np.concatenate([I[seg_of], m])
        J2 = np.concatenate([m, J[seg_of]])
        again = J2 - I2 >= 2
        I, J = I2[again], J2[again]
    return np.nonzero(keep)[0]


# --- export --------------------------------------------------------------------------------------
def motion_to_vmd(
    motion: Motion,
    *,
    bone_map: str | Path | dict | BoneMap | None = None,
    fps: float = FPS,
    leg_ik: str = "off",
    reduce_error: float | None = None,
    reduce_position_cm: float = 0.5,
    target_rest: dict | str | Path | None = None,
    recenter: bool = True,
    model_name: str = "",
) -> VmdMotion:
    """Retarget a motion (rotations or positions, any mapped skeleton) onto the standard MMD skeleton.

    bone_map: a built-in name, JSON path, dict or BoneMap (default: the built-in map for the
    motion's skeleton). fps: key rate (MMD plays 30 fps; the motion is resampled). leg_ik: "off"
    writes an IK record at frame 0 that turns 足ＩＫ and つま先ＩＫ off so that the written leg
    rotations play; "keys" keys 足ＩＫ / つま先ＩＫ positions at the retargeted ankles and toes and
    leaves IK on. reduce_error: None keys every frame; a number (degrees) drops keys whose slerp
    from the kept neighbours stays within it (positions within reduce_position_cm). recenter: put
    the first frame's hip centre over the origin. target_rest: the model's rest pose (see
    standard_rig).
    """
    if leg_ik not in ("off", "keys"):
        raise ValueError(f"leg_ik must be 'off' or 'keys', got {leg_ik!r}")
    if reduce_error is not None and not (np.isfinite(reduce_error) and reduce_error > 0):
        raise ValueError(f"reduce_error must be a positive number of degrees or None, got {reduce_error!r}")
    bmap = load_bone_map(bone_map) if bone_map is not None else bone_map_for(motion.skeleton)
    _check_map(bmap, motion.skeleton)
    rig = standard_rig(target_rest)
    if motion.n_frames == 0:
        raise CSGNError("the motion has no frames")
    m = resample(motion, fps) if abs(motion.fps - fps) > 1e-9 else motion
    P = np.asarray(m.positions, dtype=np.float64)
    if not np.isfinite(P).all():
        raise CSGNError("the motion holds NaN or infinite positions; fill or drop those frames first")
    src_globals = global_rotations(m.skeleton, m.rotations) if m.has_rotations else None
    G, mapped = retarget_globals(P, m.skeleton, bmap, rig, src_globals)
    L = _locals(rig, G)
    F, B = L.shape[:2]

    # Translation: the rig's hip centre goes to the scaled source hip centre.
    scale = rig.leg_length() / max(_leg_length(P, m.skeleton, bmap), 1e-9)
    hc_src = _mean(P, m.skeleton, bmap.hip_center)
    floor = _floor(P, m.skeleton, bmap, rig, scale)
    target_hc = scale * (hc_src - np.array([0.0, floor, 0.0]))
    if recenter:
        target_hc[:, [0, 2]] -= target_hc[0, [0, 2]]
    i = rig.index
    pos0, _ = rig_forward(rig, L)
    hc0 = (pos0[:, i("左足")] + pos0[:, i("右足")]) / 2
    trans = np.zeros((F, B, 3))
    trans[:, i("センター")] = target_hc - hc0

    vmd = VmdMotion(model_name=model_name)
    tol = reduce_error

    def add(bone: str, rot: np.ndarray | None, pos: np.ndarray | None) -> None:
        rot_m = to_mmd_rotation(rot) if rot is not None else None
        pos_m = to_mmd_position(pos) if pos is not None else None
        keep = np.arange(F) if tol is None else reduce_keys(rot, pos, tol, reduce_position_cm)
        vmd.add_bone_keys(bone, keep, None if pos_m is None else pos_m[keep], None if rot_m is None else rot_m[keep])

    add("センター", None, trans[:, i("センター")])
    for b in range(B):
        if mapped[b]:
            add(rig.bones[b], L[:, b], None)
    if leg_ik == "off":
        vmd.ik = [ik_off_key(0)]
    else:
        pos, _ = rig_forward(rig, L, trans)
        rest = rig.rest_positions
        for s in "左右":
            ankle, toe = pos[:, i(f"{s}足首")], pos[:, i(f"{s}つま先")]
            add(f"{s}足ＩＫ", None, ankle - rest[i(f"{s}足首")])
            add(f"{s}つま先ＩＫ", None, (toe - ankle) - (rest[i(f"{s}つま先")] - rest[i(f"{s}足首")]))
        vmd.ik = [IkKey(0, True, [(n, True) for n in IK_BONES])]
    return vmd


def _floor(P: np.ndarray, skeleton: Skeleton, bmap: BoneMap, rig: MmdRig, scale: float) -> float:
    """The source floor height (cm): given, or where the lowest ankles sit at the rig's ankle height."""
    if bmap.floor != "ankle":
        return float(bmap.floor)
    ankles = np.concatenate([P[:, skeleton.index(leg[2]), 1] for leg in bmap.legs.values()])
    rig_ankle = np.mean([rig.rest_positions[rig.index(f"{s}足首"), 1] for s in "左右"])
    return float(np.percentile(ankles, 2) - rig_ankle / scale)


# --- import --------------------------------------------------------------------------------------
def _bezier_weight(ctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    """y at x = t of MMD's cubic Bezier from (0, 0) to (1, 1); ctrl (..., 4) = x1, y1, x2, y2 on 0..127."""
    x1, y1, x2, y2 = np.moveaxis(np.asarray(ctrl, dtype=np.float64) / 127.0, -1, 0)

    def bez(a, b, s):
        return 3 * (1 - s) ** 2 * s * a + 3 * (1 - s) * s**2 * b + s**3

    lo = np.zeros_like(t)
    hi = np.ones_like(t)
    for _ in range(30):  # x(s) is monotone for control points in [0, 1]
        mid = (lo + hi) / 2
        below = bez(x1, x2, mid) < t
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return bez(y1, y2, (lo + hi) / 2)


def sample_track(frames: np.ndarray, pos: np.ndarray, rot: np.ndarray, interp: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A bone's keys at every frame 0..n-1: positions (n, 3) and rotations (n, 4), in MMD axes.

    Between keys the later key's Bezier curves give the weights (X, Y, Z per axis, R for the
    slerp); before the first key and after the last the nearest key holds.
    """
    f = np.arange(n)
    k0 = np.clip(np.searchsorted(frames, f, side="right") - 1, 0, len(frames) - 1)
    k1 = np.minimum(k0 + 1, len(frames) - 1)
    span = (frames[k1] - frames[k0]).astype(np.float64)
    t = np.where(span > 0, (f - frames[k0]) / np.where(span > 0, span, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    ctrl = bezier_points(interp[k1])  # (n, 4 channels, 4)
    w = _bezier_weight(ctrl, t[:, None])  # (n, 4)
    p = pos[k0] + (pos[k1] - pos[k0]) * w[:, :3]
    r = Q.slerp(_xyzw_to_wxyz(rot[k0]), _xyzw_to_wxyz(rot[k1]), w[:, 3:4])
    return p, np.concatenate([r[:, 1:], r[:, :1]], axis=-1)


def _xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    q = np.concatenate([q[..., 3:], q[..., :3]], axis=-1)
    zero = np.linalg.norm(q, axis=-1, keepdims=True) < 1e-12
    return Q.normalize(np.where(zero, [1.0, 0.0, 0.0, 0.0], q))  # an all-zero key reads as no rotation


def _ik_states(vmd: VmdMotion, name: str, n: int) -> np.ndarray:
    on = np.ones(n, dtype=bool)
    for key in sorted(vmd.ik, key=lambda k: k.frame):
        for ik_name, state in key.states:
            if ik_name == name and key.frame < n:
                on[key.frame :] = state
    return on


def vmd_pose(vmd: VmdMotion, rig: MmdRig | None = None, *, solve_ik: bool = True, n_frames: int | None = None) -> dict:
    """Every frame of a VMD on the rig: {"positions" (F, B, 3) cm, "globals" (F, B, 4), "locals",
    "trans", "rig", "ignored" (bone names in the file the rig lacks), "ik_solved" (bone names)}.

    Project axes and centimetres. With solve_ik, legs whose 足ＩＫ bone is keyed and on are solved
    analytically (hip, knee, ankle in the knee's plane) and 足首 aims at つま先ＩＫ where that is
    keyed and on.
    """
    from csgn_core.motion.footclean import two_bone_ik

    rig = rig or standard_rig()
    F = vmd.n_frames if n_frames is None else int(n_frames)
    if F <= 0:
        raise CSGNError("the VMD file has no bone keys")
    if F > MAX_IMPORT_FRAMES:
        raise CSGNError(f"the VMD file keys frame {F - 1}; importing handles up to {MAX_IMPORT_FRAMES} frames")
    B = len(rig.bones)
    L = Q.identity((F, B))
    trans = np.zeros((F, B, 3))
    tracks = vmd.bone_tracks()
    ignored = [n for n in tracks if n not in rig.bones]
    for name, (frames, pos, rot, interp) in tracks.items():
        if name not in rig.bones:
            continue
        p, r = sample_track(frames, pos, rot, interp, F)
        b = rig.index(name)
        L[:, b] = Q.normalize(from_mmd_rotation(r))
        trans[:, b] = from_mmd_position(p)
    pos, G = rig_forward(rig, L, trans)
    solved = []
    if solve_ik:
        i = rig.index
        for s in "左右":
            ik = f"{s}足ＩＫ"
            on = _ik_states(vmd, ik, F)
            if ik not in tracks or not on.any():
                continue
            hip, knee, ankle = i(f"{s}足"), i(f"{s}ひざ"), i(f"{s}足首")
            hint = Q.rotate(G[:, i("下半身")], np.broadcast_to([1.0, 0.0, 0.0], (F, 3)))
            new_knee, new_ankle = two_bone_ik(pos[:, hip], pos[:, knee], pos[:, ankle], pos[:, i(ik)], hint)
            d1 = Q.between(pos[:, knee] - pos[:, hip], new_knee - pos[:, hip])
            shin = Q.rotate(d1, pos[:, ankle] - pos[:, knee])
            d2 = Q.between(shin, new_ankle - new_knee)
            g_hip = Q.multiply(d1, G[:, hip])
            g_knee = Q.multiply(d2, Q.multiply(d1, G[:, knee]))
            g_ankle = Q.multiply(g_knee, L[:, ankle])
            toe_ik = f"{s}つま先ＩＫ"
            toe_on = _ik_states(vmd, toe_ik, F) & on
            if toe_ik in tracks and toe_on.any():
                aim = Q.between(Q.rotate(g_ankle, np.broadcast_to(rig.tails[ankle], (F, 3))), pos[:, i(toe_ik)] - new_ankle)
                g_ankle = np.where(toe_on[:, None], Q.multiply(aim, g_ankle), g_ankle)
            parent = rig.skeleton.parents[hip]
            new_l_hip = Q.multiply(Q.conjugate(G[:, parent]), g_hip)
            new_l_knee = Q.multiply(Q.conjugate(g_hip), g_knee)
            new_l_ankle = Q.multiply(Q.conjugate(g_knee), g_ankle)
            L[:, hip] = np.where(on[:, None], new_l_hip, L[:, hip])
            L[:, knee] = np.where(on[:, None], new_l_knee, L[:, knee])
            L[:, ankle] = np.where(on[:, None], new_l_ankle, L[:, ankle])
            solved.append(ik)
        if solved:
            pos, G = rig_forward(rig, L, trans)
    return {"positions": pos, "globals": G, "locals": L, "trans": trans, "rig": rig, "ignored": ignored,
            "ik_solved": solved}


def _import_plan(bmap: BoneMap, skeleton: Skeleton, rig: MmdRig) -> dict[int, tuple[str, int | None, object]]:
    """Per target joint: (kind, rig bone, anchor). kind "bone": the joint sits at the anchor plus its
    rest offset from the anchor turned by the bone; the anchor is "hip_center" or a tuple of joint
    indices (their mean). kind "floor": below the hip centre on the floor."""
    plan = {}
    for j, p in enumerate(skeleton.parents):
        name = skeleton.joints[j]
        rule = bmap.imports.get(name)
        if isinstance(rule, str):
            if p < 0:
                raise CSGNError(f"bone map {bmap.name!r}: the root {name!r} needs an import anchor (\"hip_center\")")
            plan[j] = ("bone", rig.index(rule), (p,))
        elif isinstance(rule, dict):
            if rule.get("floor") is True:
                plan[j] = ("floor", None, None)
            else:
                anchor = rule["anchor"]
                if anchor != "hip_center":
                    names = [anchor] if isinstance(anchor, str) else list(anchor)
                    bad = [a for a in names if a not in skeleton.joints]
                    if bad:
                        raise CSGNError(f"bone map {bmap.name!r}: import anchor {bad[0]!r} is not a joint of {skeleton.name!r}")
                    anchor = tuple(skeleton.index(a) for a in names)
                plan[j] = ("bone", rig.index(rule["bone"]), anchor)
        elif p >= 0:
            parent = skeleton.joints[p]
            exact = [b for b, r in bmap.bones.items() if r.src_from == (parent,) and r.src_to == (name,)]
            loose = [b for b, r in bmap.bones.items() if parent in r.src_from and name in r.src_to]
            if exact or loose:
                plan[j] = ("bone", rig.index((exact or loose)[0]), (p,))
    missing = [skeleton.joints[j] for j in range(skeleton.n_joints) if j not in plan]
    if missing:
        raise CSGNError(
            f"bone map {bmap.name!r} cannot place joint(s) {', '.join(missing)} of {skeleton.name!r} on import; "
            "give them an entry in its \"import\" section"
        )
    return plan


def vmd_to_motion(
    vmd: VmdMotion,
    target: str | Skeleton = "tang23",
    *,
    bone_map: str | Path | dict | BoneMap | None = None,
    rotations: bool = False,
    fps: float | None = None,
    target_rest: dict | str | Path | None = None,
    solve_ik: bool = True,
) -> Motion:
    """A VMD motion as a motion on a project skeleton (a named skeleton or a Skeleton).

    The VMD plays on the standard rig (or ``target_rest``, the model it was made for); every target
    bone then takes the rig bone's turn from the target's own rest pose and keeps its rest length,
    and the hip centre follows the rig's, scaled by the leg-length ratio. Returns a position motion
    at 30 fps (``fps`` resamples), or with ``rotations`` a rotation motion solved from it
    (positions_to_rotations on the target's own rest offsets). See the module docstring for what
    the round trip loses; meta["ignored_bones"] lists the file's bones the rig lacks.
    """
    from csgn_core.motion.solve import positions_to_rotations

    skeleton = load_named(target) if isinstance(target, str) else target
    bmap = load_bone_map(bone_map) if bone_map is not None else bone_map_for(skeleton)
    _check_map(bmap, skeleton)
    rig = standard_rig(target_rest)
    pose = vmd_pose(vmd, rig, solve_ik=solve_ik)
    pos, G = pose["positions"], pose["globals"]
    F = pos.shape[0]

    rest = skeleton.rest_positions()  # (J, 3)
    G_rest, _ = retarget_globals(rest[None], skeleton, bmap, rig, Q.identity((1, skeleton.n_joints)))
    R = Q.multiply(G, Q.conjugate(G_rest))  # (F, B, 4): target rest frame -> posed
    legs = [np.linalg.norm(rest[skeleton.index(k)] - rest[skeleton.index(h)]) + np.linalg.norm(rest[skeleton.index(a)] - rest[skeleton.index(k)])
            for h, k, a in bmap.legs.values()]
    scale = float(np.mean(legs)) / rig.leg_length()
    i = rig.index
    hc = scale * (pos[:, i("左足")] + pos[:, i("右足")]) / 2  # (F, 3)
    rest_hc = rest[[skeleton.index(n) for n in bmap.hip_center]].mean(0)

    plan = _import_plan(bmap, skeleton, rig)
    out = np.full((F, skeleton.n_joints, 3), np.nan)
    done = np.zeros(skeleton.n_joints, dtype=bool)
    for _ in range(skeleton.n_joints + 1):
        progress = False
        for j, (kind, b, anchor) in plan.items():
            if done[j]:
                continue
            if kind == "floor":
                out[:, j] = hc * np.array([1.0, 0.0, 1.0])
            elif anchor == "hip_center":
                out[:, j] = hc + Q.rotate(R[:, b], np.broadcast_to(rest[j] - rest_hc, (F, 3)))
            elif all(done[a] for a in anchor):
                a = list(anchor)
                base, rest_base = out[:, a].mean(1), rest[a].mean(0)
                out[:, j] = base + Q.rotate(R[:, b], np.broadcast_to(rest[j] - rest_base, (F, 3)))
            else:
                continue
            done[j] = progress = True
        if done.all() or not progress:
            break
    if not done.all():
        left = ", ".join(skeleton.joints[j] for j in np.nonzero(~done)[0])
        raise CSGNError(f"bone map {bmap.name!r}: import rules never reach joint(s) {left} (anchor them to a placed joint or the hip centre)")
    meta = {"format": "vmd", "model_name": vmd.model_name, "ignored_bones": pose["ignored"],
            "ik_solved": pose["ik_solved"], "bone_map": bmap.name}
    motion = Motion(skeleton, FPS, joint_positions=out, meta=meta)
    if fps is not None and abs(fps - FPS) > 1e-9:
        motion = resample(motion, fps)
    if rotations:
        motion = positions_to_rotations(motion, fit_rest=False)
    return motion


# --- files ---------------------------------------------------------------------------------------
def export_vmd(motion: Motion, path: str | Path, **options) -> Path:
    """Retarget ``motion`` (motion_to_vmd options) and write it as a VMD file atomically; returns the path."""
    from csgn_core.io.vmd import write_vmd

    return write_vmd(motion_to_vmd(motion, **options), path)


def import_vmd(path: str | Path, target: str | Skeleton = "tang23", **options) -> Motion:
    """Read a VMD file (also inside a zip) as a motion on ``target`` (vmd_to_motion options)."""
    from csgn_core.io.vmd import read_vmd

    motion = vmd_to_motion(read_vmd(path), target, **options)
    motion.meta["source"] = str(path)
    return motion


# --- checks --------------------------------------------------------------------------------------
def direction_errors(
    motion: Motion,
    vmd: VmdMotion,
    *,
    bone_map: str | Path | dict | BoneMap | None = None,
    target_rest: dict | str | Path | None = None,
) -> dict[str, float]:
    """Mean angle (degrees) between each mapped MMD bone, by forward kinematics of the VMD on the
    rig (no IK), and the source direction it was retargeted from (the motion at 30 fps)."""
    bmap = load_bone_map(bone_map) if bone_map is not None else bone_map_for(motion.skeleton)
    rig = standard_rig(target_rest)
    m = resample(motion, FPS) if abs(motion.fps - FPS) > 1e-9 else motion
    P = m.positions
    pose = vmd_pose(vmd, rig, solve_ik=False)
    G = pose["globals"]
    F = min(len(P), len(G))
    out = {}
    for bone, rule in bmap.bones.items():
        b = rig.index(bone)
        src = _mean(P[:F], m.skeleton, rule.src_to) - _mean(P[:F], m.skeleton, rule.src_from)
        got = Q.rotate(G[:F, b], np.broadcast_to(rig.tails[b], (F, 3)))
        cos = np.sum(_unit(src) * _unit(got), -1)
        out[bone] = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean())
    return out
