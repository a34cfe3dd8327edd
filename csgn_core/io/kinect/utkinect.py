"""UTKinect-Action3D skeleton files and their action labels onto ``kinect20``.

UTKinect-Action3D (``joints_sXX_eYY.txt``, XX subject, YY sequence): one line per sample,
``frame_id`` then 20 x 3 numbers. Frame ids are all even and advance by 3.75 per sample on average
(2.9 to 5.6 by file). Read as a clock of 60 ids per second (a 30 fps frame number counted in steps
of two), actions take plausible times (median throw 0.9 s, push 0.7 s, stand up 1.6 s, walking
0.7 m/s) and samples come at the set's stated "about 15 fps"; a 30-per-second clock would double
every duration. Over several samples the ids keep time better than the sample count does (an
action's duration varies less across files in ids than in samples, for 9 of 10 actions), but from
one sample to the next they jitter by about one step: a sample is predicted from its neighbours
better by equal spacing (median error 0.36 cm) than by raw ids (0.49 cm), and best by ids averaged
over three samples (0.34 cm; also best over 3-sample spans). So by default (``resample=True``) a
sample's time is its id averaged with its neighbours' and the motion is interpolated linearly onto a
regular 15 fps grid (4 ids per frame); ``resample=False`` keeps one frame per sample instead.
Repeated ids (about 2 per cent of samples, with different joints) are kept as successive samples
(``duplicates="keep"``, which gives the smoothest trajectories) or merged ("first", "last",
"mean"). An id step above ``max_step`` (16) is a tracking loss (up to 5 s, after which the body is
up to 1.4 m away): listed in ``meta["gaps"]``; grid frames inside it are interpolated and flagged in
``meta["interpolated"]``. Action labels (``actionLabel.txt``) are frame-id ranges; they become
frame ranges in ``meta["segments"]`` and per-frame names in ``meta["labels"]``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np
from scipy.interpolate import interp1d
from scipy.ndimage import uniform_filter1d

from csgn_core.errors import MotionFileError
from csgn_core.io.archive import read_bytes, read_text
from csgn_core.io.kinect.common import (
    FPS,
    KinectParameterError,
    clip_line,
    column_order,
    kinect_skeleton,
    parse_rows,
    sensor_to_project,
)
from csgn_core.motion.clip import Motion

IDS_PER_SECOND = 60.0  # UTKinect frame ids: a 30 fps frame number counted in steps of two


UT_NAME = re.compile(r"^joints_s(\d+)_e(\d+)\.txt$", re.IGNORECASE)


UT_LABEL_FILES = ("actionLabel_modified.txt", "actionLabel.txt")


DUPLICATE_MODES = ("keep", "first", "last", "mean")


Segment = tuple[str, "int | None", "int | None"]  # (action, first frame id, last frame id); None for NaN


# --- UTKinect-Action3D ----------------------------------------------------------------------------
def parse_utkinect(text: str, path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(frame ids (N,) int, joints (N, 20, 3) in file column order, metres); MotionFileError on a bad line."""
    rows, line_numbers = parse_rows(text, path, 61, "a frame id and 60 numbers")
    if len(rows) == 0:
        raise MotionFileError(path, "no frames")
    ids = rows[:, 0]
    bad = np.nonzero((ids != np.round(ids)) | (ids < 0))[0]
    if bad.size:
        raise MotionFileError(path, f"frame id {ids[bad[0]]:g} is not a whole number >= 0", int(line_numbers[bad[0]]))
    back = np.nonzero(np.diff(ids) < 0)[0]
    if back.size:
        i = back[0] + 1
        raise MotionFileError(path, f"frame id {ids[i]:g} goes back (previous {ids[i - 1]:g})", int(line_numbers[i]))
    return ids.astype(np.int64), rows[:, 1:].reshape(-1, 20, 3)


def read_utkinect_labels(path: str | Path) -> dict[str, list[Segment]]:
    """``actionLabel.txt`` as {"s01_e01": [("walk", 252, 390), ...]}: frame-id ranges, inclusive.

    A range given as ``NaN NaN`` (the action is missing from that sequence) is kept with None ends.
    """
    labels: dict[str, list[Segment]] = {}
    current: str | None = None
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if re.fullmatch(r"s\d+_e\d+", s):
            current = s
            labels[current] = []
            continue
        m = re.fullmatch(r"([A-Za-z][\w ]*?)\s*:\s*(\S+)\s+(\S+)", s)
        if not m:
            raise MotionFileError(path, f"expected 'sXX_eYY' or 'action: first last', got {clip_line(s)}", n)
        if current is None:
            raise MotionFileError(path, "action range before any 'sXX_eYY' sequence line", n)
        ends: list[int | None] = []
        for v in m.group(2, 3):
            if v.lower() == "nan":
                ends.append(None)
                continue
            try:
                ends.append(int(v))
            except ValueError:
                raise MotionFileError(path, f"frame id {v!r} is not a whole number", n) from None
        if (ends[0] is None) != (ends[1] is None) or (ends[0] is not None and ends[1] < ends[0]):
            raise MotionFileError(path, f"bad frame range {m.group(2)} {m.group(3)}", n)
        labels[current].append((m.group(1), ends[0], ends[1]))
    return labels


