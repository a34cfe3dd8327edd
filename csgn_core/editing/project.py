"""Project files (``.csgnproj``): one zip holding ``project.json`` and an ``.npz`` per motion.

Written atomically (temp file, then rename), versioned, and validated on load: a damaged or foreign
file gives a one-line ``ProjectFileError`` and never half a document. No pickles anywhere.
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

from csgn_core.editing.timeline import Fill, Pin, Timeline, TimelineError
from csgn_core.errors import CSGNError
from csgn_core.io.archive import read_bytes
from csgn_core.io.atomic import write_atomic
from csgn_core.io.npz import motion_from_npz_bytes, npz_bytes
from csgn_core.io.safejson import is_number, loads_bounded
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton

FORMAT = "csgn-project"
VERSION = 1
SUFFIX = ".csgnproj"


class ProjectFileError(CSGNError):
    pass


def _blend(v) -> float | None:
    """A pin's edge blend from the manifest: absent (the default), or seconds within the pin's bounds."""
    from csgn_core.editing.timeline import MAX_BLEND, MIN_BLEND

    if v is None:
        return None
    if not is_number(v, MIN_BLEND, MAX_BLEND):
        raise ValueError(f"pin blend {str(v)[:20]!r} is not seconds in {MIN_BLEND:g}-{MAX_BLEND:g}")
    return float(v)


def _joints(v) -> tuple[str, ...] | None:
    """A partial pin's held joints from the manifest: absent (the whole pose), or joint names."""
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(n, str) for n in v) or len(v) > 10_000:
        raise ValueError("pin joints are not a list of joint names")
    return tuple(v)


def save_project(doc: Timeline, path: str | Path) -> Path:
    meta = {
        "format": FORMAT, "version": VERSION, "length": doc.length, "fps": doc.fps, "model": doc.model,
        "skeleton": doc.skeleton.to_dict() if doc.skeleton is not None else None,
        "pins": [{"id": p.id, "label": p.label, "src_start": p.src_start, "src_stop": p.src_stop, "at": p.at,
                  "version": p.version, "source": f"pins/{p.id}.npz", **({"blend": p.blend} if p.blend is not None else {}),
                  **({"joints": list(p.joints)} if p.joints is not None else {}), **({"path": True} if p.path else {})}
                 for p in doc.pins],
        "fill": None,
        "music": _music_to_json(doc.music, path),
        "style": {"tempo": doc.style[0], "energy": doc.style[1]},
        "gap_styles": [{"left": k[0], "right": k[1], "tempo": v[0], "energy": v[1]} for k, v in doc.gap_styles.items()],
        "gap_morphs": [{"left": k[0], "right": k[1], "spread": v} for k, v in doc.gap_morphs.items()],
    }
    members = {f"pins/{p.id}.npz": npz_bytes(p.source) for p in doc.pins}
    if doc.fill is not None:
        meta["fill"] = {
            "motion": "fill.npz",
            "seeds": [[a, b, s] for (a, b), s in doc.fill.seeds.items()],
            "signatures": [_sig_to_json(s) for s in doc.fill.signatures],
        }
        members["fill.npz"] = npz_bytes(doc.fill.motion)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("project.json", json.dumps(meta, indent=1, ensure_ascii=False))
            for name, data in members.items():
                zf.writestr(name, data)

    return write_atomic(path, write)


# Bounds on what a project may declare before anything is read (a 10-minute take with a hundred pins
# is some tens of MB).
MAX_MEMBER_BYTES = 1 << 30
MAX_MANIFEST_BYTES = 1 << 24


def load_project(path: str | Path) -> Timeline:
    data = read_bytes(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        for info in zf.infolist():
            limit = MAX_MANIFEST_BYTES if info.filename == "project.json" else MAX_MEMBER_BYTES
            if info.file_size > limit:
                raise ProjectFileError(f"{path}: damaged project ({info.filename} declares {info.file_size} bytes)")
        text = zf.read("project.json").decode("utf-8")
        meta = _json(text, path)
    except ProjectFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, KeyError, UnicodeDecodeError, json.JSONDecodeError, EOFError, OSError,
            ValueError, OverflowError, NotImplementedError) as e:
        raise ProjectFileError(f"{path}: not a CSGN project ({type(e).__name__}: {e})".replace("\n", " ")) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ProjectFileError(f"{path}: not a CSGN project (no csgn-project marker)")
    version = meta.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProjectFileError(f"{path}: damaged project (version {version!r} is not a number)")
    if version > VERSION:
        raise ProjectFileError(f"{path}: written by a newer CSGN Studio (project version {meta['version']})")
    try:
        return _timeline(meta, zf, path)
    except ProjectFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError,
            zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, TimelineError) as e:
        raise ProjectFileError(f"{path}: damaged project ({type(e).__name__}: {e})".replace("\n", " ")) from None


