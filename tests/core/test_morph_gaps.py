"""Morphing gaps (issue 17, item 4 as a gap fill): a gap marked as a morph is filled along the GP's
path between its pins' latents; in the document, the project file and the plan JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from csgn_core.editing.timeline import Pin, Timeline, TimelineError


@pytest.fixture(scope="module")
def dance(dance_held_out):
    model, clips = dance_held_out
    return model, clips[:2]


def _doc(model, a, b) -> Timeline:
    doc = Timeline(200, model.fps, "dance", model.skeleton)
    doc.add_pin(Pin(a, 0, 60, 0, label="A"))
    doc.add_pin(Pin(b, 40, 100, 140, label="B"))
    return doc


def test_morph_marks_the_gap_and_checks_its_spread(dance):
    model, (a, b) = dance
    doc = _doc(model, a, b)
    gap = doc.gaps()[0]
    sig = gap.signature()
    assert gap.morph is None and doc.set_morph(gap.key, 0.0) is None
    assert doc.gaps()[0].morph == 0.0 and doc.gaps()[0].signature() != sig  # out of date until filled
    for bad in (-0.1, 1.5, float("nan"), "0"):
        with pytest.raises(TimelineError):
            doc.set_morph(gap.key, bad)
    with pytest.raises(TimelineError, match="both sides"):
        doc.set_morph((doc.pins[1].id, None), 0.5)  # the open end after B has no second take
    assert doc.set_morph(gap.key, None) == 0.0 and doc.gaps()[0].signature() == sig


def _through_h(monkeypatch, model) -> None:
    """Completion through H, whatever the bundled model measured (its fidelity, or a recorded path)."""
    monkeypatch.setattr(model, "_inverse_fidelity", 0.95)
    monkeypatch.setattr(model, "completion_condition", None)


def test_morph_fills_along_the_latent_path_between_the_pins(dance, monkeypatch):
    """With an H that inverts (forced here), spread 0 is the GP's conditional mean between the pins'
    latents, the same whatever the seed; a plain fill is a draw, another for each seed."""
    from csgn_core.editing.completion import fill

    model, (a, b) = dance
    _through_h(monkeypatch, model)
    doc = _doc(model, a, b)
    plain = [fill(doc, model, seed=s).motion for s in (1, 2)]
    doc.set_morph(doc.gaps()[0].key, 0.0)
    morph = [fill(doc, model, seed=s).motion for s in (1, 2)]
    g = slice(60, 140)
    assert np.abs(plain[0].positions[g] - plain[1].positions[g]).max() > 5.0  # cm: two draws
    assert np.allclose(morph[0].positions[g], morph[1].positions[g], atol=1e-4)  # one path
    assert np.abs(morph[0].positions[g] - plain[0].positions[g]).max() > 1.0
    for m in morph:  # the pins are kept exactly
        assert np.allclose(m.rotations[:60], a.rotations[:60], atol=1e-6)
        assert np.allclose(m.rotations[140:], b.rotations[40:100], atol=1e-6)


def test_morph_with_tempo_and_on_resample(dance, monkeypatch):
    """A morphing gap at its own tempo is drawn from several takes with its spread, and a new variant of
    it (resample) keeps the morph: at spread 0 every variant is the same path."""
    from csgn_core.editing.completion import fill, resample_gap

    model, (a, b) = dance
    _through_h(monkeypatch, model)
    doc = _doc(model, a, b)
    key = doc.gaps()[0].key
    doc.set_morph(key, 0.0)
    doc.set_style((1.25, 1.0), key)
    f1, f2 = fill(doc, model, seed=1), fill(doc, model, seed=2)
    assert np.allclose(f1.motion.positions[60:140], f2.motion.positions[60:140], atol=1e-4)
    doc.set_fill(f1)
    r = resample_gap(doc, model, 80, seed=9)
    assert np.isfinite(r.motion.positions).all()
    assert doc.gaps()[0].signature() in r.signatures


def test_morph_survives_the_project_file_and_old_files_open(dance, tmp_path):
    import zipfile

    from csgn_core.editing.project import load_project, save_project

    model, (a, b) = dance
    from csgn_core.editing.completion import fill

    doc = _doc(model, a, b)
    doc.set_morph(doc.gaps()[0].key, 0.25)
    doc.set_style((1.25, 0.5), doc.gaps()[0].key)
    doc.set_fill(fill(doc, model, seed=3))
    assert not doc.is_stale()
    path = save_project(doc, tmp_path / "m.csgnproj")
    back = load_project(path)
    assert back.gap_morphs == doc.gap_morphs and back.gaps()[0].morph == 0.25
    assert not back.is_stale()  # the fill's record of the morphing gap reads back: nothing to fill again
    # a project written before morphs has no "gap_morphs": it opens with none
    old = tmp_path / "old.csgnproj"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(old, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith(".json") and b"gap_morphs" in data:
                meta = json.loads(data)
                del meta["gap_morphs"]
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
    assert load_project(old).gap_morphs == {}


def test_plan_gap_morph(dance, tmp_path):
    from csgn_core.editing.plan import build_timeline, read_plan
    from csgn_core.errors import CSGNError
    from csgn_core.io import save_motion

    model, (a, b) = dance
    save_motion(a, tmp_path / "a.npz")
    save_motion(b, tmp_path / "b.npz")
    plan = {"format": "csgn-plan", "pins": [{"file": "a.npz", "start": 0, "end": 59, "at": 0},
                                            {"file": "b.npz", "start": 40, "end": 99, "at": 140}],
            "gaps": [{"after": 0, "morph": 0.0}]}
    (tmp_path / "p.json").write_text(json.dumps(plan), encoding="utf-8")
    settings, pins = read_plan(tmp_path / "p.json")
    doc = build_timeline(model, pins, seconds=8, gap_styles=settings["gaps"])
    assert doc.gaps()[0].morph == 0.0 and doc.gap_styles == {}  # a morph alone leaves the gap's style to the take
    for bad, msg in (([{"after": 0, "morph": 2}], "morph"), ([{"after": 0, "blend": 1}], "unknown gap keys")):
        (tmp_path / "bad.json").write_text(json.dumps({**plan, "gaps": bad}), encoding="utf-8")
        with pytest.raises(CSGNError, match=msg):
            read_plan(tmp_path / "bad.json")
    settings, pins = read_plan(tmp_path / "p.json")
    with pytest.raises(CSGNError, match="both sides"):
        build_timeline(model, pins, seconds=10, gap_styles=[{"after": 1, "morph": 0.5}])  # the open end
