"""Retarget motions from a foreign skeleton onto a model's skeleton through joint maps.

A joint map (``resources/jointmaps/NAME.json``, user-editable) names, for one skeleton naming
convention, which joints mark a set of body landmarks shared by all maps (``pelvis``, ``l_knee``,
``head``...); a landmark listing several joints is their mean (Tang's head is the middle of its two
head points). Maps match a skeleton by its joint names; any namespace prefix (``mixamorig:``) is
ignored and case does not matter.

The retarget works on positions, so it is indifferent to rest poses and bone axes:

1. source joint positions (forward kinematics) -> landmark positions;
2. everything scaled about the floor origin by the leg-length ratio (target rest legs over the
   source's median legs), so strides and the root path shrink or grow with the body;
3. target joints placed: mapped ones on their landmark; a joint between two placed joints of a
   chain (a spine joint the source lacks) by its rest fraction along the chain; any other (a heel,
   a hand, Tang's side head points) rigidly from its nearest placed ancestor, turned by the
   rotation that best takes that ancestor's placed neighbours from rest to now; a ground-node root
   sits its rest offset below the pelvis;
4. ``positions_to_rotations`` on the target skeleton with its own bone lengths.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton
from csgn_core.paths import RESOURCES

# Landmarks a map must cover for a skeleton to be retargeted at all.
CORE = ("pelvis", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_shoulder", "r_shoulder",
        "l_elbow", "r_elbow", "l_wrist", "r_wrist")
# Landmarks a source may lack that another one stands in for (the mean of the listed ones).
FALLBACK = {"l_head": ("head",), "r_head": ("head",), "head": ("l_head", "r_head"),
            "neck": ("l_shoulder", "r_shoulder")}


class RetargetError(CSGNError):
    """A skeleton no joint map fits, or a map file that cannot be read."""


def _key(name: str) -> str:
    return name.rsplit(":", 1)[-1].strip().lower()


@dataclass(frozen=True)
class JointMap:
    name: str
    landmarks: dict  # landmark -> tuple of joint names
    path: str = ""

    @classmethod
    def from_dict(cls, d: dict, path: str = "") -> "JointMap":
        try:
            lm = {str(k): tuple(str(x) for x in ([v] if isinstance(v, str) else v)) for k, v in d["landmarks"].items()}
            return cls(str(d.get("name", Path(path).stem)), lm, path)
        except (KeyError, TypeError, AttributeError) as e:
            raise RetargetError(f"{path or 'joint map'}: not a joint map ({e}); expected "
                                f'{{"name": ..., "landmarks": {{"pelvis": ["Hips"], ...}}}}') from None

    def resolve(self, skeleton: Skeleton) -> dict[str, list[int]]:
        """landmark -> joint indices in ``skeleton`` (landmarks whose joints are all present)."""
        index = {_key(j): i for i, j in enumerate(skeleton.joints)}
        out = {}
        for lm, names in self.landmarks.items():
            idx = [index.get(_key(n)) for n in names]
            if names and all(i is not None for i in idx):
                out[lm] = idx
        return out

    def score(self, skeleton: Skeleton) -> float:
        """Fraction of the map's landmarks found in the skeleton (0 if a core landmark is missing)."""
        found = self.resolve(skeleton)
        have = set(found)
        for lm, alts in FALLBACK.items():
            if lm not in have and all(a in have for a in alts):
                have.add(lm)
        if not all(c in have for c in CORE):
            return 0.0
        return len(found) / max(1, len(self.landmarks))


def jointmap_dir() -> Path:
    return RESOURCES / "jointmaps"


def load_joint_map(path: str | Path) -> JointMap:
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RetargetError(f"{p}: unreadable joint map ({e})") from None
    return JointMap.from_dict(d, str(p))


def joint_maps() -> list[JointMap]:
    """The bundled (and user-added) maps in resources/jointmaps/."""
    return [load_joint_map(p) for p in sorted(jointmap_dir().glob("*.json"))]


def find_joint_map(skeleton: Skeleton, maps: list[JointMap] | None = None) -> JointMap:
    """The map that best fits the skeleton's joint names; a one-line RetargetError if none does."""
    maps = joint_maps() if maps is None else maps
    best = max(maps, key=lambda m: m.score(skeleton), default=None)
    if best is None or best.score(skeleton) <= 0:
        sample = ", ".join(skeleton.joints[:4])
        raise RetargetError(f"skeleton {skeleton.name!r} ({skeleton.n_joints} joints: {sample}, ...) has no joint "
                            f"map; add one to {jointmap_dir()} (see docs/sampling.md)")
    return best


# --- the retarget ------------------------------------------------------------------------------------------
def landmark_positions(motion: Motion, jmap: JointMap) -> dict[str, np.ndarray]:
    """landmark -> (F, 3) positions of a motion, fallbacks filled in."""
    P = motion.positions
    out = {lm: P[:, idx].mean(axis=1) for lm, idx in jmap.resolve(motion.skeleton).items()}
    for lm, alts in FALLBACK.items():
        if lm not in out and all(a in out for a in alts):
            out[lm] = np.mean([out[a] for a in alts], axis=0)
    return out


def _leg_length(get) -> float:
    total = 0.0
    for side in "lr":
        total += get(f"{side}_hip", f"{side}_knee") + get(f"{side}_knee", f"{side}_ankle")
    return total / 2


def _fit(rest: np.ndarray, now: np.ndarray) -> np.ndarray:
    """(F, 4) rotations taking rest vectors (n, 3) onto now (F, n, 3), longer vectors counting more."""
    return Q.fit_rotations(rest, now, np.linalg.norm(rest, axis=-1) * np.linalg.norm(now, axis=-1))


