"""The window's tempo, energy and morph edits (mixed into ``MainWindow``; the panel is style_panel.py):
each is one undo command, and the affected gaps are filled again at once, as an auto-fill is."""
from __future__ import annotations

from csgn_core.errors import CSGNError

from . import commands as C

# The dance model learnt ballroom dances: 32 waltzes, 8 rumbas and 5 cha-chas (docs/data.md). At
# the WDSF competition tempi (waltz 28-30 bars a minute of 3 beats, rumba 25-27 of 4, cha-cha 30-32
# of 4) that is about 94 beats a minute on average: the song tempo at which tempo 1 is "in time".
# The dataset's audio is not in the project's data, so this is the standard's figure, not a measure.
REFERENCE_BPM = {"dance": 94.0}


class StyleActions:
    def set_style(self, style, gap_key=None) -> bool:
        """The take's (tempo, energy), or a gap's own (``gap_key``; None style: follow the take)."""
        doc = self.doc
        if doc is None:
            return False
        old = doc.style if gap_key is None else doc.gap_styles.get(tuple(gap_key))
        if (None if style is None else tuple(map(float, style))) == old:
            return False
        what = "take" if gap_key is None else "gap"
        text = ("Gap follows the take" if style is None else
                f"{what.capitalize()} tempo {style[0]:.2f}, energy {style[1]:.2f}")
        try:
            if style is not None:
                from csgn_core.editing.styling import check_style

                check_style(*style)
        except CSGNError as e:
            self.error(str(e))
            return False
        if not self._push(C.SetStyle(doc, None if style is None else tuple(map(float, style)), gap_key, text)):
            return False
        self.refill_now()
        return True

    def set_morph(self, gap_key, spread: float | None) -> bool:
        """Make the gap ``gap_key`` morph its left pin into its right one (``spread`` 0-1), or a plain
        fill again (None); one undo step, and the gap fills again at once."""
        doc = self.doc
        if doc is None:
            return False
        key = tuple(gap_key)
        if (None if spread is None else float(spread)) == doc.gap_morphs.get(key):
            return False
        if spread is not None and (None in key or not 0.0 <= float(spread) <= 1.0):
            self.error("a morph needs a pin on both sides of the gap and a spread between 0 and 1")
            return False
        text = "Gap fills plainly" if spread is None else f"Gap morphs, spread {float(spread):.2f}"
        if not self._push(C.SetMorph(doc, key, None if spread is None else float(spread), text)):
            return False
        self.refill_now()
        return True

    def refill_now(self) -> None:
        """Fill the out-of-date gaps at once (a style change asks to hear its effect, not to wait)."""
        if self.doc is None or not self.doc.stale_gaps():
            return
        if self.jobs.busy:
            if not self.jobs.auto_running:
                self.auto_fill_timer.start()  # the user's own job goes first; fill after it
                return
            self.cancel_job()
        self.fill_gaps(auto=True)

    def match_tempo_to_music(self) -> bool:
        """The take's tempo from the song's: the song's beats a minute over the model's own."""
        from csgn_core.editing.styling import TEMPO_RANGE

        doc = self.doc
        if doc is None or doc.music is None or not doc.music.bpm:
            self.status("load music first (Music > Load music): its tempo sets the dance's")
            return False
        ref = REFERENCE_BPM.get(str(doc.model))
        if ref is None:
            self.error(f"the model '{doc.model}' did not learn dances to music, so it has no tempo to match; "
                       "set the tempo in the Style panel instead")
            return False
        tempo = min(max(doc.music.bpm / ref, TEMPO_RANGE[0]), TEMPO_RANGE[1])
        changed = self.set_style((round(tempo, 3), doc.style[1]))
        if changed:
            self.status(f"tempo {tempo:.2f}: the song's {doc.music.bpm:.0f} BPM over the model's {ref:.0f}")
        return changed
