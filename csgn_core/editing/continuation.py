"""Predict continuation: new motion sampled after a context range, and the document state it makes.

Kept free of Qt: the worker process samples (``sample_continuation``), the editor builds the new
state from its live document (``continued_state``) and pushes it as one undo command.

The continuation always follows the context range [start, stop): the timeline becomes
``stop + frames`` long. When the context ends at the timeline's end nothing is lost; when it ends
earlier (a selection or the last pin in the middle) the frames after it are replaced, pins there
are dropped and a pin running across ``stop`` is cut there (undo brings everything back).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from csgn_core.errors import CSGNError

CONTEXT_SECONDS = 4.0  # how much of the timeline's end conditions "continue the timeline"
SOURCES = ("end", "selection", "last_pin")


@dataclass(frozen=True, eq=False)
class DocState:
    """Everything a continuation changes: length, pins and fill (the undo command holds two).
    Compared by identity: a fill holds arrays, and "the same state" means the same objects."""

    length: int
    pins: tuple
    fill: object

    @classmethod
    def of(cls, doc) -> DocState:
        return cls(doc.length, tuple(doc.pins), doc.fill)


def context_range(doc, source: str = "end", selection: tuple[int, int] | None = None) -> tuple[int, int]:
    """The frames [start, stop) the continuation follows: the timeline's last CONTEXT_SECONDS, the
    selection, or the last pin."""
    if source == "end":
        return max(0, doc.length - max(1, round(CONTEXT_SECONDS * doc.fps))), doc.length
    if source == "selection":
        if selection is None:
            raise CSGNError("select a range on the timeline first (drag on the track)")
        a, b = int(selection[0]), int(selection[1])
        if not (0 <= a < b <= doc.length):
            raise CSGNError(f"frames {a}-{b - 1} are outside the timeline")
        return a, b
    if source == "last_pin":
        if not doc.pins:
            raise CSGNError("there is no pin to continue")
        last = max(doc.pins, key=lambda p: p.stop)
        return last.at, last.stop
    raise CSGNError(f"unknown continuation source {source!r} (one of {', '.join(SOURCES)})")


def sample_continuation(doc, model, start: int, stop: int, frames: int, seed: int = 0, *, progress=None,
                        cancel=None):
    """(frames) new frames continuing the document's frames [start, stop), sampled by filling a
    temporary timeline whose only pin is that context (so progress and cancel work as in a fill)."""
    from csgn_core.editing.completion import fill
    from csgn_core.editing.timeline import Pin, Timeline

    shown = doc.current_motion()
    if shown is None or shown.n_frames != doc.length:
        raise CSGNError("nothing to continue yet: fill the timeline first")
    if frames < 1:
        raise CSGNError("the continuation needs at least one frame")
    prefix = shown.slice(int(start), int(stop))
    tmp = Timeline(prefix.n_frames + int(frames), doc.fps, doc.model, doc.skeleton)
    tmp.add_pin(Pin(prefix, 0, prefix.n_frames, 0, label="context"))
    out = fill(tmp, model, seed, progress=progress, cancel=cancel).motion
    return out.slice(prefix.n_frames, out.n_frames)


def continued_state(doc, stop: int, cont, seed: int = 0) -> DocState:
    """The document after appending ``cont`` (a Motion on the fill's skeleton) at frame ``stop``.

    Frames before ``stop`` keep their fill; a gap that was up to date before stays up to date (the
    continuation was sampled against the frames it follows), so no spurious stale span appears.
    """
    from csgn_core.editing.timeline import Fill, Timeline
    from csgn_core.motion.clip import Motion

    old = doc.fill
    if old is None or old.motion.n_frames != doc.length:
        raise CSGNError("nothing to continue yet: fill the timeline first")
    stop = int(stop)
    if not (0 < stop <= doc.length):
        raise CSGNError(f"cannot continue from frame {stop}")
    n = cont.n_frames
    length = stop + n
    pins = pins_cut_at(doc.pins, stop)
    m = old.motion
    motion = Motion(m.skeleton, m.fps, rotations=np.concatenate([m.rotations[:stop], cont.rotations]),
                    root=np.concatenate([m.root[:stop], cont.root]), meta=dict(m.meta))
    fresh = {(g.start, g.stop) for g in doc.gaps() if g.signature() in old.signatures}
    fresh_at = {g.start for g in doc.gaps() if g.signature() in old.signatures}
    probe = Timeline(length, doc.fps, doc.model, doc.skeleton)
    probe.pins = sorted(pins, key=lambda p: p.at)
    sigs, seeds = set(), {}
    for g in probe.gaps():
        if g.stop <= stop and (g.start, g.stop) in fresh:
            ok, s = True, old.seeds.get((g.start, g.stop), seed)
        elif g.stop == length:  # the gap the continuation ends
            ok, s = g.start >= stop or g.start in fresh_at, int(seed)
        else:  # a gap cut by the new end that was not up to date
            ok, s = False, None
        if ok:
            sigs.add(g.signature())
            seeds[(g.start, g.stop)] = s
    return DocState(length, tuple(probe.pins), Fill(motion, seeds, frozenset(sigs)))


def pins_cut_at(pins, stop: int) -> list:
    """The pins that start before frame ``stop``, one running across it cut there."""
    out = []
    for p in pins:
        if p.stop <= stop:
            out.append(p)
        elif p.at < stop:
            out.append(replace(p, src_stop=p.src_start + stop - p.at))
    return out


def resized_state(doc, length: int) -> DocState:
    """The document at a new length (the music track's *Fit timeline to song*): pins past the new end
    dropped and one across it cut; the fill cut, or held on its last frame up to the new end. Every
    gap that keeps its range and pins keeps its fill; the last gap, which changed, is out of date
    until the next fill."""
    from csgn_core.editing.timeline import Fill, Timeline
    from csgn_core.motion.clip import Motion

    length = int(length)
    if length < 1:
        raise CSGNError("a timeline needs at least one frame")
    pins = pins_cut_at(doc.pins, length)
    fill = doc.fill
    if fill is not None and fill.motion.n_frames == doc.length:
        m = fill.motion
        keep = min(length, m.n_frames)
        pad = length - keep
        rot = np.concatenate([m.rotations[:keep], np.repeat(m.rotations[keep - 1:keep], pad, axis=0)])
        root = np.concatenate([m.root[:keep], np.repeat(m.root[keep - 1:keep], pad, axis=0)])
        motion = Motion(m.skeleton, m.fps, rotations=rot, root=root, meta=dict(m.meta))
        probe = Timeline(length, doc.fps, doc.model, doc.skeleton)
        probe.pins = sorted(pins, key=lambda p: p.at)
        sigs = frozenset(g.signature() for g in probe.gaps() if g.signature() in fill.signatures)
        fill = Fill(motion, {k: v for k, v in fill.seeds.items() if k[1] <= length}, sigs)
    else:
        fill = None
    return DocState(length, tuple(sorted(pins, key=lambda p: p.at)), fill)
