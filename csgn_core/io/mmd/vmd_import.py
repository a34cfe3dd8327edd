"""VMD keys back to project motion on any target skeleton.

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

from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.mmd.bonemaps import BoneMap, bone_map_for, check_map, load_bone_map
from csgn_core.io.mmd.retarget import joint_mean, retarget_globals, unit_vectors
from csgn_core.io.mmd.rig import FPS, MmdRig, from_mmd_position, from_mmd_rotation, rig_forward, standard_rig
from csgn_core.io.vmd import VmdMotion, bezier_points
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.ops import resample
from csgn_core.motion.skeleton import Skeleton, load_named

# 30 minutes at 30 fps. Import is dense (every frame of every bone), so a file keying a frame far
# beyond that (often one corrupt frame number) would take minutes and gigabytes: it is refused.
MAX_IMPORT_FRAMES = 54_000
# Between keys far sparser than frames, each key's Bezier curves are tabulated once on this many
# points and read by linear interpolation (error under 0.3% of the weight on the steepest curves MMD
# allows), so the cost follows the keys, not the last frame number.
_CURVE_POINTS = 1025


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


def key_weights(interp: np.ndarray, k1: np.ndarray, t: np.ndarray, tabulate: bool) -> np.ndarray:
    """(n, 4) Bezier weights (X, Y, Z, R) at times t (n,) of the segments ending at keys k1 (n,);
    ``tabulate``: read each key's curves from a table (sparse keys), else solve every frame."""
    if not tabulate:
        return _bezier_weight(bezier_points(interp[k1]), t[:, None])
    grid = np.linspace(0.0, 1.0, _CURVE_POINTS)
    table = _bezier_weight(bezier_points(interp)[:, :, None, :], grid)  # (K, 4 channels, points)
    x = t * (_CURVE_POINTS - 1)
    i0 = np.minimum(x.astype(np.int64), _CURVE_POINTS - 2)
    frac = (x - i0)[:, None]
    return table[k1, :, i0] * (1 - frac) + table[k1, :, i0 + 1] * frac


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
    w = key_weights(interp, k1, t, tabulate=n > len(frames) * _CURVE_POINTS)  # (n, 4)
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
        raise CSGNError(f"the VMD file keys frame {F - 1} ({(F - 1) / FPS / 60:.1f} minutes at {FPS:g} fps); import "
                        f"takes up to {MAX_IMPORT_FRAMES / FPS / 60:.0f} minutes ({MAX_IMPORT_FRAMES} frames): "
                        "split the motion or remove its late keys in MikuMikuDance")
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
    check_map(bmap, skeleton)
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


def import_vmd(path: str | Path, target: str | Skeleton = "tang23", **options) -> Motion:
    """Read a VMD file (also inside a zip) as a motion on ``target`` (vmd_to_motion options)."""
    from csgn_core.io.vmd import read_vmd

    vmd = read_vmd(path)
    try:
        motion = vmd_to_motion(vmd, target, **options)
    except MotionFileError:
        raise
    except CSGNError as e:  # what the keys hold, said with the file's name
        raise MotionFileError(path, str(e)) from None
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
        src = joint_mean(P[:F], m.skeleton, rule.src_to) - joint_mean(P[:F], m.skeleton, rule.src_from)
        got = Q.rotate(G[:F, b], np.broadcast_to(rig.tails[b], (F, 3)))
        cos = np.sum(unit_vectors(src) * unit_vectors(got), -1)
        out[bone] = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean())
    return out
