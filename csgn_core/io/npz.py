"""The project's own motion file: an .npz with the skeleton embedded (no pickled objects)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import MotionFileError
from ..motion import Motion
from ..skeleton import Skeleton
from .archive import read_bytes
from .atomic import write_bytes_atomic

FORMAT = "csgn-motion"
VERSION = 1


def write_npz(motion: Motion, path: str | Path) -> Path:
    return write_bytes_atomic(path, npz_bytes(motion))


def npz_bytes(motion: Motion) -> bytes:
    """The .npz file of a motion as bytes (for embedding in project files)."""
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
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def read_npz(path: str | Path) -> Motion:
    return motion_from_npz_bytes(read_bytes(path), path)


def motion_from_npz_bytes(data: bytes, path: str | Path | None = None) -> Motion:
    """Parse .npz bytes; errors name ``path`` (the file or project member they came from)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if "format" not in z or str(z["format"]) != FORMAT:
                raise MotionFileError(path, "not a CSGN motion file (.npz without the csgn-motion marker)")
            version = int(z["version"])
            if version > VERSION:
                raise MotionFileError(path, f"written by a newer CSGN Studio (format version {version})")
            skeleton = Skeleton.from_json(str(z["skeleton"]))
            fps = float(z["fps"])
            meta = json.loads(str(z["meta"]))
            if "rotations" in z:
                rot, root = z["rotations"].astype(np.float64), z["root"].astype(np.float64)
                _check_finite(path, rot, root)
                return Motion(skeleton, fps, rotations=rot, root=root, meta=meta)
            pos = z["positions"].astype(np.float64)
            _check_finite(path, pos)
            return Motion(skeleton, fps, joint_positions=pos, meta=meta)
    except MotionFileError:
        raise
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise MotionFileError(path, f"not a readable CSGN motion file ({e})") from None


def _check_finite(path, *arrays: np.ndarray) -> None:
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise MotionFileError(path, "contains NaN or infinite values")
