"""Kinect v1 skeleton files: MSR Action3D and UTKinect-Action3D, read onto the ``kinect20`` skeleton.

Both sets hold 20 joint positions per frame in the sensor's camera frame, in metres: y up, z from
the sensor into the room, x towards the sensor's left. That frame is right-handed and not mirrored
(checked on every file of both sets: the joints labelled left lie on the side that a real, unmirrored
body facing the toes' direction has its left, and in MSR's one-arm and one-leg actions, which its
authors asked subjects to do with the right limb, the joints labelled right are the ones that move).
The subjects face the sensor, i.e. -z. Loaders turn the frame half a turn about y, so the character
faces +z with its left on +x as in every project skeleton, and convert to centimetres::

    project = 100 * (-x, y, -z)

No other correction is made: y is the sensor's up, so a pitched sensor shows as a lean (standing
subjects' head-to-ankle line leans 7 degrees towards the camera in MSR, 9 in UTKinect), and heights
are relative to the sensor.

Column orders (which joint each file column holds) are the ``msr_order`` and ``utkinect_order`` lists
of ``resources/skeletons/kinect20.json``. MSR's comes from its ``body_model.mat`` and the data;
UTKinect's is the Kinect SDK order, the skeleton's own. docs/data.md (Kinect) records the checks.
"""
from __future__ import annotations

import functools
import json

import numpy as np

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.motion.skeleton import Skeleton, load_named, skeleton_dir

SKELETON = "kinect20"


FPS = 15.0


KINDS = ("msr", "utkinect")


# Half a turn about y, metres to centimetres: subject facing -z in the sensor frame -> facing +z.
SENSOR_TO_PROJECT = np.array([-100.0, 100.0, -100.0])


class KinectParameterError(CSGNError, ValueError):
    """A bad argument to a Kinect loader (unknown set kind, duplicate mode, step)."""


# --- skeleton and column orders -----------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _definition() -> dict:
    return json.loads((skeleton_dir() / f"{SKELETON}.json").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def kinect_skeleton() -> Skeleton:
    """The kinect20 skeleton (cached; treat it as read-only)."""
    return load_named(SKELETON)


def column_order(kind: str) -> np.ndarray:
    """(20,) for each column of a raw file of this kind ("msr" or "utkinect"), its skeleton joint index."""
    check_kind(kind)
    names = _definition()[f"{kind}_order"]
    skel = kinect_skeleton()
    return np.array([skel.index(n) for n in names], dtype=int)


def sensor_to_project(points: np.ndarray) -> np.ndarray:
    """Kinect camera-frame metres (..., 3) to project centimetres: facing +z, left on +x, y up."""
    return np.asarray(points, dtype=np.float64) * SENSOR_TO_PROJECT


def project_to_sensor(points: np.ndarray) -> np.ndarray:
    """The inverse of sensor_to_project."""
    return np.asarray(points, dtype=np.float64) / SENSOR_TO_PROJECT


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise KinectParameterError(f"unknown Kinect set kind {kind!r} (known: {', '.join(KINDS)})")


def parse_rows(text: str, path, ncols: int, expected: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, ncols) numbers from the non-blank lines and their 1-based line numbers.

    One vectorised conversion when the file is clean; on any problem a line-by-line pass finds the
    first bad line for the error message.
    """
    lines = text.splitlines()
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]
    fields = [lines[n - 1].split() for n in numbers]
    if all(len(f) == ncols for f in fields):
        try:
            rows = np.array(fields, dtype=np.float64).reshape(-1, ncols)
        except ValueError:
            rows = None
        if rows is not None and np.isfinite(rows).all():
            return rows, np.array(numbers, dtype=np.int64)
    out = np.empty((len(fields), ncols))
    for i, (n, f) in enumerate(zip(numbers, fields)):
        line = lines[n - 1]
        if len(f) != ncols:
            raise MotionFileError(path, f"expected {expected}, got {len(f)} fields: {clip_line(line)}", n)
        try:
            out[i] = [float(v) for v in f]
        except ValueError:
            raise MotionFileError(path, f"not a number in {clip_line(line)}", n) from None
        if not np.isfinite(out[i]).all():
            raise MotionFileError(path, f"non-finite value in {clip_line(line)}", n)
    return out, np.array(numbers, dtype=np.int64)


# --- helpers ----------------------------------------------------------------------------------------
def fill_missing(pos: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """(F, J, 3) positions with missing[f, j] samples replaced by linear interpolation over time.

    Before the first and after the last valid sample a joint holds its nearest valid value; a joint
    with no valid sample is left unchanged.
    """
    out = np.array(pos, dtype=np.float64, copy=True)
    if not missing.any():
        return out
    t = np.arange(pos.shape[0])
    for j in np.nonzero(missing.any(axis=0))[0]:
        ok = ~missing[:, j]
        if not ok.any():
            continue
        for c in range(pos.shape[2]):
            out[~ok, j, c] = np.interp(t[~ok], t[ok], pos[ok, j, c])
    return out


def clip_line(line: str, n: int = 60) -> str:
    s = line.strip()
    return repr(s if len(s) <= n else s[: n - 3] + "...")
