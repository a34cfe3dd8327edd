"""The window's music track: load a song, remove it, fit the timeline to it, and its sound following
playback (mixed into ``MainWindow``; the sound itself is audio_out.py).

The document holds the track (path, start, tempo, beats); the song's beats and waveform come from
the model worker (librosa's beat tracker is seconds of work, and its import would stall the editor),
the samples for the sound from a reader thread here (libsndfile decodes without the GIL, and minutes
of samples through the worker's pipe would stall the UI thread that receives them). Both are kept
per path, so undo and redo never decode again.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from . import commands as C
from .audio_out import AudioOut

MUSIC_FILTER = "Music (*.wav *.ogg *.flac *.mp3 *.WAV *.OGG *.FLAC *.MP3);;All files (*)"


class SongReader(QtCore.QObject):
    """Decodes a song for playback on a thread of its own; ``decoded(path, Audio or error text)``
    arrives on the UI thread."""

    decoded = QtCore.Signal(str, object)

    def read(self, path: str) -> None:
        def run():
            from csgn_core.errors import CSGNError
            from csgn_core.io.audio import read_audio

            try:
                result = read_audio(path)
            except (CSGNError, OSError, MemoryError) as e:
                result = str(e)
            self.decoded.emit(path, result)

        threading.Thread(target=run, name="csgn-song-reader", daemon=True).start()


class MusicActions:
    def _init_music(self) -> None:
        self.audio = AudioOut()
        self.music_media: dict[str, object] = {}  # path -> LoadedMusic (beats, waveform)
        self.music_sound: dict[str, object] = {}  # path -> Audio (the samples played), or "reading"
        self.song_reader = SongReader(self)
        self.song_reader.decoded.connect(self._song_decoded)
        self._said_no_sound = False
        self._media_retry = QtCore.QTimer(self)
        self._media_retry.setInterval(400)
        self._media_retry.timeout.connect(self._music_changed)

    def _build_music_menu(self, menu) -> None:
        self._act(menu, "&Load music...", lambda: self.load_music(), "Ctrl+M")
        self.act_remove_music = self._act(menu, "&Remove music", lambda: self.remove_music())
        self.act_fit_music = self._act(menu, "&Fit timeline to song", lambda: self.fit_timeline_to_music())
        self.act_mute = self._act(menu, "M&ute", lambda on: self._mute(on), checkable=True)

    # --- edits ----------------------------------------------------------------------------------
    def load_music(self, path: str | Path | None = None) -> int | None:
        """Decode a song and find its beats in the worker, then put it on the timeline (one undo step)."""
        if self.doc is None:
            return None
        if path is None:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load music", self._last_dir("music"), MUSIC_FILTER)
            if not path:
                return None
            self._remember_dir("music", path)
        doc, path = self.doc, str(path)
        offset = doc.music.offset if doc.music is not None else 0.0

        def done(loaded):
            if self.doc is not doc:
                return
            self.music_media[loaded.track.path] = loaded
            self._push(C.SetMusic(doc, loaded.track, f"Load music {loaded.track.name}"))
            bpm = f", {loaded.track.bpm:.0f} BPM, {len(loaded.track.beats)} beats" if loaded.track.bpm else ""
            self.status(f"music: {loaded.track.name} ({loaded.track.seconds:.1f} s{bpm})")

        return self.run_job("music", {"path": path, "offset": offset}, f"Load music {Path(path).name}", done)

    def remove_music(self) -> bool:
        if self.doc is None or self.doc.music is None:
            self.status("there is no music to remove")
            return False
        return self._push(C.SetMusic(self.doc, None, "Remove music"))

    def fit_timeline_to_music(self) -> bool:
        """The timeline ends where the song does (one undo step): a longer one holds the fill's last
        frame up to the new end, to be filled; a shorter one cuts pins and fill there."""
        from csgn_core.editing.continuation import DocState, resized_state

        doc = self.doc
        if doc is None or doc.music is None:
            self.status("load music first (Music > Load music)")
            return False
        length = doc.music.end_frame(doc.fps)
        if length == doc.length:
            self.status("the timeline already ends with the song")
            return False
        ok = self._push(C.SetState(doc, DocState.of(doc), resized_state(doc, length), "Fit timeline to song"))
        if ok:
            self.status(f"the timeline is now {length} frames ({length / doc.fps:.1f} s), as long as the song")
        return ok

    # --- the track's media and sound ----------------------------------------------------------
    def _music_changed(self) -> None:
        """The document's track changed (an edit, undo, an opened project): show and play the
        decoded song, decoding it first if this window has not yet."""
        track = self.doc.music if self.doc is not None else None
        has = track is not None
        for a in (self.act_remove_music, self.act_fit_music):
            a.setEnabled(has)
        if track is None:
            self._media_retry.stop()
            self.audio.set_song(None)
            self.timeline.set_music_media(None)
            return
        media = self.music_media.get(track.path)
        if media is None:
            self.timeline.set_music_media(None)
            if self.busy:  # a fill is running: decode when it is done
                self._media_retry.start()
                return
            self._media_retry.stop()
            doc = self.doc

            def done(loaded):
                self.music_media[track.path] = loaded
                if self.doc is doc:
                    self._music_changed()

            self.run_job("music", {"path": track.path, "known": track}, f"Load music {track.name}", done)
            return
        self._media_retry.stop()
        self.timeline.set_music_media(media)
        sound = self.music_sound.get(track.path)
        if sound is None:
            self.music_sound[track.path] = "reading"
            self.song_reader.read(track.path)
        elif not isinstance(sound, str) and self.audio.samples is not sound.samples:
            self.audio.set_song(sound.samples, sound.rate, track.offset)
        self.audio.set_offset(track.offset)

    def _song_decoded(self, path: str, result) -> None:
        if isinstance(result, str):
            self.music_sound.pop(path, None)
            self.status(f"the music cannot play: {result}", 15000)
            return
        self.music_sound[path] = result
        if self.doc is not None and self.doc.music is not None and self.doc.music.path == path:
            self._music_changed()

    def _music_follow(self, frame: int, scrubbed: bool) -> None:
        """Keep the sound with the motion: while playing, restart it where it drifted (a loop's wrap, a
        new speed); when paused, a scrub or step plays a short burst at the new frame."""
        if self.doc is None or self.doc.music is None or self.audio.samples is None or self.act_mute.isChecked():
            return
        t = frame / self.doc.fps
        if self.playing:
            if not self.audio.in_sync(t, self.playback.speed):
                self._sound(self.audio.start(t, self.playback.speed))
        elif scrubbed:
            self._sound(self.audio.scrub(t))

    def _music_stop(self) -> None:
        self.audio.stop()

    def _sound(self, ok: bool) -> None:
        if not ok and self.audio.error and not self._said_no_sound:
            self._said_no_sound = True
            self.status(f"the music plays silently here ({self.audio.error})", 15000)

    def _mute(self, on: bool) -> None:
        if on:
            self.audio.stop()
