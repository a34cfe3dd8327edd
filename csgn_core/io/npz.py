"""The project's own motion file: an .npz with the skeleton embedded (no pickled objects)."""
from __future__ import annotations

import io
import json
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from csgn_core.errors import MotionFileError
from csgn_core.io.archive import read_bytes
from csgn_core.io.atomic import write_bytes_atomic
from csgn_core.io.safejson import loads_bounded
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton

FORMAT = "csgn-motion"
VERSION = 1


# zlib levels ("best" is numpy's savez_compressed). Rotations in float64 barely compress: a 5-minute
# take is 5.71 MB stored in 0.01 s, 5.47 MB at level 1 in 0.14 s, 5.44 MB at level 6 in 0.17 s.
COMPRESSION = {"none": None, "fast": 1, "best": 6}


def write_npz(motion: Motion, path: str | Path, compression: str = "best") -> Path:
    return write_bytes_atomic(path, npz_bytes(motion, compression))


def npz_bytes(motion: Motion, compression: str = "best") -> bytes:
    """The .npz file of a motion as bytes (for embedding in project files). ``compression``: one of
    ``COMPRESSION``; every level reads back the same (numpy's own ``np.load`` reads them too)."""
    if compression not in COMPRESSION:
        raise ValueError(f"npz compression must be one of {', '.join(COMPRESSION)}, got {compression!r}")
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "skeleton": np.array(motion.skeleton.to_json()),
        "fps": np.array(motion.fps),
        "meta": np.array(json.dumps(motion.meta, default=str)),
    }
    if motion.rotations is not None:
        arrays["rotations"] = motion.rotations.astype(np.float64)  # (F, J, 4)
        arrays["root"] = motion.root.astype(np.float64)  # (F, 3)
    else:
        arrays["positions"] = motion.joint_positions.astype(np.float64)  # (F, J, 3)
    level = COMPRESSION[compression]
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if level is None else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", compression=method, compresslevel=level) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                npy.write_array(f, np.asanyarray(arr), allow_pickle=False)
    return buf.getvalue()


def read_npz(path: str | Path) -> Motion:
    return motion_from_npz_bytes(read_bytes(path), path)


# What a motion file may hold: a 10-minute take of a 100-joint skeleton at 120 fps is 230 MB of
# rotations; anything that declares more is not a motion.
MAX_ARRAY_BYTES = 1 << 30
MAX_TEXT_CHARS = 1 << 24  # skeleton and meta JSON
MAX_JSON_DEPTH = 64
# Every way the zip, zlib and .npy layers and a hostile header fail; all become MotionFileError.
_LAYER_ERRORS = (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error, TypeError,
                 NotImplementedError, SyntaxError, tokenize.TokenError, UnicodeError, OverflowError,
                 RecursionError, AttributeError, IndexError, MemoryError, SystemError)


def read_arrays(data: bytes, path, limit: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """The arrays of .npz bytes, each header checked before anything is allocated: no object dtypes,
    no array larger than ``limit`` or than the bytes its zip member really holds."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.file_size > limit + 4096:
                raise MotionFileError(path, f"array {name!r} declares {info.file_size} bytes (limit {limit})")
            with zf.open(info) as f:
                version = npy.read_magic(f)
                if version not in ((1, 0), (2, 0)):
                    raise MotionFileError(path, f"array {name!r}: unsupported .npy version {version}")
                read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, _, dtype = read_header(f, max_header_size=10000)
                if dtype.hasobject or dtype.kind not in "biufcSU":
                    raise MotionFileError(path, f"array {name!r} has an unsupported type ({dtype})")
                n = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if n > limit or n > info.file_size:
                    raise MotionFileError(path, f"array {name!r} declares {n} bytes, its member holds {info.file_size}")
            with zf.open(info) as f:
                out[name] = npy.read_array(f, allow_pickle=False)
    return out


def _text(path, z: dict, key: str) -> str:
    if key not in z:
        raise MotionFileError(path, f"missing {key!r}")
    a = z[key]
    if a.dtype.kind not in "SU" or a.shape != () or a.nbytes > 4 * MAX_TEXT_CHARS:
        raise MotionFileError(path, f"{key!r} is not a text field")
    return str(a)


def _scalar(path, z: dict, key: str, kind: str = "if") -> float:
    if key not in z or z[key].shape != () or z[key].dtype.kind not in kind:
        raise MotionFileError(path, f"{key!r} is missing or not a number")
    v = float(z[key])
    if not np.isfinite(v):
        raise MotionFileError(path, f"{key!r} is not finite")
    return v


def _json(path, text: str, what: str):
    try:
        return loads_bounded(text, MAX_JSON_DEPTH, MAX_TEXT_CHARS)
    except ValueError as e:
        raise MotionFileError(path, f"{what} is not valid JSON ({e})") from None


def _array(path, z: dict, key: str, shape: tuple) -> np.ndarray:
    """A float array of the given shape (-1: any length), finite."""
    if key not in z:
        raise MotionFileError(path, f"missing {key!r}")
    a = z[key]
    if a.dtype.kind not in "iuf" or a.ndim != len(shape) or any(s >= 0 and a.shape[i] != s for i, s in enumerate(shape)):
        raise MotionFileError(path, f"{key!r} has shape {a.shape} ({a.dtype}), expected {shape} numbers")
    a = a.astype(np.float64)
    _check_finite(path, a)
    return a


def motion_from_npz_bytes(data: bytes, path: str | Path | None = None) -> Motion:
    """Parse .npz bytes; errors name ``path`` (the file or project member they came from)."""
    try:
        z = read_arrays(data, path)
        if "format" not in z or z["format"].shape != () or str(z["format"]) != FORMAT:
            raise MotionFileError(path, "not a CSGN motion file (.npz without the csgn-motion marker)")
        version = int(_scalar(path, z, "version", "iu"))
        if version > VERSION:
            raise MotionFileError(path, f"written by a newer CSGN Studio (format version {version})")
        sk = _json(path, _text(path, z, "skeleton"), "the skeleton")
        if not isinstance(sk, dict):
            raise MotionFileError(path, "the skeleton is not a JSON object")
        try:
            skeleton = Skeleton.from_dict(sk)
        except Exception as e:  # a hand-edited skeleton can fail in many ways; all are this file's fault
            raise MotionFileError(path, f"bad skeleton ({type(e).__name__}: {e})") from None
        fps = _scalar(path, z, "fps")
        if not 0 < fps <= 10000:
            raise MotionFileError(path, f"frame rate {fps:g} is out of range")
        meta = _json(path, _text(path, z, "meta"), "meta") if "meta" in z else {}
        if not isinstance(meta, dict):
            raise MotionFileError(path, "meta is not a JSON object")
        J = skeleton.n_joints
        if "rotations" in z:
            rot = _array(path, z, "rotations", (-1, J, 4))
            root = _array(path, z, "root", (rot.shape[0], 3))
            return Motion(skeleton, fps, rotations=rot, root=root, meta=meta)
        pos = _array(path, z, "positions", (-1, J, 3))
        return Motion(skeleton, fps, joint_positions=pos, meta=meta)
    except MotionFileError:
        raise
    except _LAYER_ERRORS as e:
        raise MotionFileError(path, f"not a readable CSGN motion file ({type(e).__name__}: {e})".replace("\n", " ")) from None


def _check_finite(path, *arrays: np.ndarray) -> None:
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise MotionFileError(path, "contains NaN or infinite values")
