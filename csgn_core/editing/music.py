"""The music track of a timeline: a song by path, where it starts, its tempo and beats.

The document keeps the path (saved in the project, never the audio itself), the song's start on the
timeline and the beats found in it, so beat lines and snapping work before (or without) the file
being decoded again. Beats and tempo come from librosa's beat tracker (onset strength, a tempo
estimate from its autocorrelation, then dynamic programming over the beat times, Ellis 2007): the
maintained standard for music analysis in Python, where a hand-made onset detector would have to
re-learn its edge cases (soft onsets, tempo octave errors) one bug report at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from csgn_core.io.audio import Audio, envelope, read_audio

ANALYSIS_RATE = 22050  # Hz: librosa's working rate; beats need no more


@dataclass(frozen=True)
class MusicTrack:
    """A song on the timeline: ``offset`` is the timeline time (s) where its first sample plays."""

    path: str
    seconds: float  # the song's length
    offset: float = 0.0
    bpm: float | None = None
    beats: tuple[float, ...] = field(default=(), repr=False)  # beat times in the song, seconds

    @property
    def name(self) -> str:
        return Path(self.path).name

    def beat_frames(self, fps: float, length: int) -> list[int]:
        """Timeline frames of the beats that fall on the timeline."""
        f = np.round((np.asarray(self.beats, dtype=float) + self.offset) * fps).astype(int)
        return sorted({int(x) for x in f if 0 <= x < length})

    def end_frame(self, fps: float) -> int:
        """The timeline frame after the song's last sample."""
        return max(1, int(round((self.offset + self.seconds) * fps)))

    def moved(self, offset: float) -> "MusicTrack":
        return replace(self, offset=float(offset))


@dataclass(frozen=True)
class LoadedMusic:
    """The track for the document, with its waveform envelope for drawing and (unless left out, as the
    editor's worker does: minutes of samples through its pipe would stall the editor) the decoded audio."""

    track: MusicTrack
    envelope: np.ndarray  # (B, 2) see csgn_core.io.audio.envelope
    audio: Audio | None = None


def detect_beats(audio: Audio) -> tuple[float, tuple[float, ...]]:
    """(tempo in beats per minute, beat times in seconds) of the song."""
    import librosa

    y, sr = audio.samples, audio.rate
    if sr != ANALYSIS_RATE:
        y = librosa.resample(y, orig_sr=sr, target_sr=ANALYSIS_RATE)
        sr = ANALYSIS_RATE
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    bpm = float(np.atleast_1d(tempo)[0])
    return bpm, tuple(round(float(b), 4) for b in beats)


def load_music(path: str | Path, offset: float = 0.0, known: MusicTrack | None = None,
               progress=lambda frac, text="": None, samples: bool = True) -> LoadedMusic:
    """Decode the song at ``path`` and find its beats (unless ``known``, the same song's track from a
    project, already has them); ``samples`` False leaves the decoded audio out of the answer."""
    progress(0.05, "decoding")
    audio = read_audio(path)
    if known is not None and known.beats:
        track = replace(known, path=str(path), seconds=audio.seconds)
    else:
        progress(0.3, "finding the beats")
        bpm, beats = detect_beats(audio)
        track = MusicTrack(str(path), audio.seconds, float(offset), bpm, beats)
    return LoadedMusic(track, envelope(audio), audio if samples else None)
