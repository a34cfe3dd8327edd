"""The main window's pin edits: pin a selection, delete, rename, move, trim, set the edge blend and
key a pose by hand. Each asks the Timeline (or ``editing.posing``) for the rule's answer and pushes
one undo command through ``_push``; like the window's other actions (files.py, model_actions.py)
it is a mixin that uses the window's ``doc``, ``timeline``, ``pin_panel``, ``viewport``, ``frame``,
``error`` and ``_push``."""
from __future__ import annotations

from csgn_core.errors import CSGNError

from . import commands as C


class PinActions:
    def pin_selection(self, start: int | None = None, stop: int | None = None, joints=None) -> bool:
        """Pin the current fill's frames [start, stop) (default: the timeline's selection); ``joints``
        a group name ("arms", "legs", ...) or joint names for a partial pin (the rest is generated)."""
        if self.doc is None:
            return False
        if start is None:
            if self.timeline.selection is None:
                self.error("select a range on the timeline first (drag on the track)")
                return False
            start, stop = self.timeline.selection
        if self.doc.fill is None:
            self.error("nothing generated to pin yet")
            return False
        from csgn_core.editing.timeline import Pin

        start, stop = int(start), int(stop)
        if not (0 <= start < stop <= self.doc.length):
            self.error(f"frames {start}-{stop - 1} are outside the timeline")
            return False
        # The pin's source keeps a little of the fill either side, so a trim can grow it back a bit.
        margin = round(2 * self.doc.fps)
        a, b = max(0, start - margin), min(self.doc.fill.motion.n_frames, stop + margin)
        motion = self.doc.fill.motion.slice(a, b)
        # Named for where its frames came from (the take and its frames), not for where it sits: a pin
        # moves, its source does not. The timeline draws its current range beside the name.
        seed = motion.meta.get("seed")
        source = f"take {seed}" if seed is not None else "take"
        from csgn_core.editing.partial import resolve_joints

        try:
            held = None if joints == "path" else resolve_joints(motion.skeleton, joints)
        except CSGNError as e:
            self.error(str(e))
            return False
        pin = Pin(motion, start - a, stop - a, start, label=f"{source} @{start}", joints=held, path=joints == "path")
        text = "Pin selection" if joints is None else (
            "Pin floor path of selection" if joints == "path" else
            f"Pin {joints if isinstance(joints, str) else 'joints'} of selection")
        ok = self._push(C.AddPin(self.doc, pin, text), self.doc.pins + [pin])
        if ok:
            self.timeline.selection = None
            self.timeline.selected_pin = pin.id
        return ok

    def delete_pin(self, pin_id: str | None = None) -> bool:
        pin_id = pin_id or self.timeline.selected_pin
        if self.doc is None or pin_id is None:
            return False
        ok = self._push(C.RemovePin(self.doc, pin_id))
        if ok:
            self.timeline.selected_pin = None
        return ok

    def key_pose(self, joint: int, angles_deg) -> bool:
        """The shown pose at the playhead with ``joint`` turned by ``angles_deg`` (X, Y, Z about its own
        axes) becomes, or updates, the one-frame pin there: one undo step."""
        from csgn_core.editing.posing import keyed, posed_frame

        shown = self.doc.current_motion() if self.doc is not None else None
        if shown is None:
            self.error("nothing to pose yet: generate or fill the timeline first")
            return False
        try:
            old, new = keyed(self.doc, self.frame, posed_frame(shown, self.frame, int(joint), angles_deg))
        except CSGNError as e:
            self.error(str(e))
            return False
        if old is None:
            ok = self._push(C.AddPin(self.doc, new, "Key pose"), self.doc.pins + [new])
        else:
            ok = self._push(C.ReplacePin(self.doc, old, new, "Key pose"))
        if ok:
            self.timeline.selected_pin = new.id
        return ok

    def _preview_pose(self, joint: int, ax: float, ay: float) -> None:
        """While a joint is dragged: draw the turned pose, touching nothing in the document."""
        from csgn_core.editing.posing import posed_frame

        shown = self.doc.current_motion() if self.doc is not None else None
        if shown is None or not 0 <= self.frame < shown.n_frames:
            return
        self.viewport.set_preview(posed_frame(shown, self.frame, joint, [ax, ay, 0.0]).positions[0])

    def set_pin_blend(self, pin_id: str, seconds: float | None) -> bool:
        """The seconds the fill takes to bend into this pin (None: the default); the gaps beside it go stale."""
        return self._edit_pin(pin_id, "Set pin blend", blend=seconds)

    def pin_drawn_path(self, points, start: int | None = None, stop: int | None = None) -> bool:
        """A floor-path pin over [start, stop) (default: the selection, else the gap at the playhead)
        following the drawn floor points (N, 2) (x, z, cm): one undo step, then the gaps around it fill."""
        from csgn_core.editing.partial import path_from_points
        from csgn_core.editing.timeline import Pin

        doc = self.doc
        if doc is None or doc.fill is None:
            self.error("nothing generated yet: generate or fill the timeline first")
            return False
        if start is None:
            if self.timeline.selection is not None:
                start, stop = self.timeline.selection
            else:
                gap = doc.gap_at(self.frame)
                if gap is None:
                    self.error("select the frames the path takes on the timeline (or put the playhead in a gap)")
                    return False
                start, stop = gap.start, gap.stop
        try:
            source = path_from_points(doc.fill.motion.slice(int(start), int(stop)), points)
            pin = Pin(source, 0, source.n_frames, int(start), label=f"path @{start}", path=True)
        except CSGNError as e:
            self.error(str(e))
            return False
        ok = self._push(C.AddPin(doc, pin, "Draw floor path"), doc.pins + [pin])
        if ok:
            self.timeline.selection = None
            self.timeline.selected_pin = pin.id
            self.refill_now()
        return ok

    def set_pin_joints(self, pin_id: str, joints) -> bool:
        """What the pin holds: None (the whole pose), a group name or joint names; one undo step."""
        from csgn_core.editing.partial import resolve_joints

        try:
            held = None if joints == "path" else resolve_joints(self.doc.pin(pin_id).source.skeleton, joints)
        except CSGNError as e:
            self.error(str(e))
            return False
        return self._edit_pin(pin_id, "Pin holds " + ("all" if joints is None else str(joints)), joints=held,
                              path=joints == "path")

    def rename_pin(self, pin_id: str, label: str) -> bool:
        return self._edit_pin(pin_id, "Rename pin", label=label.strip())

    def move_pin(self, pin_id: str, at: int) -> bool:
        return self._replace_pin(pin_id, "Move pin", lambda: self.doc.moved(pin_id, at))

    def trim_pin(self, pin_id: str, src_start: int, src_stop: int) -> bool:
        return self._replace_pin(pin_id, "Trim pin", lambda: self.doc.trimmed(pin_id, src_start, src_stop))

    def _edit_pin(self, pin_id: str, text: str, **fields) -> bool:
        """One ReplacePin for the pin with ``fields`` changed (the Pin refuses values out of bounds)."""
        import dataclasses

        return self._replace_pin(pin_id, text, lambda: (dataclasses.replace(self.doc.pin(pin_id), **fields), []))

    def _replace_pin(self, pin_id: str, label: str, edit) -> bool:
        """Push one ReplacePin for the pin ``edit()`` computes (the Timeline's rule), or say why not."""
        old = self.doc.pin(pin_id)
        try:
            new, _ = edit()
        except CSGNError as e:
            self.error(str(e))
            return False
        return self._push(C.ReplacePin(self.doc, old, new, label))