def find_utkinect_labels(path: str | Path) -> Path | None:
    """The label file for a joints file: the corrected ``actionLabel_modified.txt`` beside it if
    present (it matches the set's ``frame_indices.mat`` and fixes typos such as s03_e01's push,
    2556-3622 for 3556-3622), else ``actionLabel.txt`` beside it or one folder up."""
    folder = Path(path).parent
    for candidate in [folder / n for n in UT_LABEL_FILES] + [folder.parent / n for n in UT_LABEL_FILES[1:]]:
        try:
            read_bytes(candidate)  # a few kB; this also finds members of a zip archive
        except MotionFileError:
            continue
        return candidate
    return None


def read_utkinect(
    path: str | Path,
    *,
    labels: str | Path | Mapping[str, list[Segment]] | bool | None = None,
    duplicates: str = "keep",
    resample: bool = True,
    max_step: int = 16,
    fps: float = FPS,
    ids_per_second: float = IDS_PER_SECOND,
) -> Motion:
    """A UTKinect ``joints_sXX_eYY.txt`` file as a kinect20 position motion (cm, ``fps``).

    ``resample`` (default): frames on a regular ``fps`` grid, interpolated linearly from the samples
    timed by their frame ids (each id averaged with its neighbours' to remove the ids' one-step
    jitter; ``ids_per_second`` 60). Grid frames inside a gap are interpolated across it and flagged.
    Without ``resample``: one frame per sample, taken as equally spaced at ``fps``.
    ``labels``: None finds the label file (find_utkinect_labels), False reads none, a path reads that
    file, a mapping is an already parsed one. ``duplicates``: samples sharing a frame id are kept as
    successive samples ("keep") or merged ("first", "last", "mean"). ``max_step``: an id step above
    this is a gap (16 ids, about four average steps).

    meta: source, dataset, sequence ("s01_e01"), subject, repetition, frame_ids (F,) float (the id
    each frame stands for), repeated_ids (samples whose id repeats the previous one), ids_per_sample
    (mean id step outside gaps), gaps [(first frame after the gap, id before, id after)],
    interpolated (F,) bool, and with labels: label_file, segments [(action, first frame, last frame)]
    in frame indices, inclusive, labels (F,) per-frame action names ("" between actions),
    label_notes (segments that could not be placed).
    """
    if duplicates not in DUPLICATE_MODES:
        raise KinectParameterError(f"duplicates must be one of {', '.join(DUPLICATE_MODES)}, got {duplicates!r}")
    if isinstance(max_step, bool) or not isinstance(max_step, (int, np.integer)) or max_step < 1:
        raise KinectParameterError(f"max_step must be a whole number >= 1, got {max_step!r}")
    for name, value in (("fps", fps), ("ids_per_second", ids_per_second)):
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if not number or not np.isfinite(value) or value <= 0:
            raise KinectParameterError(f"{name} must be a positive number, got {value!r}")
    ids, raw = parse_utkinect(read_text(path), path)
    repeated = int(np.count_nonzero(np.diff(ids) == 0))
    ids, raw = _merge_duplicates(ids, raw, duplicates)

    order = column_order("utkinect")
    samples = np.empty_like(raw)
    samples[:, order] = raw
    steps = np.diff(ids)
    normal = steps[steps <= max_step]
    gap_at = np.nonzero(steps > max_step)[0]  # a gap between sample i and i + 1
    if resample:
        pos, frame_ids, interpolated = _resample(ids, samples, gap_at, ids_per_second / fps)
        after_gap = np.searchsorted(frame_ids, ids[gap_at + 1] - 0.5 * ids_per_second / fps)
    else:
        pos, frame_ids, interpolated = samples, ids.astype(np.float64), np.zeros(len(ids), dtype=bool)
        after_gap = gap_at + 1
    meta: dict = {
        "source": str(path),
        "dataset": "utkinect",
        "sensor_units": "m",
        "frame_ids": frame_ids,
        "repeated_ids": repeated,
        "duplicates": duplicates,
        "resampled": bool(resample),
        "ids_per_sample": float(normal.mean()) if normal.size else float("nan"),
        "gaps": [(int(f), int(ids[i]), int(ids[i + 1])) for f, i in zip(after_gap, gap_at)],
        "interpolated": interpolated,
    }
    m = UT_NAME.match(PurePosixPath(str(path)).name)
    sequence = None
    if m:
        subject, repetition = (int(g) for g in m.groups())
        sequence = f"s{subject:02d}_e{repetition:02d}"
        meta.update(sequence=sequence, subject=subject, repetition=repetition)
    else:
        meta.update(sequence=None, subject=None, repetition=None)

    table: Mapping[str, list[Segment]] | None = None
    if labels is None:
        found = find_utkinect_labels(path)
        if found is not None:
            table = read_utkinect_labels(found)
            meta["label_file"] = str(found)
    elif labels is not False:
        if isinstance(labels, Mapping):
            table = labels
        else:
            table = read_utkinect_labels(labels)
            meta["label_file"] = str(labels)
    if table is not None:
        if sequence is None or sequence not in table:
            meta.update(segments=[], labels=[""] * len(frame_ids), label_notes=[f"no labels for {sequence}"])
        else:
            meta.update(_place_segments(table[sequence], frame_ids))
    return Motion.from_positions(kinect_skeleton(), sensor_to_project(pos), fps, **meta)


