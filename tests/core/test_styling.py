"""Tempo and energy of generated spans: the energy ramp, the document's styles, project and plan files,
and what they do to a real model's fills."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from csgn_core.editing.styling import energy_steps, open_ranges
from csgn_core.editing.timeline import Pin, Timeline
from csgn_core.errors import CSGNError

from .helpers import random_motion, toy_skeleton

REPO = Path(__file__).resolve().parents[2]
DANCE = REPO / "resources" / "models" / "dance"


def test_energy_steps_is_one_under_pins_and_ramps():
    e = np.ones(64)
    e[16:48] = 0.5
    g = energy_steps(e, 8, 2, 12)
    assert g.shape == (12,) and g[0] == pytest.approx(1.0) and g[6] == pytest.approx(0.5)
    assert open_ranges(np.array([1, 0, 0, 1, 0], bool)) == [(1, 3), (4, 5)]


def test_styles_in_the_document_follow_the_gap_and_make_it_stale():
    sk = toy_skeleton()
    src = random_motion(sk, 60, fps=30.0)
    doc = Timeline(120, 30.0, "t", sk)
    a = doc.add_pin(Pin(src, 0, 20, 0))
    b = doc.add_pin(Pin(src, 20, 40, 60))
    g = doc.gaps()[0]
    before = g.signature()
    assert g.style == (1.0, 1.0) and len(before) == 4  # the default keeps old files' signatures
    doc.set_style((1.5, 0.8), g.key)
    g2 = doc.gaps()[0]
    assert g2.style == (1.5, 0.8) and g2.signature() != before
    assert doc.gaps()[1].style == (1.0, 1.0)  # the other gap follows the take
    doc.move_pin(b.id, 70)  # the gap's own style goes with its pins
    assert doc.gaps()[0].style == (1.5, 0.8)
    assert doc.set_style((1.0, 1.0)) == (1.0, 1.0) and doc.set_style(None, (a.id, b.id)) == (1.5, 0.8)
    assert doc.gaps()[0].style == (1.0, 1.0)
    for bad in ((3.0, 1.0), (1.0, -1.0), (float("nan"), 1.0)):
        with pytest.raises(CSGNError, match="must be between"):
            doc.set_style(bad)


def test_styles_and_a_styled_fill_survive_the_project_file(tmp_path):
    from csgn_core.editing.project import load_project, save_project
    from csgn_core.editing.timeline import Fill

    sk = toy_skeleton()
    src = random_motion(sk, 90, fps=30.0)
    doc = Timeline(90, 30.0, "t", sk)
    p = doc.add_pin(Pin(src, 0, 20, 30))
    doc.set_style((0.75, 1.25))
    doc.set_style((2.0, 0.5), (p.id, None))
    doc.set_fill(Fill(src, {}, frozenset(g.signature() for g in doc.gaps())))
    back = load_project(save_project(doc, tmp_path / "styled.csgnproj"))
    assert back.style == (0.75, 1.25) and back.gap_styles == {(p.id, None): (2.0, 0.5)}
    assert not back.is_stale()  # the signatures with styles read back equal
    old = Timeline(30, 30.0)
    assert load_project(save_project(old, tmp_path / "plain.csgnproj")).style == (1.0, 1.0)


@pytest.fixture(scope="module")
def dance():
    from csgn_core.model.inference import generate, load_model

    if not (DANCE / "model.safetensors").is_file():
        pytest.skip(f"bundled model missing at {DANCE}")
    model = load_model(DANCE)
    return model, generate(model, 12.0, seed=1)


def _gap_speed(model, clips, style, seeds=2):
    """Mean joint speed (root-relative, cm/s) in the middle of 120-frame gaps between 40-frame pins cut
    from real held-out dances: the editor's path, pins through H."""
    from csgn_core.editing.completion import Problem, complete_problem
    from csgn_core.motion.clip import Motion

    out = []
    for clip in clips:
        w = clip.slice(100, 300)
        pins = [(0, w.slice(0, 40)), (160, w.slice(160, 200))]
        for seed in range(seeds):
            rot, root, _, _ = complete_problem(model, Problem(200, pins), seed, styles=[style])
            assert np.allclose(rot[:40], w.rotations[:40], atol=1e-5)  # pins stay exact at any style
            assert np.allclose(rot[160:], w.rotations[160:], atol=1e-5)
            p = Motion(model.skeleton, model.fps, rotations=rot, root=root).positions
            p = p - p[:, :1]
            out.append(np.linalg.norm(np.diff(p[55:145], axis=0), axis=-1).mean() * model.fps)
    return float(np.mean(out))


