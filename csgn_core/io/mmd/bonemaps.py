"""Bone maps (resources/bonemaps): which source joints define each MMD bone's direction and twist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.io.mmd.rig import BONE_TREE, REST_DIRECTIONS, load_json_spec
from csgn_core.motion.skeleton import Skeleton
from csgn_core.paths import RESOURCES


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
        if value not in REST_DIRECTIONS:
            raise CSGNError(f"{where}: unknown direction {value!r} (use {', '.join(REST_DIRECTIONS)} or [x, y, z])")
        return REST_DIRECTIONS[value]
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
    d = load_json_spec(spec, "bone map")
    where = f"bone map {d.get('name', name)!r}"
    rig_bones = {n for n, _, _ in BONE_TREE}
    bones_d = d.get("bones")
    if not isinstance(bones_d, dict) or not bones_d:
        raise CSGNError(f"{where}: 'bones' must map MMD bone names to rules")
    bones: dict[str, BoneRule] = {}
    for bone, rule in bones_d.items():
        w = f"{where}, bone {bone!r}"
        if bone not in rig_bones:
            raise CSGNError(f"{w}: not a standard MMD bone (known: {', '.join(n for n, _, t in BONE_TREE if t)})")
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
    order = [n for n, _, _ in BONE_TREE]
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


def check_map(bmap: BoneMap, skeleton: Skeleton) -> None:
    missing = sorted(bmap.joints() - set(skeleton.joints))
    if missing:
        raise CSGNError(f"bone map {bmap.name!r} names joints that skeleton {skeleton.name!r} lacks: {', '.join(missing)}")
