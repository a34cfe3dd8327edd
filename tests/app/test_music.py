"""The music track in the editor: load a song (decoded and beat-tracked in the worker), its waveform
and beats on the timeline, pins snapping to beats, fitting the timeline to the song, saving it in
the project, and the sound following playback (through a recording output: CI has no sound card)."""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import run

pytest.importorskip("soundfile")


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    import soundfile

    from tests.core.test_music import click_track

    path = tmp_path_factory.mktemp("songs") / "click 120 bpm.ogg"
    soundfile.write(path, click_track(120.0, seconds=14.0), 22050)
    return path


class Recorder:
    """A sound output that only pulls blocks when asked, as PortAudio's thread would."""

    def __init__(self):
        self.opened = []

    def __call__(self, rate, callback):
        self.opened.append(rate)
        self.callback = callback
        return self

    def stop(self):
        pass

    def close(self):
        pass


@pytest.fixture
def mwin(win, qtbot, song):
    from app.audio_out import AudioOut

    win.audio = AudioOut(opener=Recorder())
    run(qtbot, win, win.load_music(song), timeout=120_000)
    assert win.doc.music is not None, win.last_error
    qtbot.waitUntil(lambda: win.audio.samples is not None, timeout=20_000)  # decoded for the sound
    return win


def test_load_music_puts_the_song_and_its_beats_on_the_timeline(mwin, qtbot):
    win = mwin
    track = win.doc.music
    assert abs(track.bpm - 120) < 3 and len(track.beats) >= 20
    assert win.undo.undoText().startswith("Load music")
    win.timeline.repaint()
    assert len(win.timeline._wave_lines) > 100  # one line per pixel column the song covers
    win.undo.undo()
    assert win.doc.music is None and win.audio.samples is None
    win.undo.redo()  # no second decode: the media stay with the window
    assert not win.busy and win.doc.music == track and win.audio.samples is not None


def test_pins_snap_to_beats(mwin, qtbot):
    from PySide6 import QtCore

    from app.timeline_view import PIN_Y

    win = mwin
    win.pin_selection(20, 50)
    beats = win.doc.music.beat_frames(win.doc.fps, win.doc.length)
    target = next(b for b in beats if b > 120)
    tv = win.timeline
    pin = win.doc.pins[0]
    grab = QtCore.QPoint(int(tv.frame_to_x(pin.at + 10)), PIN_Y + 10)
    drop = QtCore.QPoint(int(tv.frame_to_x(target + 10 + 1)), PIN_Y + 10)  # a frame off the beat
    assert tv.snap(target + 1, pin.id) == target
    qtbot.mousePress(tv, QtCore.Qt.LeftButton, pos=grab)
    qtbot.mouseMove(tv, drop)
    qtbot.mouseRelease(tv, QtCore.Qt.LeftButton, pos=drop)
    assert win.doc.pins[0].at == target


def test_fit_timeline_to_song_is_one_undo_step(mwin):
    win = mwin
    before = win.doc.length
    assert win.fit_timeline_to_music()
    assert win.doc.length == win.doc.music.end_frame(win.doc.fps) == 420
    assert win.doc.fill.motion.n_frames == 420 and win.doc.is_stale()  # the new end waits for a fill
    win.undo.undo()
    assert win.doc.length == before and not win.doc.is_stale()


def test_the_project_keeps_the_song_and_reopens_with_it(mwin, qtbot, tmp_path, make_window):
    win = mwin
    path = tmp_path / "dance with music.csgnproj"
    assert win.save_as(path)
    other = make_window()
    assert other.open_project(path, ask=False)
    assert other.doc.music == win.doc.music
    qtbot.waitUntil(lambda: other.timeline.music_media is not None, timeout=60_000)  # decoded again
    assert not other.last_error


def test_a_missing_song_is_said_and_the_document_kept(win, qtbot, tmp_path):
    before = win.doc
    job = win.load_music(tmp_path / "gone.mp3")
    run(qtbot, win, job)
    assert win.doc is before and win.doc.music is None
    assert "gone.mp3" in win.last_error and "no such file" in win.last_error


def test_the_sound_follows_playback_scrub_loop_and_speed(mwin, qtbot):
    win = mwin
    out = win.audio
    win.set_frame(60)  # paused: a scrub plays a short burst there
    assert out.playing and out._left is not None and out.position() == pytest.approx(2.0)
    out.render(int(0.2 * out.rate))
    assert not out.playing  # the burst ended by itself
    win.play()
    assert out.playing and out.in_sync(win.playback.frame_now() / win.doc.fps, 1.0)
    win.pause()
    assert not out.playing
    win.playback.speed = 2.0
    win.play()
    assert out.speed == 2.0
    win.set_frame(10)  # the loop wrapped (or the user jumped) while playing: the sound starts again there
    assert out.position() == pytest.approx(10 / win.doc.fps, abs=0.05)
    win.pause()
    win.act_mute.setChecked(True)
    win.set_frame(90)
    assert not out.playing


def test_audio_render_plays_the_song_at_the_asked_time_and_speed():
    from app.audio_out import AudioOut

    x = np.linspace(-1, 1, 1000, dtype=np.float32)
    out = AudioOut(opener=Recorder())
    out.set_song(x, 100, offset=2.0)  # the song starts 2 s into the timeline
    assert out.start(3.0)
    assert np.allclose(out.render(10), x[100:110])
    assert out.start(1.0)  # before the song starts: silence, then the song
    block = out.render(120)
    assert np.all(block[:100] == 0) and np.allclose(block[100:], x[:20])
    assert out.start(4.0, speed=2.0)
    assert np.allclose(out.render(5), x[200:210:2])
    out.stop()
    assert np.all(out.render(8) == 0)


def test_no_sound_device_leaves_the_track_silent_and_says_so():
    from app.audio_out import AudioOut

    def broken(rate, callback):
        raise OSError("PortAudio library not found")

    out = AudioOut(opener=broken)
    out.set_song(np.zeros(100, dtype=np.float32), 100)
    assert not out.start(0.0) and "PortAudio" in out.error
    assert not out.scrub(0.5)