def _json(text: str, path):
    try:
        return loads_bounded(text, 64, MAX_MANIFEST_BYTES)
    except ValueError as e:
        raise ProjectFileError(f"{path}: damaged project (project.json: {e})") from None


def _int(v, what: str, lo: int = 0, hi: int = 1 << 31) -> int:
    if not is_number(v, lo, hi, whole=True):
        raise ValueError(f"{what} {v!r} is not a whole number in [{lo}, {hi}]")
    return int(v)


def _timeline(meta: dict, zf: zipfile.ZipFile, path) -> Timeline:
    """The document a project manifest describes (members read from ``zf``)."""
    sk = meta.get("skeleton")
    if sk is not None and not isinstance(sk, dict):
        raise ValueError("the skeleton is not an object")
    skeleton = Skeleton.from_dict(sk) if sk else None
    fps = meta["fps"]
    if not is_number(fps, 0, 10000) or fps == 0:
        raise ValueError(f"frame rate {fps!r} is out of range")
    model = meta.get("model", "dance")
    if not isinstance(model, str):
        raise ValueError("model is not a name")
    doc = Timeline(_int(meta["length"], "length", 1, 1 << 26), float(fps), model, skeleton)
    pins = []
    if not isinstance(meta["pins"], list):
        raise ValueError("pins is not a list")
    for pm in meta["pins"]:
        if not isinstance(pm, dict) or not isinstance(pm.get("source"), str):
            raise ValueError("a pin is not an object with a source")
        source = _read_member(zf, pm["source"], path)
        pins.append(Pin(source, _int(pm["src_start"], "src_start"), _int(pm["src_stop"], "src_stop"),
                        _int(pm["at"], "at"), id=str(pm["id"]), label=str(pm.get("label", "")),
                        version=_int(pm.get("version", 0), "version"), blend=_blend(pm.get("blend")),
                        joints=_joints(pm.get("joints")), path=pm.get("path", False) is True))
    doc.pins = doc.check_pins(pins)
    doc.music = _music_from_json(meta.get("music"), path)
    doc.style, doc.gap_styles = _styles_from_json(meta.get("style"), meta.get("gap_styles"))
    doc.gap_morphs = _morphs_from_json(meta.get("gap_morphs"))
    if meta.get("fill"):
        fm = meta["fill"]
        if not isinstance(fm, dict) or not isinstance(fm.get("motion"), str):
            raise ValueError("fill is not an object with a motion")
        motion = _read_member(zf, fm["motion"], path)
        seeds = {(_int(a, "gap start"), _int(b, "gap stop")): _int(s, "seed", -(1 << 63), 1 << 64)
                 for a, b, s in fm["seeds"]}
        sigs = frozenset(_sig_from_json(s) for s in fm["signatures"])
        doc.fill = Fill(motion, seeds, sigs)
        if motion.n_frames != doc.length:
            raise ProjectFileError(f"{path}: the filled motion has {motion.n_frames} frames, the timeline {doc.length}")
    return doc