def target_positions(motion: Motion, target: Skeleton, source_map: JointMap | None = None,
                     target_map: JointMap | None = None) -> np.ndarray:
    """(F, J, 3) positions for the target skeleton's joints from a source motion (steps 1-3)."""
    smap = source_map or find_joint_map(motion.skeleton)
    tmap = target_map or find_joint_map(target)
    src = landmark_positions(motion, smap)
    F, J = motion.n_frames, target.n_joints
    rest = target.rest_positions()
    tl = tmap.resolve(target)
    joint_lm = {idx[0]: lm for lm, idx in tl.items() if len(idx) == 1}

    def src_len(a, b):
        return float(np.median(np.linalg.norm(src[a] - src[b], axis=-1)))

    def rest_len(a, b):
        return float(np.linalg.norm(rest[tl[a][0]] - rest[tl[b][0]]))

    try:
        ratio = _leg_length(rest_len) / max(_leg_length(src_len), 1e-6)
    except KeyError:
        ratio = 1.0
    pos = np.full((F, J, 3), np.nan)
    known = np.zeros(J, bool)
    for j, lm in joint_lm.items():
        if lm in src:
            pos[:, j] = src[lm] * ratio
            known[j] = True
    # "pelvis" means different points on different rigs (Tang's waist sits 14 cm above its hip
    # joints, CMU's hip joint level with them): place the target's pelvis by its own rest offset
    # from the hip midpoint, turned with the hips-to-shoulders frame.
    need = ("l_hip", "r_hip", "l_shoulder", "r_shoulder", "pelvis")
    if all(k in tl and len(tl[k]) == 1 for k in need) and all(k in src for k in need[:4]):
        ti = {k: tl[k][0] for k in need}
        rmid = (rest[ti["l_hip"]] + rest[ti["r_hip"]]) / 2
        rup = (rest[ti["l_shoulder"]] + rest[ti["r_shoulder"]]) / 2 - rmid
        nmid = (src["l_hip"] + src["r_hip"]) / 2 * ratio
        nup = (src["l_shoulder"] + src["r_shoulder"]) / 2 * ratio - nmid
        R = _fit(np.stack([rest[ti["l_hip"]] - rest[ti["r_hip"]], rup]),
                 np.stack([(src["l_hip"] - src["r_hip"]) * ratio, nup], axis=1))
        pos[:, ti["pelvis"]] = nmid + Q.rotate(R, np.broadcast_to(rest[ti["pelvis"]] - rmid, (F, 3)))
        known[ti["pelvis"]] = True
    parents = target.parents
    children = [target.children(j) for j in range(J)]
    # A ground-node root (one child, the pelvis): its rest offset below the pelvis.
    if joint_lm.get(0) == "ground" and len(children[0]) == 1 and known[children[0][0]]:
        c = children[0][0]
        pos[:, 0] = pos[:, c] - target.offsets[c]
        known[0] = True
    if not known[0]:
        raise RetargetError(f"joint map {tmap.name!r}: the root joint {target.joints[0]!r} has no landmark the "
                            f"source provides")

    def mapped_descendant(j):
        """Nearest source-mapped joint below j along single chains (breadth first)."""
        frontier = list(children[j])
        while frontier:
            hit = [c for c in frontier if known[c]]
            if hit:
                return hit[0]
            frontier = [g for c in frontier for g in children[c]]
        return None

    for j in range(1, J):
        if known[j]:
            continue
        a = parents[j]
        while not known[a]:
            a = parents[a]
        d = mapped_descendant(j)
        if d is not None:
            # Rest fraction of j along the chain a -> d (j lies on it: d is below j).
            path, k = [], d
            while k != a:
                path.append(k)
                k = parents[k]
            path = path[::-1]  # a's child .. d
            seg = np.array([np.linalg.norm(rest[k] - rest[parents[k]]) for k in path])
            t = seg[:path.index(j) + 1].sum() / max(seg.sum(), 1e-9)
            pos[:, j] = pos[:, a] + (pos[:, d] - pos[:, a]) * t
        else:
            nb = [k for k in ([parents[a]] if parents[a] >= 0 else []) + children[a] if known[k] and k != j]
            if nb:
                R = _fit(rest[nb] - rest[a], pos[:, nb] - pos[:, a][:, None])
                pos[:, j] = pos[:, a] + Q.rotate(R, np.broadcast_to(rest[j] - rest[a], (F, 3)))
            else:
                pos[:, j] = pos[:, a] + (rest[j] - rest[a])
        known[j] = True
    return pos


def to_model(motion: Motion, model_skeleton: Skeleton, *, source_map: JointMap | None = None,
             target_map: JointMap | None = None, smooth: float = 0.0) -> Motion:
    """The motion on ``model_skeleton`` (its bone lengths), same frames and fps.

    A motion already on the model's skeleton (same joints and parents) comes back unchanged.
    """
    from csgn_core.motion.solve import positions_to_rotations

    if motion.skeleton.same_topology(model_skeleton) and motion.has_rotations:
        return motion
    P = target_positions(motion, model_skeleton, source_map, target_map)
    if not np.isfinite(P).all():
        raise RetargetError(f"retargeting {motion.skeleton.name!r} to {model_skeleton.name!r} gave non-finite positions")
    pm = Motion.from_positions(model_skeleton, P, motion.fps, **motion.meta)
    out = positions_to_rotations(pm, model_skeleton, smooth=smooth, fit_rest=False)
    out.meta["retargeted_from"] = motion.skeleton.name
    return out
