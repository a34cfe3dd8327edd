"""The music track: decoding the four formats, beats and tempo, the document and the project file."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("soundfile")


def click_track(bpm: float = 120.0, seconds: float = 12.0, rate: int = 22050) -> np.ndarray:
    """A metronome: a 30 ms decaying noise burst on every beat (accented every fourth), over a quiet hum."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.02 * np.sin(2 * np.pi * 110 * t)
    n = int(0.03 * rate)
    burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.006 * rate))
    for i, start in enumerate(np.arange(0.25, seconds - 0.1, 60.0 / bpm)):
        k = int(start * rate)
        x[k:k + n] += (0.9 if i % 4 == 0 else 0.5) * burst[: len(x) - k]
    return np.clip(x, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    import soundfile

    path = tmp_path_factory.mktemp("music") / "métronome 120.wav"  # non-ASCII on purpose
    soundfile.write(path, np.stack([click_track()] * 2, axis=1), 22050)  # stereo, as most songs are
    return path


@pytest.mark.parametrize("ext", ["wav", "ogg", "flac", "mp3"])
def test_each_format_decodes_to_mono_of_the_right_length(tmp_path, ext):
    import soundfile

    from csgn_core.io.audio import read_audio

    path = tmp_path / f"song.{ext}"
    soundfile.write(path, click_track(seconds=3.0), 22050)
    a = read_audio(path)
    assert a.samples.ndim == 1 and a.samples.dtype == np.float32 and a.rate == 22050
    assert abs(a.seconds - 3.0) < 0.1  # mp3 pads a frame or two


def test_bad_audio_files_say_what_is_wrong(tmp_path):
    from csgn_core.io.audio import AudioFileError, read_audio

    (tmp_path / "notes.mp3").write_text("these are not sounds")
    (tmp_path / "empty.wav").write_bytes(b"")
    for name in ("notes.mp3", "empty.wav", "missing.ogg"):
        with pytest.raises(AudioFileError) as e:
            read_audio(tmp_path / name)
        assert name in str(e.value) and "\n" not in str(e.value)


def test_envelope_holds_the_waveform_extremes():
    from csgn_core.io.audio import Audio, envelope

    x = click_track(seconds=2.0)
    env = envelope(Audio(x, 22050), rate=100)
    assert env.shape == (200, 2)
    assert np.isclose(env[:, 1].max(), x.max()) and np.isclose(env[:, 0].min(), x.min())
    assert (env[:, 0] <= env[:, 1]).all()


def test_beats_and_tempo_of_a_metronome(song):
    from csgn_core.editing.music import load_music

    m = load_music(song)
    assert abs(m.track.bpm - 120) < 3, m.track.bpm
    gaps = np.diff(m.track.beats)
    assert len(m.track.beats) >= 18 and np.median(gaps) == pytest.approx(0.5, abs=0.03)
    # the beats sit on the clicks (every 0.5 s from 0.25 s), within a frame at 30 fps
    phase = (np.asarray(m.track.beats) - 0.25) % 0.5
    assert np.median(np.minimum(phase, 0.5 - phase)) < 1 / 30
    assert m.envelope.shape[1] == 2 and abs(m.track.seconds - 12.0) < 0.01


def test_the_document_snaps_to_beats_and_saves_the_track_by_path(song, tmp_path):
    from csgn_core.editing.music import MusicTrack
    from csgn_core.editing.project import load_project, save_project
    from csgn_core.editing.timeline import Timeline

    doc = Timeline(300, 30.0, "dance")
    track = MusicTrack(str(song), 12.0, offset=1.0, bpm=120.0, beats=(0.2, 0.7, 1.2))
    seen = []
    doc.events.connect(lambda kind, payload: seen.append(kind))
    assert doc.set_music(track) is None and seen == ["music_changed"]
    assert {36, 51, 66} <= set(doc.snap_targets())  # (beat + offset) * fps
    assert track.end_frame(30.0) == 390
    back = load_project(save_project(doc, tmp_path / "with music.csgnproj"))
    assert back.music == track
    assert load_project(save_project(Timeline(300, 30.0), tmp_path / "none.csgnproj")).music is None


def test_a_project_moved_with_its_song_still_finds_it(song, tmp_path):
    import shutil

    from csgn_core.editing.music import MusicTrack
    from csgn_core.editing.project import load_project, save_project
    from csgn_core.editing.timeline import Timeline

    home = tmp_path / "home"
    home.mkdir()
    local = home / song.name
    shutil.copy(song, local)
    doc = Timeline(300, 30.0)
    doc.set_music(MusicTrack(str(local), 12.0))
    save_project(doc, home / "p.csgnproj")
    moved = tmp_path / "moved"
    shutil.move(home, moved)
    assert load_project(moved / "p.csgnproj").music.path == str((moved / song.name).resolve())


@pytest.mark.parametrize("bad", [{"path": 3}, {"path": "a.wav", "seconds": -1, "offset": 0},
                                 {"path": "a.wav", "seconds": 5, "offset": 0, "beats": ["x"]},
                                 {"path": "a.wav", "seconds": 5, "offset": 0, "bpm": 1e9}, [1]])
def test_a_damaged_music_entry_is_one_clear_error(tmp_path, bad):
    import json
    import zipfile

    from csgn_core.editing.project import ProjectFileError, load_project, save_project
    from csgn_core.editing.timeline import Timeline

    path = save_project(Timeline(30, 30.0), tmp_path / "p.csgnproj")
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("project.json"))
    meta["music"] = bad
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.json", json.dumps(meta))
    with pytest.raises(ProjectFileError, match="damaged project"):
        load_project(path)
