"""Tang et al. 2018 dance files: ``DANCE_<genre>_<n>/skeletons.json`` (+ ``config.json``).

The format is ``{"length": T, "center": [T][3], "skeletons": [T][23][3]}`` in centimetres, y up, at
25 fps; a point's global position is ``skeletons[t][k] + center[t]``. The 23 points are unnamed; the
named skeleton ``tang23`` (resources/skeletons/tang23.json, derived by scripts/derive_tang23.py)
gives them names and a tree, and its ``source_order`` maps skeleton joints to raw columns. The
sibling ``config.json`` holds the frames where the music starts and ends.

``write_tang`` writes the same format back with ``center`` = the root joint's (``waist``) position
in every frame and the points in raw column order; reading the result gives back the same global
positions (to 1e-6 cm, the written precision). The original files' ``center`` follows an unknown
rule (it is not the root nor the mean of the points), so a rewritten file's centre differs from the
original one while the global positions agree.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.archive import iter_files, read_text, split_archive_path
from csgn_core.io.atomic import write_text_atomic
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton, load_named

FPS = 25.0
N_POINTS = 23
GENRES = {"C": "cha-cha", "R": "rumba", "W": "waltz", "T": "tango"}
_DANCE_RE = re.compile(r"^DANCE_([A-Za-z]+)_(\d+)$")


# The longest Tang dance is about 6 MB of JSON; a file far larger is not a dance (and would be parsed
# whole into Python lists before any check).
MAX_JSON_CHARS = 256_000_000


@lru_cache(maxsize=1)
def _tang23() -> tuple[Skeleton, np.ndarray]:
    """The tang23 skeleton and its raw-column index per joint (source_order)."""
    from csgn_core.motion.skeleton import skeleton_dir

    skel = load_named("tang23")
    d = json.loads((skeleton_dir() / "tang23.json").read_text(encoding="utf-8"))
    order = np.asarray(d["source_order"], dtype=int)
    if sorted(order.tolist()) != list(range(N_POINTS)) or skel.n_joints != N_POINTS:
        raise CSGNError("resources/skeletons/tang23.json: source_order must be a permutation of 0..22")
    return skel, order


def tang23_skeleton() -> Skeleton:
    return _tang23()[0]


def source_order() -> np.ndarray:
    """(23,) raw data column of each tang23 joint: ``positions = raw[:, source_order()]``."""
    return _tang23()[1].copy()


def _skeleton_json_path(path: str | Path) -> Path:
    """A dance folder stands for its skeletons.json."""
    p = Path(path)
    return p if p.suffix.lower() == ".json" else p / "skeletons.json"


def _array(path: Path, value, name: str, shape_tail: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionFileError(path, f"'{name}' must be a rectangular array of numbers") from None
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        want = "[T]" + "".join(f"[{n}]" for n in shape_tail)
        got = "x".join(str(n) for n in arr.shape) or "a scalar"
        raise MotionFileError(path, f"'{name}' must be {want}, got {got}")
    bad = ~np.isfinite(arr)
    if bad.any():
        frame = int(np.nonzero(bad.reshape(len(arr), -1).any(axis=1))[0][0])
        raise MotionFileError(path, f"'{name}' holds NaN or infinite values (first in frame {frame})")
    return arr


def _dance_info(path: Path) -> dict:
    folder = path.parent.name
    m = _DANCE_RE.match(folder)
    if not m:
        return {}
    code = m.group(1).upper()
    info = {"dance": folder, "genre": code, "dance_number": int(m.group(2))}
    if code in GENRES:
        info["genre_name"] = GENRES[code]
    return info


def _read_config(config_path: Path) -> dict:
    """Music start/end frames from config.json; a missing file gives {}, a bad one a note in meta."""
    archive, member = split_archive_path(config_path)
    if member is None and not archive.is_file():
        return {}
    try:
        d = json.loads(read_text(config_path))
    except RecursionError:
        return {"config_error": f"{config_path.name} is not valid JSON (nested too deep)"}
    except MotionFileError as e:
        if "no such file" in e.reason or "no member" in e.reason:
            return {}
        return {"config_error": e.reason}
    except ValueError as e:
        return {"config_error": f"{config_path.name} is not valid JSON ({e})"}
    out = {}
    if isinstance(d, dict):
        for key, meta_key in (("start_position", "music_start"), ("end_position", "music_end")):
            v = d.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out[meta_key] = int(v)
    if not out:
        out["config_error"] = f"{config_path.name} has no start_position/end_position"
    return out


def read_tang(path: str | Path) -> Motion:
    """Read a Tang dance (skeletons.json, or its folder; also inside dances.zip) as a tang23 position motion.

    meta: source, format "tang", dance (folder name), genre (C/R/W code from the folder name),
    genre_name, dance_number, music_start / music_end (frames, from config.json when present).
    """
    path = _skeleton_json_path(path)
    text = read_text(path)
    if len(text) > MAX_JSON_CHARS:
        raise MotionFileError(path, f"{len(text) / 1e6:.0f} MB of JSON, more than a dance of "
                                    f"{MAX_JSON_CHARS // 1_000_000} MB holds")
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise MotionFileError(path, f"not valid JSON ({e.msg})", line=e.lineno) from None
    except RecursionError:  # a flat dance nests three levels; a corrupt one can nest thousands
        raise MotionFileError(path, "not valid JSON (nested far deeper than a dance)") from None
    if not isinstance(d, dict):
        raise MotionFileError(path, "expected a JSON object with 'length', 'center' and 'skeletons'")
    missing = [k for k in ("center", "skeletons") if k not in d]
    if missing:
        raise MotionFileError(path, f"missing key{'s' if len(missing) > 1 else ''} {', '.join(repr(k) for k in missing)}")
    skel_raw = _array(path, d["skeletons"], "skeletons", (N_POINTS, 3))  # (T, 23, 3)
    center = _array(path, d["center"], "center", (3,))  # (T, 3)
    T = len(skel_raw)
    if T == 0:
        raise MotionFileError(path, "the dance has no frames")
    if len(center) != T:
        raise MotionFileError(path, f"'center' has {len(center)} frames but 'skeletons' has {T}")
    if "length" in d:
        length = d["length"]
        if isinstance(length, bool) or not isinstance(length, (int, float)) or length != T:
            raise MotionFileError(path, f"'length' is {length!r} but the file holds {T} frames")

    skeleton, order = _tang23()
    positions = (skel_raw + center[:, None, :])[:, order]  # (T, 23, 3) skeleton order
    meta = {"source": str(path), "format": "tang"}
    meta.update(_dance_info(path))
    meta.update(_read_config(path.parent / "config.json"))
    return Motion(skeleton, FPS, joint_positions=positions, meta=meta)


def write_tang(motion: Motion, path: str | Path, *, write_config: bool = False) -> Path:
    """Write a tang23 motion as a Tang skeletons.json (atomically); returns the path.

    ``center`` is the root joint's position per frame and ``skeletons`` the points relative to it, in
    raw column order. Rotation motions are written through forward kinematics. The motion's joints
    must carry the tang23 names (any order). With write_config, meta's music_start / music_end also go
    to a config.json beside the file.
    """
    skeleton, order = _tang23()
    src = motion.skeleton
    try:
        cols = [src.index(name) for name in skeleton.joints]
    except KeyError as e:
        raise CSGNError(f"{path}: the Tang format holds tang23 motions only ({e.args[0]})") from None
    if abs(motion.fps - FPS) > 1e-6:
        raise CSGNError(f"{path}: the Tang format is 25 fps; resample the motion ({motion.fps:g} fps) first")
    pos = np.asarray(motion.positions, dtype=np.float64)[:, cols]  # (T, 23, 3) tang23 order
    if not np.isfinite(pos).all():
        raise CSGNError(f"{path}: the motion holds NaN or infinite positions")
    raw = np.empty_like(pos)
    raw[:, order] = pos
    center = pos[:, 0]  # (T, 3) root joint
    rel = raw - center[:, None]
    doc = {
        "length": int(len(pos)),
        "center": np.round(center, 6).tolist(),
        "skeletons": np.round(rel, 6).tolist(),
    }
    path = Path(path)
    write_text_atomic(path, json.dumps(doc, separators=(",", ":")))
    if write_config and "music_start" in motion.meta and "music_end" in motion.meta:
        cfg = {"start_position": int(motion.meta["music_start"]), "end_position": int(motion.meta["music_end"])}
        write_text_atomic(path.parent / "config.json", json.dumps(cfg))
    return path


def _natural_key(path: Path) -> tuple:
    m = _DANCE_RE.match(path.parent.name)
    return (m.group(1).upper(), int(m.group(2)), str(path)) if m else ("~", 0, str(path))


def list_dances(root: str | Path) -> list[Path]:
    """Every ``DANCE_*/skeletons.json`` below a folder or inside a zip, sorted by genre then number.

    A folder without extracted dances that holds ``dances.zip`` is searched inside that archive, so
    both ``.../tang2018-dance`` and ``.../tang2018-dance/dances.zip`` work. Paths into a zip run
    through it and can be passed to read_tang.
    """
    root = Path(root)
    if not root.exists():
        raise MotionFileError(root, "no such file or folder")
    is_zip = root.is_file() and root.suffix.lower() == ".zip"
    pattern = "*DANCE_*/skeletons.json" if is_zip else "**/DANCE_*/skeletons.json"
    found = [p for p in iter_files(root, pattern) if _DANCE_RE.match(p.parent.name)]
    if not found and root.is_dir() and (root / "dances.zip").is_file():
        return list_dances(root / "dances.zip")
    return sorted(found, key=_natural_key)
