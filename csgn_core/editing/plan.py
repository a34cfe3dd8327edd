"""Pin specifications and plan files for ``csgn complete``: the pins of a timeline as text or JSON, read
with bounded, checked parsing, and the timeline they build on a model.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from csgn_core.editing.completion import conform
from csgn_core.editing.timeline import Pin, Timeline
from csgn_core.errors import CSGNError
from csgn_core.motion.clip import Motion

# --- plans and the command line ------------------------------------------------------------------------
PLAN_FORMAT = "csgn-plan"
MAX_DRAWS = 32  # a gap's fill picked from at most this many draws (completion._pick_planted)
MAX_PLAN_CHARS = 1 << 20


@dataclass
class PinSpec:
    """One pin of a plan: source file frames START..END (inclusive, the file's own frames) at timeline frame AT."""

    file: str
    start: int
    end: int
    at: int
    label: str = ""
    joints: object = None  # a partial pin's joints: a group name ("arms", "legs", ...) or joint names
    path: bool = False  # a floor-path pin: the file's root track over the floor and facing only


def parse_pin(text: str) -> PinSpec:
    """``FILE:START-END@AT`` (FILE may contain colons; split at the last one)."""
    bad = CSGNError(f"--pin {text!r}: expected FILE:START-END@AT, e.g. walk.bvh:0-59@120")
    if "@" not in text:
        raise bad
    head, at = text.rsplit("@", 1)
    if ":" not in head:
        raise bad
    path, rng = head.rsplit(":", 1)
    parts = rng.split("-")
    try:
        if len(parts) != 2 or not path:
            raise ValueError
        start, end, at_i = int(parts[0]), int(parts[1]), int(at)
    except ValueError:
        raise bad from None
    return PinSpec(path, start, end, at_i, label=f"{Path(path).name}:{start}-{end}")


def read_plan(path: str | Path) -> tuple[dict, list[PinSpec]]:
    """A plan JSON (schema in docs/sampling.md) -> (settings, pins); relative files resolve against it."""
    from csgn_core.io.safejson import is_number, loads_bounded

    p = Path(path)
    try:
        d = loads_bounded(p.read_text(encoding="utf-8"), 32, MAX_PLAN_CHARS)
    except (OSError, ValueError) as e:
        raise CSGNError(f"{p}: unreadable plan ({e})".replace("\n", " ")) from None
    if not isinstance(d, dict) or not isinstance(d.get("pins", []), list):
        raise CSGNError(f"{p}: a plan is a JSON object with a \"pins\" list")
    if d.get("format", PLAN_FORMAT) != PLAN_FORMAT:
        raise CSGNError(f"{p}: not a CSGN plan (format {d.get('format')!r})")
    unknown = set(d) - {"format", "version", "seconds", "frames", "seed", "refine_seconds", "pins", "model",
                        "tempo", "energy", "gaps", "draws"}
    if unknown:
        raise CSGNError(f"{p}: unknown plan keys {sorted(unknown)}")
    for key, lo, hi in (("seconds", 0.0, 3600.0), ("frames", 1, 360000), ("seed", -(2**63), 2**63 - 1),
                        ("refine_seconds", 0.0, 600.0), ("draws", 1, MAX_DRAWS)):
        v = d.get(key)
        if v is not None and not is_number(v, lo, hi, whole=key in ("frames", "seed", "draws")):
            raise CSGNError(f"{p}: {key} must be a number in [{lo:g}, {hi:g}], got {v!r}")
    from csgn_core.editing.styling import check_style

    try:
        check_style(d.get("tempo", 1.0), d.get("energy", 1.0))
        gaps = d.get("gaps", [])
        if not isinstance(gaps, list):
            raise CSGNError("\"gaps\" must be a list of {\"after\": PIN_INDEX or null, \"tempo\", \"energy\", \"morph\"}")
        for g in gaps:
            after = g.get("after") if isinstance(g, dict) else "?"
            if not (after is None or is_number(after, 0, len(d.get("pins", [])) - 1, whole=True)):
                raise CSGNError(f"a gap's \"after\" must be a pin's index in the plan (or null), got {after!r}")
            check_style(g.get("tempo", 1.0), g.get("energy", 1.0))
            if set(g) - {"after", "tempo", "energy", "morph"}:
                raise CSGNError(f"unknown gap keys {sorted(set(g) - {'after', 'tempo', 'energy', 'morph'})}")
            if g.get("morph") is not None and not is_number(g["morph"], 0.0, 1.0):
                raise CSGNError(f"a gap's \"morph\" is its spread, a number in 0-1 (0: the smoothest), got {g['morph']!r}")
    except CSGNError as e:
        raise CSGNError(f"{p}: {e}") from None
    if d.get("model") is not None and not isinstance(d["model"], str):
        raise CSGNError(f"{p}: model must be a name or a folder, got {d['model']!r}")
    pins = []
    for i, q in enumerate(d.get("pins", [])):
        try:
            f = Path(q["file"])
            f = f if f.is_absolute() else p.parent / f
            joints = q.get("joints")
            if joints is not None and not (isinstance(joints, str) or (
                    isinstance(joints, list) and all(isinstance(n, str) for n in joints))):
                raise ValueError("joints must be a group name or a list of joint names")
            spec = PinSpec(str(f), int(q["start"]), int(q["end"]), int(q["at"]),
                           str(q.get("label") or f"{Path(q['file']).name}:{q['start']}-{q['end']}"), joints,
                           q.get("path", False) is True)
            if q.get("path", False) not in (True, False) or (spec.path and joints is not None):
                raise ValueError("path must be true or false, and a path pin holds no joints")
            if not isinstance(q["file"], str) or min(spec.start, spec.end, spec.at) < 0 or spec.at > 10**8:
                raise ValueError("file must be a path and start, end, at non-negative")
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise CSGNError(f"{p}: pin {i}: needs file, start, end and at (integers) ({e})") from None
        pins.append(spec)
    return d, pins


def build_timeline(model, pins: Sequence[PinSpec], *, seconds: float | None = None, frames: int | None = None,
                   name: str = "model", style: tuple[float, float] = (1.0, 1.0),
                   gap_styles: Sequence[dict] = ()) -> Timeline:
    """A document at the model's fps with the plan's pins (sources retargeted and resampled).

    Without a length, the timeline ends with the last pin. ``style``: the take's (tempo, energy);
    ``gap_styles``: a gap's own, as ``{"after": i, "tempo", "energy", "morph"}`` for the gap after the
    plan's pin ``i`` (``None``: the gap before the first pin); ``morph``: the gap morphs the pin before
    it into the pin after it (blend.py), at that spread. Bad pins raise one-line CSGNErrors.
    """
    from csgn_core.io import load_motion

    if frames is None and seconds is not None:
        if not (seconds > 0 and math.isfinite(seconds)):
            raise CSGNError(f"seconds must be positive, got {seconds}")
        frames = max(1, int(round(seconds * model.fps)))
    loaded: dict[str, tuple[Motion, float, int]] = {}
    placed = []
    for spec in pins:
        if spec.file not in loaded:
            src = load_motion(spec.file)
            loaded[spec.file] = (conform(src, model), src.fps, src.n_frames)
        mo, src_fps, n_src = loaded[spec.file]
        if not (0 <= spec.start <= spec.end < n_src):
            raise CSGNError(f"pin {spec.label}: frames {spec.start}-{spec.end} are outside {Path(spec.file).name} "
                            f"(frames 0-{n_src - 1})")
        if spec.at < 0:
            raise CSGNError(f"pin {spec.label}: timeline frame {spec.at} is negative")
        k = model.fps / src_fps
        a = int(round(spec.start * k))
        b = min(mo.n_frames, max(a + 1, int(round(spec.end * k)) + 1))
        placed.append((spec, mo, a, b))
    if frames is None:
        frames = max([spec.at + (b - a) for spec, _, a, b in placed], default=0)
        if frames == 0:
            raise CSGNError("give --seconds (or \"seconds\" in the plan): there are no pins to size the timeline")
    doc = Timeline(frames, model.fps, name, model.skeleton)
    from csgn_core.editing.partial import resolve_joints

    pins_ = [Pin(mo, a, b, spec.at, label=spec.label, joints=resolve_joints(mo.skeleton, spec.joints), path=spec.path)
             for spec, mo, a, b in placed]
    doc.pins = doc.check_pins(pins_)  # one check of the whole set: overlaps and range as one-line errors
    doc.set_style(style)
    gaps = doc.gaps()
    for g in gap_styles:
        after = g.get("after")
        left = None if after is None else pins_[int(after)].id
        gap = next((x for x in gaps if (x.left.id if x.left else None) == left), None)
        if gap is None:
            raise CSGNError(f"no gap {'before the first pin' if after is None else f'after pin {after}'}: "
                            "the next pin starts where it ends")
        if "tempo" in g or "energy" in g:
            doc.set_style((float(g.get("tempo", 1.0)), float(g.get("energy", 1.0))), gap.key)
        if g.get("morph") is not None:
            try:
                doc.set_morph(gap.key, g["morph"])
            except CSGNError as e:
                raise CSGNError(f"the gap {'before the first pin' if after is None else f'after pin {after}'}: {e}") from None
    return doc
