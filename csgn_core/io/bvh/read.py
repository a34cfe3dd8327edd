"""BVH motion files read into a rotation Motion, from any hierarchy and channel layout.

Reading keeps the file's own skeleton (joint names, tree, End Sites) and converts to the project's
units and axes: centimetres (times ``scale``), y up, right-handed. A file whose up axis is z (or x)
is turned by one basis change C, applied to everything at once: offsets' = C offsets,
root' = C root, every local rotation R' = C R C^T, so the forward kinematics become C times the
file's. ``up="auto"`` looks at the posed skeleton in a few frames and takes whichever of y and z
the body spans most (x-up files need ``up="x"``); the rest pose alone can mislead, because some
exporters (the CMU iClone set) lie the rest pose down and stand it up again with the root rotation.

Position channels replace a joint's OFFSET, as Blender, MotionBuilder and the Bandai-Namco data
read them. A motion keeps one translation track (the root's), so the reader folds the others:

- position channels that stay constant become the joint's offset (exact);
- when the root has exactly one child and that child's position channels move (Bandai: a ground
  node ``joint_Root`` above the animated ``Hips``), the child's translation moves onto the root
  track, root(t) + R_root(t) (child(t) - child(0)), and the child's offset becomes child(0). Every
  joint except the root itself keeps its exact position; the root (a ground node) follows along;
- any other moving translation is replaced by its mean, which changes the motion: the reader
  records a warning in ``meta["warnings"]``.

The root's own OFFSET is ambiguous when the root also has position channels: most tools ignore it,
but iClone writes the hip height there and small offsets in the channels (52 of the 56 CMU iClone
files, whose figures would otherwise stand a metre below the floor). ``root_offset="auto"`` adds
the OFFSET when that brings the body's lowest point over the clip closer to the floor (height 0),
and replaces it otherwise; ``"add"`` and ``"replace"`` force one reading; ``meta["root_offset"]``
says which was used.

Every bad file raises MotionFileError naming the file and, where known, the line.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from csgn_core.errors import MotionFileError
from csgn_core.io.archive import read_text
from csgn_core.io.bvh.syntax import frame_data, header_tokens, motion_header, parse_hierarchy
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, forward_kinematics
from csgn_core.motion.skeleton import Skeleton

# Basis changes taking a file's up axis onto +y, proper rotations so handedness is kept.
TO_Y_UP = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),  # (x, y, z) -> (x, z, -y)
    "x": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),  # (x, y, z) -> (-y, x, z)
}


# --- reading -------------------------------------------------------------------------------------
def read_bvh(path: str | Path, *, scale: float = 1.0, up: str = "auto", root_offset: str = "auto") -> Motion:
    """Read a BVH file (also through a zip archive) as a rotation Motion on the file's own skeleton.

    ``scale`` multiplies every length in the file (100 for a file in metres); ``up`` is the file's
    up axis ("auto", "y", "z" or "x"). See the module docstring for how position channels and the
    root's OFFSET are read. ``meta`` records the source, the channel layout, the up axis, the scale
    and any warnings.
    """
    text = read_text(path)
    return parse_bvh(text, source=str(path), scale=scale, up=up, name=Path(str(path)).stem, root_offset=root_offset)


def parse_bvh(
    text: str,
    *,
    source: str = "<string>",
    scale: float = 1.0,
    up: str = "auto",
    name: str | None = None,
    root_offset: str = "auto",
) -> Motion:
    """Parse BVH text; ``source`` names it in errors and meta, ``name`` names the skeleton."""
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    if up not in ("auto", "x", "y", "z"):
        raise ValueError(f"up must be 'auto', 'x', 'y' or 'z', got {up!r}")
    if root_offset not in ("auto", "add", "replace"):
        raise ValueError(f"root_offset must be 'auto', 'add' or 'replace', got {root_offset!r}")
    if name is None:
        name = Path(source).stem if source and not source.startswith("<") else "bvh"
    try:
        return _parse(text, source, float(scale), up, name, root_offset)
    except MotionFileError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, ZeroDivisionError, FloatingPointError) as e:
        # A safety net: every check above should have caught bad input with a better message.
        raise MotionFileError(source, f"unexpected parser failure ({type(e).__name__}: {e})") from e


def _parse(text: str, src: str, scale: float, up: str, name: str, root_offset: str) -> Motion:
    text = text.lstrip("\ufeff")
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    lines = text.split("\n")
    if not text.strip():
        raise MotionFileError(src, "empty file")

    tokens, motion_line = header_tokens(lines, src)
    joints = parse_hierarchy(tokens, src, motion_line)
    n_channels = 0
    for j in joints:
        j.first_col = n_channels
        n_channels += len(j.channels)
    if n_channels == 0:
        raise MotionFileError(src, "the hierarchy declares no channels, so there is no motion to read", joints[0].line)

    n_frames, frame_time, data_start, frames_line = motion_header(lines, motion_line, src)
    notes: list[str] = []
    data = frame_data(lines, data_start, n_frames, n_channels, frames_line, joints, src, notes)

    return _build_motion(joints, data, frame_time, src, scale, up, name, root_offset, notes)


def _build_motion(joints, data, frame_time, src, scale, up, name, root_offset, notes) -> Motion:
    F = data.shape[0]
    J = len(joints)
    offsets = np.array([j.offset for j in joints]) * scale  # (J, 3)
    parents = [j.parent for j in joints]
    children = defaultdict(list)
    for k, p in enumerate(parents):
        if p >= 0:
            children[p].append(k)

    # Local rotations, one vectorised Euler conversion per distinct channel order.
    rot = Q.identity((F, J))
    groups: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)
    for k, j in enumerate(joints):
        order = "".join(c[0] for c in j.channels if c.endswith("rotation"))
        if order:
            cols = [j.first_col + i for i, c in enumerate(j.channels) if c.endswith("rotation")]
            groups[order].append((k, cols))
    for order, items in groups.items():
        idx = [k for k, _ in items]
        cols = np.array([c for _, c in items])  # (n, len(order))
        rot[:, idx] = _from_euler(data[:, cols], order)

    # Local translations of joints with position channels (the channels replace the OFFSET).
    trans: dict[int, np.ndarray] = {}
    for k, j in enumerate(joints):
        pos = [(i, c) for i, c in enumerate(j.channels) if c.endswith("position")]
        if pos:
            t = np.repeat(offsets[k][None], F, axis=0)  # (F, 3)
            for i, c in pos:
                t[:, "XYZ".index(c[0])] = data[:, j.first_col + i] * scale
            trans[k] = t

    root = trans.pop(0) if 0 in trans else np.repeat(offsets[0][None], F, axis=0)  # (F, 3)
    root_static = bool(np.ptp(root, axis=0).max() <= _tol(root) and np.ptp(rot[:, 0], axis=0).max() <= 1e-9)
    meta_extra: dict = {}
    for k, t in sorted(trans.items()):
        if np.ptp(t, axis=0).max() <= _tol(t):
            offsets[k] = t[0]
        elif parents[k] == 0 and len(children[0]) == 1:
            # The root is a ground node above the animated joint: exact for every joint but the root.
            root = root + Q.rotate(rot[:, 0], t - t[0])
            offsets[k] = t[0]
            meta_extra["root_carries_translation_of"] = joints[k].name
            if not root_static:
                notes.append(
                    f"root {joints[0].name!r} moves and its only child {joints[k].name!r} has animated "
                    f"position channels: the root track now carries both, so the root joint's own "
                    f"position is no longer the file's (all other joints are exact)"
                )
        else:
            offsets[k] = t.mean(axis=0)
            notes.append(
                f"joint {joints[k].name!r} has animated position channels (range "
                f"{np.ptp(t, axis=0).max():.3g}); a motion keeps one translation track, so its mean offset "
                f"is used and the positions below it change"
            )

    file_root_offset = offsets[0].copy()
    offsets[0] = 0.0
    # The posed body in up to 64 frames spread over the clip, without the root, which may be a
    # ground node trailing the body (see above): it shows the up axis and where the floor is.
    sample = np.unique(np.linspace(0, F - 1, min(F, 64)).round().astype(int))
    tmp = Skeleton(name, [j.name for j in joints], parents, offsets)
    pos = forward_kinematics(tmp, rot[sample], root[sample])  # (S, J, 3)
    if J > 2:
        pos = pos[:, 1:]
    if up == "auto":
        extent = np.median(pos.max(axis=1) - pos.min(axis=1), axis=0)  # (3,)
        file_up = "z" if extent[2] > extent[1] else "y"
    else:
        file_up = up

    root_pos_axes = ["XYZ".index(c[0]) for c in joints[0].channels if c.endswith("position")]
    if root_pos_axes and np.abs(file_root_offset).max() > 1e-9:
        u = "xyz".index(file_up)
        mode = root_offset
        if mode == "auto":
            # Whichever reading lets the body reach the floor (height 0) somewhere in the clip.
            lowest = float(pos[..., u].min())
            shift = file_root_offset[u] if u in root_pos_axes else 0.0
            mode = "add" if abs(lowest + shift) < abs(lowest) else "replace"
        if mode == "add":
            root[:, root_pos_axes] += file_root_offset[root_pos_axes]
        meta_extra["root_offset"] = {
            "offset": [float(v) for v in file_root_offset],
            "applied": "added to the position channels" if mode == "add" else "replaced by the position channels",
        }

    # Basis change to y up.
    C = TO_Y_UP[file_up]
    offsets = offsets @ C.T
    root = root @ C.T
    rot[..., 1:] = rot[..., 1:] @ C.T
    end_sites = {k: tuple(float(v) for v in (j.end_site * scale) @ C.T) for k, j in enumerate(joints)
                 if j.end_site is not None}

    fps = 1.0 / frame_time
    near = round(fps)
    if near >= 1 and abs(fps - near) <= 1e-4 * near:
        fps = float(near)  # Frame Time is written with few digits: 0.0333333 means 30 fps

    names = [j.name for j in joints]
    skeleton = Skeleton(name, names, parents, offsets, lr_pairs=_guess_lr_pairs(names), end_sites=end_sites)
    meta = {
        "source": src,
        "format": "bvh",
        "frame_time": frame_time,
        "channels": [[j.name, list(j.channels)] for j in joints],
        "up": file_up,
        "up_detected": up == "auto",
        "scale": scale,
        **meta_extra,
        "warnings": notes,
    }
    return Motion(skeleton, fps, rotations=rot, root=root, meta=meta)


def _from_euler(degrees: np.ndarray, order: str) -> np.ndarray:
    """quaternion.from_euler, unrolled: each step multiplies by a one-axis quaternion in place.

    About three times faster than the general product on 10,000 frames x 100 joints.
    """
    half = np.radians(degrees) * 0.5  # (..., len(order))
    cos, sin = np.cos(half), np.sin(half)
    shape = degrees.shape[:-1]
    w, v = cos[..., 0].copy(), [np.zeros(shape), np.zeros(shape), np.zeros(shape)]
    v["XYZ".index(order[0])] = sin[..., 0].copy()
    for n, axis in enumerate(order[1:], start=1):
        c, s = cos[..., n], sin[..., n]
        a = "XYZ".index(axis)
        b, d = (a + 1) % 3, (a + 2) % 3
        # q * (c + s e_a): w' = wc - v_a s, v_a' = v_a c + w s, v_b' = v_b c + v_d s, v_d' = v_d c - v_b s
        w, v[a], v[b], v[d] = w * c - v[a] * s, v[a] * c + w * s, v[b] * c + v[d] * s, v[d] * c - v[b] * s
    return np.stack([w, v[0], v[1], v[2]], axis=-1)


def _tol(t: np.ndarray) -> float:
    """How far a 'constant' channel may wander: exporters leave float noise of about 1e-11."""
    return 1e-6 * max(1.0, float(np.abs(t).max()))


_LR_RULES = [
    (re.compile(r"Left"), "Right"),
    (re.compile(r"left"), "right"),
    (re.compile(r"LEFT"), "RIGHT"),
    (re.compile(r"(^|[_.\-:\s])L($|[_.\-:\s])"), r"\1R\2"),
    (re.compile(r"(^|[_.\-:\s])l($|[_.\-:\s])"), r"\1r\2"),
    (re.compile(r"^l(?=[a-z])"), "r"),  # CMU ASF names: lfemur / rfemur
]


def _guess_lr_pairs(names: list[str]) -> list[tuple[int, int]]:
    """(left, right) joint pairs recognised by their names (Left/Right, _L/_R, L_/R_, .L/.R, lfemur)."""
    index = {n: i for i, n in enumerate(names)}
    used: set[int] = set()
    pairs = []
    for i, n in enumerate(names):
        if i in used:
            continue
        for rx, repl in _LR_RULES:
            other = rx.sub(repl, n)
            j = index.get(other)
            if other != n and j is not None and j not in used:
                pairs.append((i, j))
                used.update((i, j))
                break
    return pairs
