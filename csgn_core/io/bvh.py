"""BVH motion files: read any hierarchy and channel layout into a rotation Motion, write one back.

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
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.archive import read_text
from csgn_core.io.atomic import write_text_atomic
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion, forward_kinematics
from csgn_core.motion.ops import resample
from csgn_core.motion.skeleton import Skeleton

MAX_JOINTS = 1000
MAX_FRAMES = 10_000_000
MAX_ABS_VALUE = 1e9  # larger numbers in a BVH are corruption, and would overflow forward kinematics
MAX_CHANNELS_PER_JOINT = 6

_CHANNEL_NAMES = {f"{a}{kind}": (kind, i) for i, a in enumerate("xyz") for kind in ("position", "rotation")}
_KEYWORDS = {"HIERARCHY", "ROOT", "JOINT", "END", "OFFSET", "CHANNELS", "MOTION", "{", "}"}
_FRAMES_RX = re.compile(r"frames\s*:\s*(\S*)(.*)", re.IGNORECASE)
_FRAME_TIME_RX = re.compile(r"frame\s*time\s*:\s*(\S*)(.*)", re.IGNORECASE)

# Basis changes taking a file's up axis onto +y, proper rotations so handedness is kept.
_TO_Y_UP = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),  # (x, y, z) -> (x, z, -y)
    "x": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),  # (x, y, z) -> (-y, x, z)
}


@dataclass
class _Joint:
    name: str
    parent: int
    line: int
    offset: np.ndarray | None = None  # (3,) file units
    channels: list[str] = field(default_factory=list)  # canonical spelling, e.g. "Xposition"
    first_col: int = 0
    end_site: np.ndarray | None = None


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

    tokens, motion_line = _header_tokens(lines, src)
    joints = _parse_hierarchy(tokens, src, motion_line)
    n_channels = 0
    for j in joints:
        j.first_col = n_channels
        n_channels += len(j.channels)
    if n_channels == 0:
        raise MotionFileError(src, "the hierarchy declares no channels, so there is no motion to read", joints[0].line)

    n_frames, frame_time, data_start, frames_line = _motion_header(lines, motion_line, src)
    notes: list[str] = []
    data = _frame_data(lines, data_start, n_frames, n_channels, frames_line, joints, src, notes)

    return _build_motion(joints, data, frame_time, src, scale, up, name, root_offset, notes)


def _header_tokens(lines: list[str], src: str) -> tuple[list[tuple[str, int]], int | None]:
    """Tokens of the hierarchy with their 1-based line numbers, and the index of the MOTION line."""
    tokens: list[tuple[str, int]] = []
    for i, line in enumerate(lines):
        parts = line.replace("{", " { ").replace("}", " } ").split()
        if not parts:
            continue
        if parts[0].upper() == "MOTION":
            if not tokens:
                raise MotionFileError(src, "no HIERARCHY section (the file starts with MOTION)", i + 1)
            return tokens, i
        if not tokens and parts[0].upper() != "HIERARCHY":
            raise MotionFileError(src, f"not a BVH file: expected HIERARCHY, found {_show(parts[0])}", i + 1)
        tokens.extend((p, i + 1) for p in parts)
        if len(tokens) > MAX_JOINTS * 40:
            break  # a hierarchy this long is over the joint limit anyway; let the parser say so
    return tokens, None


def _parse_hierarchy(tokens: list[tuple[str, int]], src: str, motion_line: int | None) -> list[_Joint]:
    joints: list[_Joint] = []
    names: dict[str, int] = {}
    stack: list[int] = []  # open blocks: a joint index, or -1 for an End Site
    pending: tuple[str, int, int] | None = None  # a ROOT/JOINT/End Site waiting for its "{"
    end_site: np.ndarray | None = None
    end_site_offset_seen = False
    n = len(tokens)
    i = 1  # tokens[0] is HIERARCHY

    def fail(message: str, line: int):
        raise MotionFileError(src, message, line)

    def current(keyword: str, line: int) -> int:
        if pending is not None:
            fail(f"expected '{{' after {pending[0]}, found {keyword}", line)
        if not stack:
            fail(f"{keyword} outside any joint block", line)
        return stack[-1]

    while i < n:
        tok, line = tokens[i]
        key = tok.upper()
        if key in ("ROOT", "JOINT"):
            if pending is not None:
                fail(f"expected '{{' after {pending[0]}, found {tok}", line)
            if key == "ROOT" and (joints or stack):
                fail("a second ROOT: only one skeleton per file is supported", line)
            if key == "JOINT" and not stack:
                fail("JOINT outside the ROOT block" if joints else "the hierarchy must start with ROOT", line)
            if stack and stack[-1] == -1:
                fail("JOINT inside an End Site block", line)
            words = []
            i += 1
            while i < n and tokens[i][1] == line and tokens[i][0] not in ("{", "}"):
                words.append(tokens[i][0])
                i += 1
            if not words:
                fail(f"{tok} without a name", line)
            jname = "_".join(words)
            if jname.upper() in _KEYWORDS:
                fail(f"{tok} is missing its name (found keyword {jname})", line)
            if jname in names:
                fail(f"duplicate joint name {jname!r} (first defined on line {joints[names[jname]].line})", line)
            if len(joints) >= MAX_JOINTS:
                fail(f"more than {MAX_JOINTS} joints; this is not a skeleton this program can handle", line)
            names[jname] = len(joints)
            joints.append(_Joint(jname, stack[-1] if stack else -1, line))
            pending = (f"{tok} {jname}", line, len(joints) - 1)
            continue
        if key == "END":
            if i + 1 >= n or tokens[i + 1][0].upper() != "SITE":
                fail("expected 'End Site'", line)
            owner = current("End Site", line)
            if owner == -1:
                fail("End Site inside an End Site block", line)
            i += 2
            while i < n and tokens[i][1] == line and tokens[i][0] != "{":
                i += 1  # some exporters name their End Sites; the name carries nothing
            pending = ("End Site", line, -1)
            end_site, end_site_offset_seen = None, False
            continue
        if tok == "{":
            if pending is None:
                fail("'{' without a ROOT, JOINT or End Site before it", line)
            stack.append(pending[2])
            pending = None
            i += 1
            continue
        if tok == "}":
            if pending is not None:
                fail(f"expected '{{' after {pending[0]}, found '}}'", line)
            if not stack:
                fail("unbalanced braces: '}' closes nothing", line)
            top = stack.pop()
            if top == -1:
                if not end_site_offset_seen:
                    fail("End Site without OFFSET", line)
                owner = joints[stack[-1]]
                if owner.end_site is None:
                    owner.end_site = end_site
            else:
                if joints[top].offset is None:
                    fail(f"joint {joints[top].name!r} has no OFFSET", joints[top].line)
            i += 1
            continue
        if key == "OFFSET":
            owner = current("OFFSET", line)
            values = []
            for k in range(1, 4):
                if i + k >= n or tokens[i + k][0] in ("{", "}") or tokens[i + k][0].upper() in _KEYWORDS:
                    fail(f"OFFSET needs three numbers, found {len(values)}", line)
                values.append(_number(tokens[i + k][0], src, tokens[i + k][1], "OFFSET"))
            if owner == -1:
                if end_site_offset_seen:
                    fail("a second OFFSET in one End Site", line)
                end_site, end_site_offset_seen = np.array(values), True
            else:
                if joints[owner].offset is not None:
                    fail(f"a second OFFSET for joint {joints[owner].name!r}", line)
                joints[owner].offset = np.array(values)
            i += 4
            continue
        if key == "CHANNELS":
            owner = current("CHANNELS", line)
            if owner == -1:
                fail("End Site cannot have CHANNELS", line)
            if joints[owner].channels:
                fail(f"a second CHANNELS line for joint {joints[owner].name!r}", line)
            if i + 1 >= n:
                fail("CHANNELS without a count", line)
            count_tok = tokens[i + 1][0]
            try:
                count = int(count_tok)
            except ValueError:
                fail(f"CHANNELS count {_show(count_tok)} is not a whole number", tokens[i + 1][1])
            if not 0 <= count <= MAX_CHANNELS_PER_JOINT:
                fail(f"CHANNELS {count}: a joint has between 0 and {MAX_CHANNELS_PER_JOINT} channels", line)
            chans = []
            for k in range(count):
                if i + 2 + k >= n:
                    fail(f"CHANNELS {count} lists only {k} channel names", line)
                ctok, cline = tokens[i + 2 + k]
                if ctok.upper() in _KEYWORDS:
                    fail(f"CHANNELS {count} lists only {k} channel names", line)
                canon = ctok.lower()
                if canon not in _CHANNEL_NAMES:
                    fail(f"unknown channel name {_show(ctok)} (expected X/Y/Z position or rotation)", cline)
                canon = canon[0].upper() + canon[1:]
                if canon in chans and canon.endswith("position"):
                    fail(f"channel {canon} listed twice for joint {joints[owner].name!r}", cline)
                chans.append(canon)
            if sum(c.endswith("rotation") for c in chans) > 3:
                fail(f"joint {joints[owner].name!r} has more than three rotation channels", line)
            joints[owner].channels = chans
            i += 2 + count
            continue
        if key == "HIERARCHY":
            fail("a second HIERARCHY", line)
        fail(f"unexpected {_show(tok)} in the hierarchy", line)

    last_line = tokens[-1][1]
    if pending is not None:
        fail(f"expected '{{' after {pending[0]}", pending[1])
    if not joints:
        fail("the hierarchy has no ROOT", last_line)
    if stack:
        opened = [j for j in stack if j >= 0]
        where = f" (joint {joints[opened[-1]].name!r} opened on line {joints[opened[-1]].line})" if opened else ""
        if motion_line is None:
            fail(f"no MOTION section, and {len(stack)} block(s) left open{where}", last_line)
        fail(f"unbalanced braces: {len(stack)} block(s) still open at MOTION{where}", motion_line + 1)
    if motion_line is None:
        fail("no MOTION section after the hierarchy", last_line)
    return joints


def _motion_header(lines: list[str], motion_line: int, src: str) -> tuple[int, float, int, int]:
    """Frames, Frame Time, the index of the first data line, and the Frames line number."""
    i = motion_line + 1
    found: list[tuple[str, int]] = []
    while i < len(lines) and len(found) < 2:
        s = lines[i].strip()
        if s:
            found.append((s, i))
        i += 1
    if not found:
        raise MotionFileError(src, "MOTION is not followed by 'Frames: N'", motion_line + 1)
    s, k = found[0]
    m = _FRAMES_RX.fullmatch(s)
    if not m:
        raise MotionFileError(src, f"expected 'Frames: N' after MOTION, found {_show(s)}", k + 1)
    if m.group(2).strip():
        raise MotionFileError(src, f"unexpected text after the frame count: {_show(m.group(2).strip())}", k + 1)
    try:
        n_frames = int(m.group(1))
    except ValueError:
        raise MotionFileError(src, f"Frames: {_show(m.group(1))} is not a whole number", k + 1) from None
    if n_frames <= 0:
        raise MotionFileError(src, f"Frames: {n_frames}: the file holds no motion", k + 1)
    if n_frames > MAX_FRAMES:
        raise MotionFileError(src, f"Frames: {n_frames} is beyond the limit of {MAX_FRAMES:,} frames", k + 1)
    frames_line = k + 1
    if len(found) < 2:
        raise MotionFileError(src, "expected 'Frame Time: seconds' after the frame count", frames_line)
    s, k = found[1]
    m = _FRAME_TIME_RX.fullmatch(s)
    if not m:
        raise MotionFileError(src, f"expected 'Frame Time: seconds', found {_show(s)}", k + 1)
    if m.group(2).strip():
        raise MotionFileError(src, f"unexpected text after the frame time: {_show(m.group(2).strip())}", k + 1)
    frame_time = _number(m.group(1), src, k + 1, "Frame Time")
    if not frame_time > 0:
        raise MotionFileError(src, f"Frame Time must be positive, got {m.group(1)}", k + 1)
    if not 1e-5 <= frame_time <= 3600:
        raise MotionFileError(src, f"Frame Time {m.group(1)} s is not a plausible frame interval", k + 1)
    return n_frames, frame_time, k + 1, frames_line


def _frame_data(lines, start, n_frames, n_channels, frames_line, joints, src, notes) -> np.ndarray:
    """The (F, C) frame values, validated: one line per frame, C finite numbers on each."""
    rows: list[str] = []
    linenos: list[int] = []
    for k in range(start, len(lines)):
        s = lines[k].strip()
        if s:
            rows.append(s)
            linenos.append(k + 1)
    if len(rows) < n_frames:
        raise MotionFileError(
            src, f"Frames: {n_frames} declared but only {len(rows)} frame lines follow (fewer lines than frames)",
            frames_line,
        )
    if len(rows) > n_frames:
        notes.append(
            f"{len(rows) - n_frames} line(s) after the {n_frames} declared frames ignored "
            f"(more lines than frames, from line {linenos[n_frames]})"
        )
        rows, linenos = rows[:n_frames], linenos[:n_frames]

    data = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.loadtxt(rows, dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        data = None
    if data is None or data.shape != (n_frames, n_channels):
        # The fast reader only says that something is wrong; find the line and say what.
        data = _slow_frame_data(rows, linenos, n_channels, joints, src)

    bad = ~np.isfinite(data) | (np.abs(data) > MAX_ABS_VALUE)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        what = "not finite" if not np.isfinite(data[r, c]) else f"beyond +-{MAX_ABS_VALUE:g}"
        raise MotionFileError(
            src, f"frame {r + 1}: value {data[r, c]!r} for {_channel_label(joints, c)} is {what}", linenos[r]
        )
    return data


def _slow_frame_data(rows, linenos, n_channels, joints, src) -> np.ndarray:
    out = np.empty((len(rows), n_channels))
    for r, (s, ln) in enumerate(zip(rows, linenos)):
        parts = s.split()
        if len(parts) != n_channels:
            raise MotionFileError(
                src, f"frame {r + 1} has {len(parts)} values, expected {n_channels} (one per channel)", ln
            )
        for c, p in enumerate(parts):
            try:
                out[r, c] = float(p)
            except ValueError:
                raise MotionFileError(
                    src, f"frame {r + 1}: {_show(p)} is not a number ({_channel_label(joints, c)})", ln
                ) from None
    return out


def _channel_label(joints: list[_Joint], col: int) -> str:
    for j in joints:
        if j.first_col <= col < j.first_col + len(j.channels):
            return f"{j.channels[col - j.first_col]} of joint {j.name!r}"
    return f"column {col + 1}"


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
    C = _TO_Y_UP[file_up]
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


def _number(tok: str, src: str, line: int, what: str) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise MotionFileError(src, f"{what}: {_show(tok)} is not a number", line) from None
    if not np.isfinite(v) or abs(v) > MAX_ABS_VALUE:
        raise MotionFileError(src, f"{what}: {_show(tok)} is not a finite number of sensible size", line)
    return v


def _show(s: str, limit: int = 40) -> str:
    return repr(s if len(s) <= limit else s[:limit] + "...")


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
    if up not in _TO_Y_UP:
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
    back = _TO_Y_UP[up].T  # y-up project axes -> the file's axes
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
        while s in seen or s.upper() in _KEYWORDS:
            s = f"{base}_{i}"
            i += 1
        seen.add(s)
        out.append(s)
    return out
