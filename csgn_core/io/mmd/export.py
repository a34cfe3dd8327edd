"""Project motion to VMD keys through global bone directions, with key reduction.

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
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.io.mmd.bonemaps import BoneMap, bone_map_for, check_map, load_bone_map
from csgn_core.io.mmd.retarget import joint_mean, leg_length, local_keys, retarget_globals
from csgn_core.io.mmd.rig import FPS, MmdRig, rig_forward, standard_rig, to_mmd_position, to_mmd_rotation
from csgn_core.io.vmd import IK_BONES, IkKey, VmdMotion, ik_off_key
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, global_rotations
from csgn_core.motion.ops import resample
from csgn_core.motion.skeleton import Skeleton


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
    check_map(bmap, motion.skeleton)
    rig = standard_rig(target_rest)
    if motion.n_frames == 0:
        raise CSGNError("the motion has no frames")
    m = resample(motion, fps) if abs(motion.fps - fps) > 1e-9 else motion
    P = np.asarray(m.positions, dtype=np.float64)
    if not np.isfinite(P).all():
        raise CSGNError("the motion holds NaN or infinite positions; fill or drop those frames first")
    src_globals = global_rotations(m.skeleton, m.rotations) if m.has_rotations else None
    G, mapped = retarget_globals(P, m.skeleton, bmap, rig, src_globals)
    L = local_keys(rig, G)
    F, B = L.shape[:2]

    # Translation: the rig's hip centre goes to the scaled source hip centre.
    scale = rig.leg_length() / max(leg_length(P, m.skeleton, bmap), 1e-9)
    hc_src = joint_mean(P, m.skeleton, bmap.hip_center)
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


# --- files ---------------------------------------------------------------------------------------
def export_vmd(motion: Motion, path: str | Path, **options) -> Path:
    """Retarget ``motion`` (motion_to_vmd options) and write it as a VMD file atomically; returns the path."""
    from csgn_core.io.vmd import write_vmd

    return write_vmd(motion_to_vmd(motion, **options), path)


