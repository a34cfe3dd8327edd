"""The style panel: tempo and energy of the take or of one gap, each edit one undo step that fills the
affected gaps again at once; Generate > Match tempo to music."""
from __future__ import annotations

import time

import pytest

from .conftest import run


def _two_pins(win):
    win.pin_selection(60, 90)
    win.pin_selection(200, 230)
    run(win._qtbot, win, win.fill_gaps(seed=2))


@pytest.fixture
def swin(win, qtbot):
    win._qtbot = qtbot
    _two_pins(win)
    assert not win.doc.is_stale()
    return win


def test_take_tempo_is_one_undo_step_and_refills_at_once(swin, qtbot):
    from app.style_panel import TAKE

    win, panel = swin, swin.style_panel
    panel.scope.setCurrentIndex(TAKE)
    old_fill = win.doc.fill
    t0 = time.perf_counter()
    panel.tempo_box.setValue(1.5)
    assert win.doc.style == (1.5, 1.0) and win.undo.undoText() == "Take tempo 1.50, energy 1.00"
    assert win.busy  # the re-fill started by itself
    run(qtbot, win, True)
    answered = time.perf_counter() - t0
    assert not win.doc.is_stale() and win.doc.fill is not old_fill
    assert answered < 5.0  # the editor's own figure (bench_ui_stalls.py) is well under a second
    assert all(g.style == (1.5, 1.0) for g in win.doc.gaps())
    win.undo.undo()  # the fill
    win.undo.undo()  # the tempo
    assert win.doc.style == (1.0, 1.0) and panel.tempo_box.value() == 1.0


def test_a_gap_of_its_own_and_follow_the_take(swin, qtbot):
    from app.style_panel import GAP

    win, panel = swin, swin.style_panel
    win.set_frame(140)  # in the gap between the pins
    panel.scope.setCurrentIndex(GAP)
    panel.energy_box.setValue(0.6)
    run(qtbot, win, True)
    gaps = win.doc.gaps()
    middle = next(g for g in gaps if g.start == 90)
    assert middle.style == (1.0, 0.6) and all(g.style == (1.0, 1.0) for g in gaps if g is not middle)
    assert panel.follow.isEnabled()
    win.set_frame(20)  # another gap: the panel shows it, following the take
    assert panel.energy_box.value() == 1.0 and not panel.follow.isEnabled()
    win.set_frame(140)
    panel.follow.click()
    run(qtbot, win, True)
    assert win.doc.gap_styles == {} and not win.doc.is_stale()


def test_a_slider_drag_is_one_command_on_release(swin, qtbot):
    win, panel = swin, swin.style_panel
    n = win.undo.count()
    panel.energy.setSliderDown(True)
    for v in (110, 120, 130, 140):
        panel.energy.setValue(v)
    assert win.undo.count() == n and panel.energy_box.value() == pytest.approx(1.4)  # nothing yet
    panel.energy.setSliderDown(False)  # the release
    panel.energy.sliderReleased.emit()
    assert win.undo.count() == n + 1 and win.doc.style == (1.0, 1.4)
    run(qtbot, win, True)


def test_match_tempo_to_music(swin, qtbot, monkeypatch, tmp_path):
    import soundfile

    import app.style_actions as S
    from app.audio_out import AudioOut
    from tests.core.test_music import click_track

    win = swin
    assert not win.match_tempo_to_music()  # no music yet: says so, changes nothing
    song = tmp_path / "click.wav"
    soundfile.write(song, click_track(120.0, seconds=10.0), 22050)
    win.audio = AudioOut(opener=lambda rate, cb: (_ for _ in ()).throw(OSError("no device here")))
    run(qtbot, win, win.load_music(song))
    assert not win.match_tempo_to_music() and "did not learn dances to music" in win.last_error
    monkeypatch.setitem(S.REFERENCE_BPM, win.doc.model, 100.0)
    assert win.match_tempo_to_music()
    assert win.doc.style[0] == pytest.approx(win.doc.music.bpm / 100.0, abs=1e-3)
    run(qtbot, win, True)


def test_morph_a_gap_is_one_undo_step_saved_with_the_project(swin, qtbot, tmp_path):
    from app.style_panel import GAP
    from csgn_core.editing.project import load_project

    win, panel = swin, swin.style_panel
    win.set_frame(140)
    panel.scope.setCurrentIndex(GAP)
    assert panel.morph.isEnabled() and not panel.morph.isChecked() and not panel.spread.isEnabled()
    n = win.undo.count()
    panel.morph.setChecked(True)
    key = next(g for g in win.doc.gaps() if g.start == 90).key
    assert win.doc.gap_morphs == {key: 0.0} and win.undo.undoText() == "Gap morphs, spread 0.00"
    assert win.busy  # the gap fills again by itself
    run(qtbot, win, True)
    assert not win.doc.is_stale() and panel.spread.isEnabled()
    assert "morph" in panel.info.text().lower()
    panel.spread.setValue(0.5)
    run(qtbot, win, True)
    assert win.doc.gap_morphs == {key: 0.5}
    assert win.save_as(tmp_path / "m.csgnproj")
    assert load_project(tmp_path / "m.csgnproj").gap_morphs == {key: 0.5}
    while win.undo.index() > n:
        win.undo.undo()
    assert win.doc.gap_morphs == {} and not panel.morph.isChecked()
    win.set_frame(20)  # the gap before the first pin has no take to morph from
    assert not panel.morph.isEnabled()
