"""The timeline document: pinned segments, the gaps between them, and the filled result.

The document is plain data with small edit operations that the editor's undo commands call; views
subscribe to ``events`` and redraw (they never own data). Frames are half-open ranges
``[start, stop)`` at the model's fps; the command line speaks inclusive ``START-END`` and converts.

A gap's fill depends on the pins around it. When the fill is made, each gap records a signature (its
range and the state of its bordering pins); after any edit, a gap whose signature no longer matches
is out of date.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion.clip import Motion


class TimelineError(CSGNError):
    """An edit that would break the document (overlapping pins, frames out of range)."""


MIN_BLEND, MAX_BLEND = 0.04, 5.0  # seconds a pin's edge blend may take


@dataclass(frozen=True)
class Pin:
    """Frames [src_start, src_stop) of a source motion, placed so its first frame sits at timeline frame ``at``."""

    source: Motion = field(compare=False, repr=False)
    src_start: int
    src_stop: int
    at: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    label: str = ""
    version: int = 0  # bumps when the source motion itself is replaced
    # Seconds over which a fill bends into this pin at its edges (None: the sampler's default,
    # ``splice.BLEND_SECONDS``): short for a sharp hit, long for a soft arrival.
    blend: float | None = None
    # The joints it holds, by name (None: the whole pose); the rest of the body is generated around
    # them (editing/partial.py).
    joints: tuple[str, ...] | None = None
    # A floor-path pin: it holds only the root's track over the floor (x, z) and its facing; the
    # body is generated to follow it.
    path: bool = False

    def __post_init__(self) -> None:
        n = self.source.n_frames
        if self.path and self.joints is not None:
            raise TimelineError(f"pin {self.label or self.id}: a floor-path pin holds no joints")
        if self.joints is not None:
            missing = [j for j in self.joints if j not in self.source.skeleton.joints]
            if not self.joints or missing:
                raise TimelineError(f"pin {self.label or self.id}: "
                                    + (f"its source has no joint {missing[0]!r}" if missing else "holds no joints"))
        if self.blend is not None and not (MIN_BLEND <= self.blend <= MAX_BLEND):
            raise TimelineError(f"pin {self.label or self.id}: a blend of {self.blend:g} s is outside "
                                f"{MIN_BLEND:g}-{MAX_BLEND:g} s")
        if not (0 <= self.src_start < self.src_stop <= n):
            raise TimelineError(f"pin {self.label or self.id}: frames {self.src_start}-{self.src_stop - 1} "
                                f"are outside its source (0-{n - 1})")

    @property
    def length(self) -> int:
        return self.src_stop - self.src_start

    @property
    def stop(self) -> int:
        return self.at + self.length

    @property
    def partial(self) -> bool:
        """Whether the pin holds part of the motion only (some joints, or the floor path)."""
        return self.joints is not None or self.path

    @property
    def holds(self):
        """None (the whole pose), the joint names it holds, or "path"."""
        return "path" if self.path else self.joints

    def signature(self) -> tuple:
        sig = (self.id, self.version, self.src_start, self.src_stop, self.at, self.blend)
        return sig if self.holds is None else sig + ((self.holds,) if self.path else (tuple(self.joints),))

    def frames(self) -> Motion:
        return self.source.slice(self.src_start, self.src_stop)


@dataclass(frozen=True)
class Gap:
    start: int
    stop: int
    left: Pin | None  # the pin ending at start, if any
    right: Pin | None  # the pin starting at stop, if any
    style: tuple[float, float] = (1.0, 1.0)  # (tempo, energy) its fill is drawn with (styling.py)
    # A morph between the pins either side (blend.py): the fill's latent is the GP's path between
    # their latents, this far from its conditional mean (0: the smoothest morph, 1: a draw); None: a fill.
    morph: float | None = None

    @property
    def length(self) -> int:
        return self.stop - self.start

    @property
    def key(self) -> tuple[str | None, str | None]:
        """The gap by its bordering pins' ids: what a gap's own style is stored under, so it stays
        with the gap while the pins move."""
        return (self.left.id if self.left else None, self.right.id if self.right else None)

    def signature(self) -> tuple:
        sig = (self.start, self.stop, self.left.signature() if self.left else None,
               self.right.signature() if self.right else None)
        # The default style leaves the signature as files written before styles existed have it.
        if self.style != (1.0, 1.0):
            sig += (tuple(self.style),)
        return sig if self.morph is None else sig + (("morph", float(self.morph)),)


class Events:
    """A tiny event hub: ``connect(callback)``; callbacks get (kind, payload)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[str, object], None]] = []

    def connect(self, callback: Callable[[str, object], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[str, object], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, kind: str, payload: object = None) -> None:
        for cb in list(self._callbacks):
            cb(kind, payload)


@dataclass
class Fill:
    """The result of filling the timeline: the whole motion, and per filled gap its seed and signature."""

    motion: Motion  # (length frames) on the model's skeleton
    seeds: dict[tuple[int, int], int]  # (start, stop) -> seed of the gap's latent sample, or a floor path's passes
    signatures: frozenset  # Gap.signature() of every gap this fill covered


class Timeline:
    """A document: length and fps (the model's), the model it targets, pins, and the last fill."""

    def __init__(self, length: int, fps: float, model: str = "dance", skeleton=None) -> None:
        if length < 1:
            raise TimelineError("a timeline needs at least one frame")
        self.length = int(length)
        self.fps = float(fps)
        self.model = model
        self.skeleton = skeleton
        self.pins: list[Pin] = []
        self.fill: Fill | None = None
        self.music = None  # a csgn_core.editing.music.MusicTrack, or None
        # The take's tempo and energy, and the gaps that have their own, by Gap.key (styling.py).
        self.style: tuple[float, float] = (1.0, 1.0)
        self.gap_styles: dict[tuple[str | None, str | None], tuple[float, float]] = {}
        self.gap_morphs: dict[tuple[str | None, str | None], float] = {}  # gaps that morph, by Gap.key
        self.events = Events()

    # --- pickling: a document travels to the model worker without the editor's listeners ------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["pins"] = list(self.pins)
        del state["events"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"gap_morphs": {}, **state})
        self.events = Events()

    # --- queries -----------------------------------------------------------------------------
    def pin(self, pin_id: str) -> Pin:
        for p in self.pins:
            if p.id == pin_id:
                return p
        raise TimelineError(f"no pin {pin_id}")

    def gaps(self) -> list[Gap]:
        """Unpinned ranges, in order, with the pins that border them and the style they are filled with."""
        out, cursor, left = [], 0, None

        def gap(a, b, lp, rp):
            key = (lp.id if lp else None, rp.id if rp else None)
            return Gap(a, b, lp, rp, self.gap_styles.get(key, self.style), self.gap_morphs.get(key))

        for p in self.pins:
            if p.at > cursor:
                out.append(gap(cursor, p.at, left, p))
            cursor, left = p.stop, p
        if cursor < self.length:
            out.append(gap(cursor, self.length, left, None))
        return out

    def pin_at(self, frame: int) -> Pin | None:
        """The pin covering timeline frame ``frame``, if any."""
        for p in self.pins:
            if p.at <= frame < p.stop:
                return p
        return None

    def is_gap_stale(self, gap: Gap) -> bool:
        """Whether ``gap`` lacks a fill made with its current bordering pins."""
        return self.fill is None or gap.signature() not in self.fill.signatures

    def snap_targets(self, playhead: int | None = None, exclude: str | None = None) -> list[int]:
        """Frames a drag snaps to: the timeline's ends, the playhead, every pin edge (but those
        of the pin ``exclude``, the one being dragged) and the music's beats."""
        out = [0, self.length] + ([int(playhead)] if playhead is not None else [])
        for p in self.pins:
            if p.id != exclude:
                out += [p.at, p.stop]
        if self.music is not None:
            out += self.music.beat_frames(self.fps, self.length + 1)
        return out

    def moved(self, pin_id: str, at: int) -> tuple[Pin, list[Pin]]:
        """(the pin moved to ``at``, the whole pin list after the move), checked (TimelineError)."""
        old = self.pin(pin_id)
        return self._replaced(old, replace(old, at=int(at)))

    def trimmed(self, pin_id: str, src_start: int, src_stop: int) -> tuple[Pin, list[Pin]]:
        """(the pin showing source frames [src_start, src_stop), its first frame staying under the
        same source frame, the pin list after it), checked (TimelineError)."""
        old = self.pin(pin_id)
        new = replace(old, src_start=int(src_start), src_stop=int(src_stop), at=old.at + int(src_start) - old.src_start)
        return self._replaced(old, new)

    def _replaced(self, old: Pin, new: Pin) -> tuple[Pin, list[Pin]]:
        pins = [new if p.id == old.id else p for p in self.pins]
        self.check_pins(pins)
        return new, pins

    def gap_at(self, frame: int) -> Gap | None:
        for g in self.gaps():
            if g.start <= frame < g.stop:
                return g
        return None

    def resample_refusal(self, gap: Gap) -> str | None:
        """Why ``gap`` has no variants (a short gap between two pins is all spline transition), or None.
        Torch-free, so the editor can say it before any job starts."""
        from csgn_core.motion.inbetween import SPLINE_SECONDS, gap_spline_weight

        if gap_spline_weight(gap.start, gap.stop, self.length, self.fps) < 1:
            return None
        return (f"this gap is {gap.stop - gap.start} frames: gaps up to {SPLINE_SECONDS[0]:g} s are spline "
                "transitions and have no variants; move a pin to lengthen it")

    def stale_gaps(self) -> list[Gap]:
        """Gaps whose fill is missing or was made before the edits around them."""
        return [g for g in self.gaps() if self.is_gap_stale(g)]

    def is_stale(self) -> bool:
        return self.fill is None or bool(self.stale_gaps()) or self.fill.motion.n_frames != self.length

    # --- edits (each returns what undo needs) ---------------------------------------------------
    def check_pins(self, pins: list[Pin]) -> list[Pin]:
        """The pins sorted by position, or a TimelineError naming the first that runs outside the
        timeline or overlaps another: the one validation of a pin set (commands, project files,
        plans)."""
        pins = sorted(pins, key=lambda p: p.at)
        for p in pins:
            if p.at < 0 or p.stop > self.length:
                raise TimelineError(f"pin {p.label or p.id} at frames {p.at}-{p.stop - 1} runs outside the "
                                    f"timeline (0-{self.length - 1})")
        for a, b in zip(pins, pins[1:]):
            if b.at < a.stop:
                raise TimelineError(f"pins {a.label or a.id} and {b.label or b.id} overlap at frames {b.at}-{a.stop - 1}")
        return pins

    def _set_pins(self, pins: list[Pin], kind: str, payload: object) -> None:
        self.pins = self.check_pins(pins)
        self.events.emit(kind, payload)

    def add_pin(self, pin: Pin) -> Pin:
        self._set_pins(self.pins + [pin], "pin_added", pin)
        return pin

    def remove_pin(self, pin_id: str) -> Pin:
        old = self.pin(pin_id)
        self._set_pins([p for p in self.pins if p.id != pin_id], "pin_removed", old)
        return old

    def replace_pin(self, new: Pin) -> Pin:
        """Swap the pin with new.id for ``new`` (move, trim, new source); returns the old pin."""
        old = self.pin(new.id)
        self._set_pins([new if p.id == new.id else p for p in self.pins], "pin_changed", new)
        return old

    def move_pin(self, pin_id: str, at: int) -> Pin:
        return self.replace_pin(replace(self.pin(pin_id), at=int(at)))

    def trim_pin(self, pin_id: str, src_start: int, src_stop: int) -> Pin:
        """New source range; the pin's first frame keeps its timeline position relative to the source."""
        p = self.pin(pin_id)
        at = p.at + (int(src_start) - p.src_start)
        return self.replace_pin(replace(p, src_start=int(src_start), src_stop=int(src_stop), at=at))

    def set_length(self, length: int) -> int:
        if length < 1:
            raise TimelineError("a timeline needs at least one frame")
        old, self.length = self.length, int(length)
        try:
            self.check_pins(self.pins)
        except TimelineError:
            self.length = old
            raise
        self.events.emit("length_changed", length)
        return old

    def set_style(self, style: tuple[float, float], gap_key=None) -> tuple[float, float] | None:
        """The take's (tempo, energy), or with ``gap_key`` one gap's own (None: the gap follows the
        take again); returns the old value. Gaps whose style changes are out of date until filled."""
        from csgn_core.editing.styling import check_style

        if gap_key is None:
            old, self.style = self.style, check_style(*style)
        else:
            old = self.gap_styles.pop(tuple(gap_key), None)
            if style is not None:
                self.gap_styles[tuple(gap_key)] = check_style(*style)
        self.events.emit("style_changed", gap_key)
        return old

    def set_morph(self, gap_key, spread: float | None) -> float | None:
        """Make the gap ``gap_key`` a morph between its pins (``spread`` 0-1: how far its latent
        strays from the GP's path between theirs), or a plain fill again (None); returns the old value."""
        key = tuple(gap_key)
        if spread is not None:
            if not (isinstance(spread, (int, float)) and math.isfinite(spread) and 0.0 <= spread <= 1.0):
                raise TimelineError(f"a morph's spread must be between 0 and 1, got {spread}")
            if None in key:
                raise TimelineError("a morph needs a pin on both sides of the gap")
        old = self.gap_morphs.pop(key, None)
        if spread is not None:
            self.gap_morphs[key] = float(spread)
        self.events.emit("style_changed", key)
        return old

    def set_music(self, track) -> object:
        """The music track (a MusicTrack or None); returns the old one."""
        old, self.music = self.music, track
        self.events.emit("music_changed", track)
        return old

    def set_fill(self, fill: Fill | None) -> Fill | None:
        if fill is not None and fill.motion.n_frames != self.length:
            raise TimelineError(f"fill has {fill.motion.n_frames} frames, the timeline {self.length}")
        old, self.fill = self.fill, fill
        self.events.emit("fill_changed", fill)
        return old

    # --- the motion to show ------------------------------------------------------------------------
    def pinned_mask(self) -> np.ndarray:
        """(length,) True where a pin holds the frame."""
        mask = np.zeros(self.length, dtype=bool)
        for p in self.pins:
            mask[p.at:p.stop] = True
        return mask

    def current_motion(self) -> Motion | None:
        """What the document shows: the last fill with every pin's own frames laid over it (None before
        the first fill). Pins on another skeleton than the fill's are left as the fill has them."""
        if self.fill is None:
            return None
        m = self.fill.motion
        if not self.pins or not m.has_rotations:
            return m
        rot, root = m.rotations.copy(), m.root.copy()
        for p in self.pins:
            if p.partial:  # the fill holds its joints already, and the generated body around them
                continue
            src = p.frames()
            if src.has_rotations and src.skeleton.same_topology(m.skeleton):
                rot[p.at:p.stop], root[p.at:p.stop] = src.rotations, src.root
        return replace(m, rotations=rot, root=root, meta=dict(m.meta))