def split_utkinect(motion: Motion) -> list[Motion]:
    """One motion per labelled action segment of a read_utkinect motion; meta gains action and segment."""
    out = []
    for action, a, b in motion.meta.get("segments", []):
        part = motion.slice(a, b + 1)
        meta = {k: v for k, v in part.meta.items() if k not in ("segments", "labels", "label_notes")}
        for key in ("frame_ids", "interpolated"):
            if key in meta:
                meta[key] = np.asarray(meta[key])[a : b + 1]
        meta["gaps"] = [(f - a, i0, i1) for f, i0, i1 in motion.meta.get("gaps", []) if a <= f <= b]
        meta.update(action=action, segment=(a, b))
        part.meta = meta
        out.append(part)
    return out


def _merge_duplicates(ids: np.ndarray, raw: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    if mode == "keep":
        return ids, raw
    uniq, start, counts = np.unique(ids, return_index=True, return_counts=True)
    if mode == "first":
        return uniq, raw[start]
    if mode == "last":
        return uniq, raw[start + counts - 1]
    sums = np.add.reduceat(raw, start, axis=0)
    return uniq, sums / counts[:, None, None]


def _resample(ids: np.ndarray, samples: np.ndarray, gap_at: np.ndarray, ids_per_frame: float):
    """Samples (N, J, 3) timed by their ids onto a regular grid of ``ids_per_frame``.

    Returns positions (F, J, 3), the grid's ids (F,), and which grid frames lie inside a gap.
    """
    # Each id averaged with its neighbours, within runs between gaps: the ids time the samples over
    # a few steps but jitter by about one step from sample to sample.
    t = ids.astype(np.float64)
    bounds = np.concatenate([[0], gap_at + 1, [len(ids)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a >= 3:
            t[a:b] = uniform_filter1d(t[a:b], 3, mode="nearest")
    # Three repeats in a row can leave two equal times; average those samples.
    t, start, counts = np.unique(t, return_index=True, return_counts=True)
    flat = samples.reshape(len(samples), -1)
    if len(t) < len(flat):
        # t is non-decreasing (a moving mean of non-decreasing ids), so sorted order is sample order.
        flat = np.add.reduceat(flat, start, axis=0) / counts[:, None]
    n = int(np.floor((t[-1] - t[0]) / ids_per_frame + 1e-9)) + 1
    grid = t[0] + ids_per_frame * np.arange(n)  # (F,)
    if len(t) == 1:
        out = np.repeat(flat, n, axis=0)
    else:
        out = interp1d(t, flat, axis=0, assume_sorted=True)(np.minimum(grid, t[-1]))
    inside = np.zeros(n, dtype=bool)
    for i in gap_at:
        inside |= (grid > ids[i]) & (grid < ids[i + 1])
    return out.reshape((n,) + samples.shape[1:]), grid, inside


def _place_segments(segments: list[Segment], frame_ids: np.ndarray) -> dict:
    """Action id ranges to frame ranges; a later-starting action wins frames where two ranges meet."""
    per_frame = [""] * len(frame_ids)
    placed, notes = [], []
    for action, first_id, last_id in sorted(
        segments, key=lambda s: (float("inf") if s[1] is None else s[1])
    ):
        if first_id is None:
            notes.append(f"{action}: no range (NaN) in the label file")
            continue
        inside = np.nonzero((frame_ids >= first_id) & (frame_ids <= last_id))[0]
        if inside.size == 0:
            notes.append(f"{action}: no frame has an id in {first_id}-{last_id}")
            continue
        placed.append((action, int(inside[0]), int(inside[-1])))
    # Ranges that touch (pull 1640-1686, push 1686-1748) share a boundary frame: give it to the later one.
    segments_out = []
    for k, (action, a, b) in enumerate(placed):
        if k + 1 < len(placed) and placed[k + 1][1] <= b:
            b = placed[k + 1][1] - 1
        if b >= a:
            segments_out.append((action, a, b))
            per_frame[a : b + 1] = [action] * (b - a + 1)
        else:
            notes.append(f"{action}: covered by the next action")
    return {"segments": segments_out, "labels": per_frame, "label_notes": notes}