def _read_member(zf: zipfile.ZipFile, name: str, path) -> Motion:
    try:
        raw = zf.read(name)
    except KeyError:
        raise ProjectFileError(f"{path}: damaged project (missing {name})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as e:
        raise ProjectFileError(f"{path}: damaged project ({name}: {type(e).__name__}: {e})") from None
    try:
        return motion_from_npz_bytes(raw, f"{path}/{name}")
    except CSGNError as e:
        raise ProjectFileError(f"damaged project: {e}") from None


def _sig_to_json(sig: tuple) -> list:
    start, stop, left, right = sig[:4]
    return [start, stop, list(left) if left else None, list(right) if right else None] + [list(x) for x in sig[4:]]


def _sig_from_json(s: list) -> tuple:
    start, stop, left, right = s[:4]
    # A gap filled at a tempo or energy of its own, and one that morphs: ("morph", spread).
    extra = tuple(("morph", float(x[1])) if x and x[0] == "morph" else tuple(float(v) for v in x) for x in s[4:6])
    return (int(start), int(stop), _tuples(left) if left else None, _tuples(right) if right else None) + extra


def _tuples(v):
    """JSON lists back to the tuples a signature holds (a partial pin's joints are one inside it)."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _styles_from_json(style, gap_styles) -> tuple[tuple[float, float], dict]:
    """The take's (tempo, energy) and the gaps' own; absent in projects written before styles."""
    from csgn_core.editing.styling import check_style

    def pair(d) -> tuple[float, float]:
        if not isinstance(d, dict):
            raise ValueError("a style is not an object")
        try:
            return check_style(d.get("tempo", 1.0), d.get("energy", 1.0))
        except CSGNError as e:
            raise ValueError(str(e)) from None

    take = (1.0, 1.0) if style is None else pair(style)
    own = {}
    if gap_styles is not None:
        if not isinstance(gap_styles, list):
            raise ValueError("gap_styles is not a list")
        for g in gap_styles:
            key = (g.get("left"), g.get("right")) if isinstance(g, dict) else None
            if key is None or not all(k is None or isinstance(k, str) for k in key):
                raise ValueError("a gap style does not name its pins")
            own[key] = pair(g)
    return take, own


def _morphs_from_json(morphs) -> dict:
    """The gaps that morph between their pins, by pin ids; absent in projects written before morphs."""
    from csgn_core.io.safejson import is_number

    if morphs is not None and not isinstance(morphs, list):
        raise ValueError("gap_morphs is not a list")
    out = {}
    for g in morphs or []:
        key = (g.get("left"), g.get("right")) if isinstance(g, dict) else None
        if key is None or not all(isinstance(k, str) for k in key):
            raise ValueError("a gap morph does not name the pins on both its sides")
        if not is_number(g.get("spread"), 0.0, 1.0):
            raise ValueError(f"a gap morph's spread must be a number in 0-1, got {str(g.get('spread'))[:20]!r}")
        out[key] = float(g["spread"])
    return out


def _music_to_json(track, project_path) -> dict | None:
    """The music track by path: absolute, and relative to the project too, so a project moved with its
    song beside it still finds the song."""
    import os

    if track is None:
        return None
    song = Path(track.path)
    try:
        rel = os.path.relpath(song.resolve(), Path(project_path).resolve().parent)
    except ValueError:  # another drive on Windows
        rel = None
    return {"path": str(song), "relative": None if rel is None else Path(rel).as_posix(), "seconds": track.seconds,
            "offset": track.offset, "bpm": track.bpm, "beats": list(track.beats)}


def _music_from_json(m, project_path):
    from csgn_core.editing.music import MusicTrack

    if m is None:
        return None
    if not isinstance(m, dict) or not isinstance(m.get("path"), str):
        raise ValueError("music is not an object with a path")
    song = Path(m["path"])
    rel = m.get("relative")
    if not song.is_file() and isinstance(rel, str):
        beside = Path(project_path).resolve().parent / rel
        if beside.is_file():
            song = beside
    for name, lo, hi in (("seconds", 0, 1e6), ("offset", -1e6, 1e6)):
        if not is_number(m.get(name), lo, hi):
            raise ValueError(f"music {name} {str(m.get(name))[:20]!r} is out of range")
    bpm = m.get("bpm")
    if bpm is not None and not is_number(bpm, 1, 1000):
        raise ValueError(f"music tempo {str(bpm)[:20]!r} is out of range")
    beats = m.get("beats", [])
    if not isinstance(beats, list) or len(beats) > 200_000 or not all(is_number(b, 0, 1e6) for b in beats):
        raise ValueError("music beats are not a list of times")
    return MusicTrack(str(song), float(m["seconds"]), float(m["offset"]), None if bpm is None else float(bpm),
                      tuple(float(b) for b in beats))
