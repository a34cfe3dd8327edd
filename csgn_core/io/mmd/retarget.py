"""The retargeting core both directions share: an MMD bone's global rotation from source directions
and twist cues, local keys from globals, and leg lengths for scaling the translation."""
from __future__ import annotations

import numpy as np

from csgn_core.io.mmd.bonemaps import BoneMap
from csgn_core.io.mmd.rig import MmdRig
from csgn_core.motion import quaternion as Q
from csgn_core.motion.skeleton import Skeleton

_TWIST_PRIOR = 0.05  # how strongly a bone keeps its parent's turn against weak twist cues


# --- retargeting core ----------------------------------------------------------------------------
def joint_mean(P: np.ndarray, skeleton: Skeleton, names: tuple[str, ...]) -> np.ndarray:
    return P[:, [skeleton.index(n) for n in names]].mean(axis=1)


def unit_vectors(v: np.ndarray) -> np.ndarray:
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
        v = joint_mean(P, skeleton, rule.src_to) - joint_mean(P, skeleton, rule.src_from)  # (F, 3)
        rest = np.broadcast_to(rig.tails[b], (F, 3))
        G0 = Q.multiply(Q.between(Q.rotate(Gp, rest), v), Gp)
        if rule.twist:
            a = unit_vectors(v)
            s = np.zeros(F)
            c = np.zeros(F)
            prior = 0.0
            for cue in rule.twist:
                if cue.joint is not None:
                    if src_globals is None:
                        continue
                    y = Q.rotate(src_globals[:, skeleton.index(cue.joint)], np.broadcast_to(cue.axis, (F, 3)))
                else:
                    y = joint_mean(P, skeleton, cue.src_to) - joint_mean(P, skeleton, cue.src_from)
                y = unit_vectors(y)
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


def local_keys(rig: MmdRig, G: np.ndarray) -> np.ndarray:
    L = np.empty_like(G)
    for b, p in enumerate(rig.skeleton.parents):
        L[:, b] = G[:, b] if p < 0 else Q.multiply(Q.conjugate(G[:, p]), G[:, b])
    return Q.make_continuous(L)


def leg_length(P: np.ndarray, skeleton: Skeleton, bmap: BoneMap) -> float:
    total = []
    for hip, knee, ankle in bmap.legs.values():
        h, k, a = (P[:, skeleton.index(n)] for n in (hip, knee, ankle))
        total.append(np.linalg.norm(k - h, axis=-1) + np.linalg.norm(a - k, axis=-1))
    return float(np.mean(total))