def test_tempo_and_energy_change_how_the_gap_moves(dance_held_out):
    model, clips = dance_held_out
    base = _gap_speed(model, clips, (1.0, 1.0))
    # On the path through H (pins' latents, GP conditioned on them with pin noise 0.2) a tempo stretches
    # or shortens the GP's length scales and picks, of 4 draws, by pace; an energy scales the draw's
    # deviation from the pins' conditioned mean and picks by pace (styling.py). Measured with the bundled
    # fitted-H model on these 4 dances x 2 seeds: tempo 1.5 1.20x, 0.6 0.71x, energy 0.5 0.41x, 1.5 1.71x
    # (frames 300-500 of the same dances, 4 seeds: 1.42x, 0.66x, 0.45x, 1.70x).
    assert _gap_speed(model, clips, (1.5, 1.0)) > 1.1 * base  # quicker moves
    assert _gap_speed(model, clips, (0.6, 1.0)) < 0.85 * base  # slower ones
    assert _gap_speed(model, clips, (1.0, 0.5)) < 0.8 * base  # smaller ones
    assert _gap_speed(model, clips, (1.0, 1.5)) > 1.2 * base  # bigger ones


def test_plan_and_command_line_take_tempo_and_energy(dance, tmp_path, capsys):
    from csgn_core.cli import main
    from csgn_core.editing.plan import build_timeline, read_plan
    from csgn_core.io import save_motion

    model, src = dance
    clip = tmp_path / "clip.npz"
    save_motion(src, clip)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"seconds": 10, "tempo": 1.25, "energy": 0.9, "gaps": [{"after": 0, "tempo": 0.75}],
                                "pins": [{"file": "clip.npz", "start": 0, "end": 29, "at": 30},
                                         {"file": "clip.npz", "start": 60, "end": 89, "at": 150}]}))
    settings, pins = read_plan(plan)
    doc = build_timeline(model, pins, seconds=10, style=(settings["tempo"], settings["energy"]),
                         gap_styles=settings["gaps"])
    assert [g.style for g in doc.gaps()] == [(1.25, 0.9), (0.75, 1.0), (1.25, 0.9)]
    out = tmp_path / "out.csgnproj"
    assert main(["complete", "--model", str(DANCE), "--plan", str(plan), "-o", str(out)]) == 0
    from csgn_core.editing.project import load_project

    back = load_project(out)
    assert back.style == (1.25, 0.9) and not back.is_stale()
    plan.write_text(json.dumps({"seconds": 5, "gaps": [{"after": 4}], "pins": []}))
    with pytest.raises(CSGNError, match="pin's index"):
        read_plan(plan)
    assert main(["complete", "--model", str(DANCE), "--seconds", "4", "--tempo", "3", "-o", str(tmp_path / "x.npz")]) != 0
    assert "tempo must be between 0.5 and 2" in capsys.readouterr().err


