"""Undo commands: every edit of the document goes through one of these on the window's QUndoStack.

Each command holds the states it needs both ways (a fill command holds the finished fill, so redo
never samples again). Edits that the document refuses raise ``TimelineError`` from ``redo`` on the
first push; the window checks an edit first (``check``) so a refused edit never reaches the stack.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class AddPin(QUndoCommand):
    def __init__(self, doc, pin, text: str = "Pin"):
        super().__init__(text)
        self.doc, self.pin = doc, pin

    def redo(self):
        self.doc.add_pin(self.pin)

    def undo(self):
        self.doc.remove_pin(self.pin.id)


class RemovePin(QUndoCommand):
    def __init__(self, doc, pin_id: str):
        super().__init__("Delete pin")
        self.doc, self.pin = doc, doc.pin(pin_id)

    def redo(self):
        self.doc.remove_pin(self.pin.id)

    def undo(self):
        self.doc.add_pin(self.pin)


class ReplacePin(QUndoCommand):
    """A move or trim: the pin before and after."""

    def __init__(self, doc, old, new, text: str):
        super().__init__(text)
        self.doc, self.old, self.new = doc, old, new

    def redo(self):
        self.doc.replace_pin(self.new)

    def undo(self):
        self.doc.replace_pin(self.old)


class SetFill(QUndoCommand):
    def __init__(self, doc, fill, text: str = "Fill gaps"):
        super().__init__(text)
        self.doc, self.new, self.old = doc, fill, doc.fill

    def redo(self):
        self.doc.set_fill(self.new)

    def undo(self):
        self.doc.set_fill(self.old)


class SetState(QUndoCommand):
    """A change of length, pins and fill at once (Predict continuation); holds both states, so redo
    never samples again and undo gives back the old length and content exactly."""

    def __init__(self, doc, old, new, text: str):
        super().__init__(text)
        self.doc, self.old, self.new = doc, old, new

    def redo(self):
        _apply(self.doc, self.new)

    def undo(self):
        _apply(self.doc, self.old)


def _apply(doc, state) -> None:
    # Order matters: the fill must match the length, and the pins must fit it at every step.
    doc.set_fill(None)
    for p in list(doc.pins):
        if p not in state.pins:
            doc.remove_pin(p.id)
    if doc.length != state.length:
        doc.set_length(state.length)
    for p in state.pins:
        if p not in doc.pins:
            doc.add_pin(p)
    doc.set_fill(state.fill)


def check(doc, pins) -> None:
    """Raise TimelineError when ``pins`` would not be a valid pin list for ``doc``."""
    doc.check_pins(list(pins))


class SetMusic(QUndoCommand):
    """Load, replace or remove the music track (the song's media stay with the window)."""

    def __init__(self, doc, track, text: str):
        super().__init__(text)
        self.doc, self.new, self.old = doc, track, doc.music

    def redo(self):
        self.doc.set_music(self.new)

    def undo(self):
        self.doc.set_music(self.old)


class SetMorph(QUndoCommand):
    """Make one gap a morph between its pins at a spread, or a plain fill again (spread None)."""

    def __init__(self, doc, key, spread, text: str):
        super().__init__(text)
        self.doc, self.key, self.new = doc, tuple(key), spread
        self.old = doc.gap_morphs.get(self.key)

    def redo(self):
        self.doc.set_morph(self.key, self.new)

    def undo(self):
        self.doc.set_morph(self.key, self.old)


class SetStyle(QUndoCommand):
    """The take's tempo and energy, or one gap's own (``key``: the gap's pins; style None: the gap
    follows the take again)."""

    def __init__(self, doc, style, key, text: str):
        super().__init__(text)
        self.doc, self.key, self.new = doc, key, style
        self.old = doc.style if key is None else doc.gap_styles.get(tuple(key))

    def redo(self):
        self.doc.set_style(self.new, self.key)

    def undo(self):
        self.doc.set_style(self.old, self.key)
