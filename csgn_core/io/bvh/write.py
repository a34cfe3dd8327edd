"""A rotation Motion written as a BVH file (Euler channels in a chosen order, ZXY by default; the root
also carries its translation), atomically.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.io.atomic import write_text_atomic
from csgn_core.io.bvh.read import TO_Y_UP
from csgn_core.io.bvh.syntax import KEYWORDS
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.ops import resample
from csgn_core.motion.skeleton import Skeleton


# --- writing -------------------------------------------------------------------------------------
def write_bvh(
    motion: Motion,
    path: str | Path,
    *,
    fps: float | None = None,
    order: str = "ZXY",
    up: str = "y",
    scale: float = 1.0,
) -> Path:
    """Write a rotation motion as BVH: the root with 6 channels, every other joint with 3.

    ``order`` is the rotation channel order ("ZXY" means R = Rz Rx Ry), ``up`` the file's up axis
    (pass ``motion.meta["up"]`` to restore a z-up file's axes), ``scale`` the file units per
    centimetre (0.01 writes metres), ``fps`` resamples first when it differs from the motion's.
    Joints are written depth first, so a skeleton listed in another topological order comes back
    in that order. The file is replaced atomically.
    """
    if not motion.has_rotations:
        raise CSGNError(
            f"{path}: BVH stores joint rotations, and this motion holds joint positions only; "
            f"solve rotations first (inverse kinematics), then write the result"
        )
    order = str(order).upper()
    if len(order) != 3 or set(order) != set("XYZ"):
        raise ValueError(f"order must list X, Y and Z once each, such as 'ZXY', got {order!r}")
    if up not in TO_Y_UP:
        raise ValueError(f"up must be 'x', 'y' or 'z', got {up!r}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    if fps is not None and abs(float(fps) - motion.fps) > 1e-9:
        motion = resample(motion, float(fps))
    if motion.n_frames == 0:
        raise CSGNError(f"{path}: the motion has no frames")
    if not (np.all(np.isfinite(motion.rotations)) and np.all(np.isfinite(motion.root))):
        raise CSGNError(f"{path}: the motion holds NaN or infinite values")

    sk = motion.skeleton
    back = TO_Y_UP[up].T  # y-up project axes -> the file's axes
    offsets = sk.offsets @ back.T * scale  # (J, 3)
    root = motion.root @ back.T * scale  # (F, 3)
    q = Q.normalize(motion.rotations).copy()
    q[..., 1:] = q[..., 1:] @ back.T
    # Unwrapping keeps the curves continuous; whole turns do not change any rotation.
    euler = np.unwrap(Q.to_euler(q, order), period=360.0, axis=0)  # (F, J, 3)

    J = sk.n_joints
    names = _file_names(sk.joints)
    pos_digits = 6 + max(0, int(np.ceil(-np.log10(scale))))
    rot_channels = " ".join(f"{a}rotation" for a in order)
    order_dfs: list[int] = []
    out = ["HIERARCHY"]
    for event, j, depth in _depth_first(sk):
        pad = "  " * depth
        if event == "close":
            if not sk.children(j):
                if j in sk.end_sites:
                    tip = np.asarray(sk.end_sites[j]) @ back.T * scale
                else:
                    tip = offsets[j] * 0.25  # a short tip along the bone, so viewers draw the last bone
                out += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {_vec(tip, pos_digits)}", f"{pad}  }}"]
            out.append(f"{pad}}}")
            continue
        order_dfs.append(j)
        if j == 0:
            # The root's place lives in its channels; a zero OFFSET reads the same in every tool.
            out += [f"ROOT {names[0]}", "{", "  OFFSET 0 0 0",
                    f"  CHANNELS 6 Xposition Yposition Zposition {rot_channels}"]
        else:
            out += [f"{pad}JOINT {names[j]}", f"{pad}{{", f"{pad}  OFFSET {_vec(offsets[j], pos_digits)}",
                    f"{pad}  CHANNELS 3 {rot_channels}"]

    F = motion.n_frames
    cols = np.concatenate([root, euler[:, order_dfs].reshape(F, -1)], axis=1)  # (F, 6 + 3(J-1))
    out += ["MOTION", f"Frames: {F}", f"Frame Time: {1.0 / motion.fps:.10g}"]
    row = " ".join([f"%.{pos_digits}f"] * 3 + ["%.6f"] * (3 * J))
    out.extend(row % tuple(r) for r in cols.tolist())
    try:
        return write_text_atomic(Path(path), "\n".join(out) + "\n")
    except OSError as e:
        raise CSGNError(f"{path}: cannot write the file ({e.strerror or e})") from None


def _depth_first(sk: Skeleton):
    """("open" | "close", joint, depth) events of a depth-first walk, children in index order."""
    children = [[] for _ in range(sk.n_joints)]
    for j, p in enumerate(sk.parents):
        if p >= 0:
            children[p].append(j)
    stack = [(0, 0, False)]
    while stack:
        j, depth, done = stack.pop()
        if done:
            yield "close", j, depth
            continue
        yield "open", j, depth
        stack.append((j, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(children[j]))


def _vec(v: np.ndarray, digits: int) -> str:
    return " ".join(_fmt(x, digits) for x in v)


def _fmt(v: float, digits: int) -> str:
    s = f"{v:.{digits}f}"
    return "0" if float(s) == 0.0 else s


def _file_names(joints: tuple[str, ...]) -> list[str]:
    """Joint names as BVH can hold them: no spaces or braces, unique."""
    out: list[str] = []
    seen: set[str] = set()
    for k, n in enumerate(joints):
        s = re.sub(r"[\s{}]+", "_", n).strip("_") or f"joint{k}"
        base, i = s, 1
        while s in seen or s.upper() in KEYWORDS:
            s = f"{base}_{i}"
            i += 1
        seen.add(s)
        out.append(s)
    return out
