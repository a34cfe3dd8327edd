"""Project files (``.csgnproj``): one zip holding ``project.json`` and an ``.npz`` per motion.

Written atomically (temp file, then rename), versioned, and validated on load: a damaged or foreign
file gives a one-line ``ProjectFileError`` and never half a document. No pickles anywhere.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from .errors import CSGNError
from .io.archive import read_bytes
from .io.atomic import write_atomic
from .io.npz import motion_from_npz_bytes, npz_bytes
from .motion import Motion
from .skeleton import Skeleton
from .timeline import Fill, Pin, Timeline, TimelineError

FORMAT = "csgn-project"
VERSION = 1
SUFFIX = ".csgnproj"


class ProjectFileError(CSGNError):
    pass


def save_project(doc: Timeline, path: str | Path) -> Path:
    meta = {
        "format": FORMAT, "version": VERSION, "length": doc.length, "fps": doc.fps, "model": doc.model,
        "skeleton": doc.skeleton.to_dict() if doc.skeleton is not None else None,
        "pins": [{"id": p.id, "label": p.label, "src_start": p.src_start, "src_stop": p.src_stop, "at": p.at,
                  "version": p.version, "source": f"pins/{p.id}.npz"} for p in doc.pins],
        "fill": None,
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


def load_project(path: str | Path) -> Timeline:
    data = read_bytes(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        meta = json.loads(zf.read("project.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProjectFileError(f"{path}: not a CSGN project ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ProjectFileError(f"{path}: not a CSGN project (no csgn-project marker)")
    if int(meta.get("version", 0)) > VERSION:
        raise ProjectFileError(f"{path}: written by a newer CSGN Studio (project version {meta['version']})")
    try:
        skeleton = Skeleton.from_dict(meta["skeleton"]) if meta.get("skeleton") else None
        doc = Timeline(int(meta["length"]), float(meta["fps"]), str(meta.get("model", "dance")), skeleton)
        pins = []
        for pm in meta["pins"]:
            source = _read_member(zf, pm["source"], path)
            pins.append(Pin(source, int(pm["src_start"]), int(pm["src_stop"]), int(pm["at"]), id=str(pm["id"]),
                            label=str(pm.get("label", "")), version=int(pm.get("version", 0))))
        doc.pins = doc._check(pins)
        if meta.get("fill"):
            fm = meta["fill"]
            motion = _read_member(zf, fm["motion"], path)
            seeds = {(int(a), int(b)): int(s) for a, b, s in fm["seeds"]}
            sigs = frozenset(_sig_from_json(s) for s in fm["signatures"])
            doc.fill = Fill(motion, seeds, sigs)
            if motion.n_frames != doc.length:
                raise ProjectFileError(f"{path}: the filled motion has {motion.n_frames} frames, the timeline {doc.length}")
    except ProjectFileError:
        raise
    except (KeyError, TypeError, ValueError, TimelineError) as e:
        raise ProjectFileError(f"{path}: damaged project ({e})") from None
    return doc


def _read_member(zf: zipfile.ZipFile, name: str, path) -> Motion:
    try:
        raw = zf.read(name)
    except KeyError:
        raise ProjectFileError(f"{path}: damaged project (missing {name})") from None
    try:
        return motion_from_npz_bytes(raw, f"{path}/{name}")
    except CSGNError as e:
        raise ProjectFileError(f"damaged project: {e}") from None


def _sig_to_json(sig: tuple) -> list:
    start, stop, left, right = sig
    return [start, stop, list(left) if left else None, list(right) if right else None]


def _sig_from_json(s: list) -> tuple:
    start, stop, left, right = s
    return (int(start), int(stop), tuple(left) if left else None, tuple(right) if right else None)
