"""Music files (WAV, OGG, FLAC, MP3): decoded to mono float samples for the editor's music track.

Decoding goes through soundfile (libsndfile, which reads all four formats in its bundled build, with
no ffmpeg to install); a file it cannot read, or one that is not audio, gives one ``AudioFileError``
line and never a half-loaded track.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.io.archive import read_bytes

SUFFIXES = (".wav", ".ogg", ".flac", ".mp3")
MAX_SECONDS = 30 * 60  # a song, not a radio show: bounds the memory a track may take
ENVELOPE_RATE = 200  # waveform bins per second kept for drawing


class AudioFileError(CSGNError):
    pass


@dataclass(frozen=True)
class Audio:
    """Mono samples (N,) float32 in [-1, 1] at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def read_audio(path: str | Path) -> Audio:
    """The file's samples, channels averaged to mono."""
    import soundfile

    name = Path(path).name
    try:
        data = read_bytes(path)
    except CSGNError as e:
        raise AudioFileError(f"{path}: {getattr(e, 'reason', e)}") from None
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as f:
            if f.frames > MAX_SECONDS * f.samplerate:
                raise AudioFileError(f"{name}: {f.frames / f.samplerate / 60:.0f} minutes of audio; "
                                     f"the music track takes up to {MAX_SECONDS // 60}")
            x = f.read(dtype="float32", always_2d=True)
            rate = int(f.samplerate)
    except AudioFileError:
        raise
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as e:
        raise AudioFileError(f"{name}: not a music file soundfile can read (WAV, OGG, FLAC or MP3): "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if len(x) == 0 or rate <= 0:
        raise AudioFileError(f"{name}: the file holds no audio")
    mono = np.clip(x.mean(axis=1), -1.0, 1.0).astype(np.float32)
    return Audio(np.nan_to_num(mono), rate)


def envelope(audio: Audio, rate: int = ENVELOPE_RATE) -> np.ndarray:
    """(B, 2) the lowest and highest sample in each 1/rate s bin: enough to draw the waveform at any
    zoom the timeline offers without keeping the samples in the view."""
    per_bin = audio.rate / rate
    starts = np.unique(np.floor(np.arange(0, len(audio.samples) / per_bin) * per_bin).astype(np.int64))
    lo = np.minimum.reduceat(audio.samples, starts)
    hi = np.maximum.reduceat(audio.samples, starts)
    return np.stack([lo, hi], axis=1).astype(np.float32)