def test_pick_pace_aims_by_tempo_and_energy_and_a_slow_tempo_stretches_the_prior():
    from csgn_core.editing.styling import PICK_SHARE, pick_pace, tempo_length_scale

    speeds = [80.0, 100.0, 120.0, 140.0]
    assert pick_pace(speeds, 1.0) in (1, 2)  # the middle of the draws
    assert pick_pace(speeds, 2.0) == 3
    assert pick_pace(speeds, 0.5) in (1, 2)  # a slow gap's prior slows it: its pick takes a typical draw
    assert pick_pace(speeds, 1.0, 0.5) == 0 and pick_pace(speeds, 1.0, 1.5) == 3  # energy picks by pace both ways
    assert pick_pace(speeds, 1.25) in (2, 3) and 0.0 < PICK_SHARE < 1.0  # a quicker tempo, a quicker draw
    assert tempo_length_scale(1.0) == tempo_length_scale(1.5) == 1.0 and tempo_length_scale(0.5) < 0.5
    # where the pins' latents are conditioned on, a slow tempo aims low too and a quick one shortens the scales
    assert pick_pace(speeds, 0.5, conditioned=True) == 0
    assert tempo_length_scale(1.5, conditioned=True) > 1.0 == tempo_length_scale(1.0, conditioned=True)


def test_a_slow_gap_draws_from_the_stretched_prior_and_the_others_from_the_models(dance, monkeypatch):
    from csgn_core.editing import completion
    from csgn_core.editing.completion import Problem, complete_problem
    from csgn_core.editing.styling import PACE_CANDIDATES, tempo_length_scale

    model, src = dance
    asked, drawn = [], {}
    real, real_draws = model.prior_for, completion._draws
    monkeypatch.setattr(model, "prior_for", lambda t=1.0: asked.append(t) or real(t))
    monkeypatch.setattr(completion, "_draws",
                        lambda *a, **k: drawn.update({asked[-1]: len(a[2])}) or real_draws(*a, **k))
    pins = [(0, src.slice(0, 30)), (90, src.slice(90, 120)), (180, src.slice(180, 210))]
    rot, _, _, _ = complete_problem(model, Problem(210, pins), 0, styles=[(0.75, 1.0), (1.0, 1.0)])
    assert sorted(set(asked)) == [tempo_length_scale(0.75), 1.0]
    # the slow gap's prior gives its choice of draws; the plain gap's, which picks nothing, one draw
    assert drawn == {tempo_length_scale(0.75): PACE_CANDIDATES, 1.0: 1}
    for a, b in ((0, 30), (90, 120), (180, 210)):
        assert np.allclose(rot[a:b], src.rotations[a:b], atol=1e-5)


def test_a_refill_picks_only_for_the_gaps_it_changes(dance, monkeypatch):
    """After one gap's style changes, ``fill_stale`` draws choices for that gap alone: the take's
    other gaps keep their frames, so picking for them would be thrown away."""
    from csgn_core.editing import completion
    from csgn_core.editing.completion import fill, fill_stale
    from csgn_core.editing.styling import PACE_CANDIDATES, tempo_length_scale

    model, src = dance
    doc = Timeline(300, model.fps, "t", model.skeleton)
    for at in (0, 100, 200, 280):
        doc.add_pin(Pin(src, at, at + 20, at))
    doc.set_style((1.25, 1.0))
    doc.set_fill(fill(doc, model, seed=2))
    before = doc.fill.motion.rotations.copy()
    asked, drawn = [], []
    real, real_draws = model.prior_for, completion._draws
    monkeypatch.setattr(model, "prior_for", lambda t=1.0: asked.append(t) or real(t))
    monkeypatch.setattr(completion, "_draws",
                        lambda *a, **k: drawn.append((asked[-1], len(a[2]))) or real_draws(*a, **k))
    doc.set_style((0.75, 1.0), doc.gaps()[0].key)
    new = fill_stale(doc, model, seed=2)
    # the slow gap's 4 draws alone (the other gaps, at 1.25, are kept): 4 passes, not 8
    assert drawn == [(tempo_length_scale(0.75), PACE_CANDIDATES)]
    g0, rest = doc.gaps()[0], doc.gaps()[1:]
    assert not np.allclose(new.motion.rotations[g0.start:g0.stop], before[g0.start:g0.stop])
    for g in rest:
        assert np.array_equal(new.motion.rotations[g.start:g.stop], before[g.start:g.stop])
