"""MSR Action3D skeleton files onto ``kinect20``.

MSR Action3D (``aXX_sYY_eZZ_skeleton3D.txt``, XX action, YY subject, ZZ repetition): 20 lines of
``x y z confidence`` per frame, 15 fps. The tracker writes a lost joint as 0 0 0 (in this copy only
whole frames, in 19 files): frames lost at the start and end are cut, lost joints inside are filled
by linear interpolation in time, and frames filled entirely are flagged in ``meta["untracked"]``.
A file without a tracked frame, a line that is not four finite numbers, or a line count that is not
a multiple of 20 is a MotionFileError naming the file and line. The fourth column is kept as
``meta["confidence"]``; it is no tracking flag (0 for the centre joints and feet in most frames).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from csgn_core.errors import MotionFileError
from csgn_core.io.archive import read_text
from csgn_core.io.kinect.common import FPS, column_order, fill_missing, kinect_skeleton, parse_rows, sensor_to_project
from csgn_core.motion.clip import Motion

MSR_NAME = re.compile(r"^a(\d+)_s(\d+)_e(\d+)_skeleton3D\.txt$", re.IGNORECASE)


# --- MSR Action3D ---------------------------------------------------------------------------------
def parse_msr(text: str, path: str | Path | None = None) -> np.ndarray:
    """(F, 20, 4) raw rows ``x y z confidence`` in file column order; MotionFileError on a bad line."""
    rows, line_numbers = parse_rows(text, path, 4, "4 numbers (x y z confidence)")
    if len(rows) == 0:
        raise MotionFileError(path, "no joint lines")
    if len(rows) % 20:
        raise MotionFileError(
            path,
            f"{len(rows)} joint lines is not a whole number of 20-joint frames (truncated frame?)",
            int(line_numbers[-1]),
        )
    return rows.reshape(-1, 20, 4)


def read_msr(path: str | Path, *, action_names: Mapping[int, str] | None = None) -> Motion:
    """An MSR Action3D ``*_skeleton3D.txt`` file as a kinect20 position motion (cm, 15 fps).

    meta: source, dataset, action (int, 1-based as in the file name), action_name, subject,
    repetition, confidence (F, 20) in skeleton joint order (0 where filled), untracked (F,) bool for
    frames filled by interpolation, trimmed (untracked frames cut at the start, at the end).
    ``action_names`` maps action number to name; by default ``action_names.txt`` is looked for
    beside the file and one folder up.
    """
    raw = parse_msr(read_text(path), path)  # (F, 20, 4)
    order = column_order("msr")
    F = raw.shape[0]
    pos = np.empty((F, 20, 3))
    conf = np.empty((F, 20))
    pos[:, order] = raw[..., :3]
    conf[:, order] = raw[..., 3]
    # The tracker writes 0 0 0 for a joint it lost; no real joint sits in the sensor's lens.
    missing = np.all(pos == 0.0, axis=-1)  # (F, J)
    lost = missing.all(axis=1)
    tracked = np.nonzero(~lost)[0]
    if tracked.size == 0:
        raise MotionFileError(path, f"no tracked frames: all {F} frames have every joint at 0 0 0")
    first, last = int(tracked[0]), int(tracked[-1])
    pos, conf, missing = pos[first : last + 1], conf[first : last + 1], missing[first : last + 1]
    pos = fill_missing(pos, missing)
    conf = np.where(missing, 0.0, conf)

    meta: dict = {"source": str(path), "dataset": "msr-action3d", "sensor_units": "m"}
    m = MSR_NAME.match(PurePosixPath(str(path)).name)
    action = subject = repetition = None
    if m:
        action, subject, repetition = (int(g) for g in m.groups())
    names = action_names if action_names is not None else _msr_action_names(path)
    meta.update(
        action=action,
        action_name=names.get(action, f"a{action:02d}") if action is not None else None,
        subject=subject,
        repetition=repetition,
        confidence=conf,
        untracked=missing.all(axis=1),
        trimmed=(first, F - 1 - last),
    )
    return Motion.from_positions(kinect_skeleton(), sensor_to_project(pos), FPS, **meta)


def read_msr_action_names(path: str | Path) -> dict[int, str]:
    """``action_names.txt`` (lines ``a01 high arm wave``) as {1: "high arm wave", ...}."""
    names: dict[int, str] = {}
    for line in read_text(path).splitlines():
        m = re.match(r"^\s*a(\d+)\s+(.+?)\s*$", line)
        if m:
            names[int(m.group(1))] = m.group(2)
    return names


@functools.lru_cache(maxsize=16)
def _msr_action_names_in(folder: str) -> dict[int, str]:
    for candidate in (Path(folder) / "action_names.txt", Path(folder).parent / "action_names.txt"):
        try:
            return read_msr_action_names(candidate)
        except MotionFileError:
            continue
    return {}


def _msr_action_names(path: str | Path) -> dict[int, str]:
    return _msr_action_names_in(str(Path(path).parent))
