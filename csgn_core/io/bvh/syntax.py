"""The text of a BVH file: its hierarchy (joints, offsets, channels) and its MOTION block of numbers,
with the limits a sane file keeps. Every bad file raises MotionFileError naming the file and line.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from csgn_core.errors import MotionFileError

MAX_JOINTS = 1000


MAX_FRAMES = 10_000_000


MAX_ABS_VALUE = 1e9  # larger numbers in a BVH are corruption, and would overflow forward kinematics


MAX_CHANNELS_PER_JOINT = 6


_CHANNEL_NAMES = {f"{a}{kind}": (kind, i) for i, a in enumerate("xyz") for kind in ("position", "rotation")}


KEYWORDS = {"HIERARCHY", "ROOT", "JOINT", "END", "OFFSET", "CHANNELS", "MOTION", "{", "}"}


_FRAMES_RX = re.compile(r"frames\s*:\s*(\S*)(.*)", re.IGNORECASE)


_FRAME_TIME_RX = re.compile(r"frame\s*time\s*:\s*(\S*)(.*)", re.IGNORECASE)


@dataclass
class _Joint:
    name: str
    parent: int
    line: int
    offset: np.ndarray | None = None  # (3,) file units
    channels: list[str] = field(default_factory=list)  # canonical spelling, e.g. "Xposition"
    first_col: int = 0
    end_site: np.ndarray | None = None


def header_tokens(lines: list[str], src: str) -> tuple[list[tuple[str, int]], int | None]:
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


def parse_hierarchy(tokens: list[tuple[str, int]], src: str, motion_line: int | None) -> list[_Joint]:
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
            if jname.upper() in KEYWORDS:
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
                if i + k >= n or tokens[i + k][0] in ("{", "}") or tokens[i + k][0].upper() in KEYWORDS:
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
                if ctok.upper() in KEYWORDS:
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


def motion_header(lines: list[str], motion_line: int, src: str) -> tuple[int, float, int, int]:
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


def frame_data(lines, start, n_frames, n_channels, frames_line, joints, src, notes) -> np.ndarray:
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
