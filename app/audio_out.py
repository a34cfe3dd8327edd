"""The music track's sound: the decoded song played from a timeline time, at the playback speed.

The editor asks for sound to start at a timeline time (``start``), stop (``stop``) or play a short
burst where the user scrubs (``scrub``); ``render`` makes each block of samples from the song, so
it is tested without a sound card. The output is a sounddevice (PortAudio) stream opened on first
use; where none can be opened (no PortAudio, no device) the track stays on screen, silent, and
``error`` says why once.
"""
from __future__ import annotations

import numpy as np

SCRUB_SECONDS = 0.08  # a scrub plays this much of the song at the new time, as Blender's audio scrubbing


def _sounddevice_stream(rate: int, callback):
    import sounddevice

    def cb(outdata, frames, _time, _status):
        outdata[:, 0] = callback(frames)

    stream = sounddevice.OutputStream(samplerate=rate, channels=1, dtype="float32", callback=cb, latency="low")
    stream.start()
    return stream


class AudioOut:
    """``samples`` (N,) float32 at ``rate``, whose first sample plays at timeline time ``offset``."""

    def __init__(self, opener=_sounddevice_stream):
        self._opener = opener
        self._stream = None
        self.samples: np.ndarray | None = None
        self.rate = 0
        self.offset = 0.0
        self.speed = 1.0
        self.playing = False
        self._pos = 0.0  # the song's sample heard next
        self._left = None  # samples a scrub burst still plays (None: not a burst)
        self.error: str | None = None

    def set_song(self, samples: np.ndarray | None, rate: int = 0, offset: float = 0.0) -> None:
        """A new song (or None: silence); the output is reopened when the rate changes."""
        self.playing, self._left = False, None
        if self._stream is not None and rate != self.rate:
            self.close()
        self.samples, self.rate, self.offset = samples, int(rate), float(offset)

    def set_offset(self, offset: float) -> None:
        self.offset = float(offset)

    # --- what the editor asks for -----------------------------------------------------------------
    def start(self, t: float, speed: float = 1.0) -> bool:
        """Play from timeline time ``t`` at ``speed`` (the song runs faster or slower with the motion,
        and its pitch with it, as tape does). False when there is nothing to play or no output."""
        if self.samples is None or not self._open():
            return False
        self._pos, self.speed, self._left, self.playing = (t - self.offset) * self.rate, float(speed), None, True
        return True

    def stop(self) -> None:
        self.playing, self._left = False, None

    def scrub(self, t: float) -> bool:
        """A short burst of the song at timeline time ``t``."""
        if self.samples is None or not self._open():
            return False
        self._pos, self.speed, self.playing = (t - self.offset) * self.rate, 1.0, True
        self._left = int(SCRUB_SECONDS * self.rate)
        return True

    def position(self) -> float | None:
        """The timeline time being heard, or None when silent."""
        if not self.playing or self.rate <= 0:
            return None
        return self.offset + self._pos / self.rate

    def in_sync(self, t: float, speed: float, tolerance: float = 0.1) -> bool:
        """Whether the sound follows the motion at timeline time ``t`` (a loop's wrap, a jump or a new
        speed says no, and the editor starts it again there)."""
        pos = self.position()
        return pos is not None and self._left is None and self.speed == speed and abs(pos - t) <= tolerance

    # --- the sound --------------------------------------------------------------------------------
    def render(self, n: int) -> np.ndarray:
        """The next ``n`` output samples (silence outside the song and when stopped)."""
        out = np.zeros(n, dtype=np.float32)
        x = self.samples
        if not self.playing or x is None:
            return out
        if self._left is not None:
            n_play = min(n, self._left)
            self._left -= n_play
            if self._left <= 0:
                self.playing, self._left = False, None
        else:
            n_play = n
        idx = self._pos + self.speed * np.arange(n_play)
        self._pos += self.speed * n_play
        inside = (idx >= 0) & (idx < len(x) - 1)
        if inside.any():
            i = idx[inside]
            k = i.astype(np.int64)
            frac = (i - k).astype(np.float32)
            out[:n_play][inside] = x[k] * (1 - frac) + x[k + 1] * frac  # linear resampling at speed != 1
        return out

    def _open(self) -> bool:
        if self._stream is not None:
            return True
        if self.error is not None:
            return False
        try:
            self._stream = self._opener(self.rate, self.render)
        except Exception as e:  # noqa: BLE001 - no PortAudio, no device, a busy device: all mean silence
            self.error = f"no sound: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
            return False
        return True

    def close(self) -> None:
        s, self._stream = self._stream, None
        if s is not None:
            try:
                s.stop()
                s.close()
            except Exception:  # noqa: BLE001 - a device that went away while playing
                pass
