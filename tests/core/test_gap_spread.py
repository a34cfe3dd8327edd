"""A model's measured gap spread (``ModelConfig.gap_spread``): gaps between two pins are filled that
close to the GP's conditional mean given the pins' latents beside the pins, nearer a draw far from them;
open ends and old models draw at 1, a morph keeps its own spread, and variants of a gap still differ."""
from __future__ import annotations

import numpy as np
import pytest

from csgn_core.editing.completion import Problem, fill, gap_spreads, pinned_gap_spread, resample_gap
from csgn_core.editing.timeline import Pin, Timeline
from csgn_core.errors import CSGNError
from csgn_core.model.config import ModelConfig


@pytest.fixture(scope="module")
def dance(dance_held_out):
    model, clips = dance_held_out
    return model, clips[:2]


def _doc(model, a, b, length=260) -> Timeline:
    doc = Timeline(length, model.fps, "dance", model.skeleton)
    doc.add_pin(Pin(a, 0, 60, 0, label="A"))
    doc.add_pin(Pin(b, 40, 100, 140, label="B"))  # frames 140-200, then an open end to the timeline's
    return doc


def test_the_setting_is_checked_and_old_configs_draw_everywhere():
    assert ModelConfig().gap_spread == 1.0
    assert ModelConfig.from_dict({"gap_spread": 0.25}).gap_spread == 0.25
    for bad in (-0.1, 1.5):
        with pytest.raises(CSGNError, match="gap_spread"):
            ModelConfig.from_dict({"gap_spread": bad})


def test_only_gaps_between_two_pins_take_the_models_spread(dance, monkeypatch):
    model, (a, b) = dance
    monkeypatch.setattr(model.cfg, "gap_spread", 0.25)
    prob = Problem(260, [(0, a.slice(0, 60)), (140, b.slice(40, 100))])
    s = pinned_gap_spread(model, prob)
    assert np.all(s[:60] == 1.0) and np.all(s[200:] == 1.0)  # a pin's frames and the open end draw
    g = s[60:140]
    assert np.all(g[:30] == 0.25) and np.allclose(g, g[::-1])  # the model's spread near either pin
    assert np.all(np.diff(g[29:40]) > 0) and g[39] > 0.6  # rising towards a draw far from both
    long = pinned_gap_spread(model, Problem(400, [(0, a.slice(0, 60)), (340, b.slice(40, 100))]))
    assert long[200] > 0.99  # the middle of an 11 s gap: a draw
    doc = _doc(model, a, b)
    assert np.array_equal(gap_spreads(doc.length, doc.gaps(), base=s), s)  # no morph: the model's spread
    assert gap_spreads(doc.length, doc.gaps()) == 1.0  # without it: a draw
    doc.set_morph(doc.gaps()[0].key, 0.6)
    with_morph = gap_spreads(doc.length, doc.gaps(), base=s)
    assert np.all(with_morph[60:140] == 0.6) and np.array_equal(with_morph[140:], s[140:])  # a morph's own spread
    # a window of the timeline, as a resample's: the frames around the gap taken as pins
    window = Problem(100, [(0, a.slice(50, 60)), (90, b.slice(40, 50))])
    assert np.array_equal(pinned_gap_spread(model, window), s[50:150])
    monkeypatch.setattr(model.cfg, "gap_spread", 1.0)
    assert pinned_gap_spread(model, prob) == 1.0


def test_fills_sit_nearer_the_mean_and_variants_still_differ(dance, monkeypatch):
    """Through H (the bundled model's path), two seeds' fills of a gap differ less at spread 0.25 than
    as draws, but still by centimetres, and a resampled variant differs from the fill it replaces."""
    model, (a, b) = dance
    assert model.cfg.gap_spread < 1.0  # the bundled dance model's measured setting (docs/results/infill.md)
    g = slice(70, 130)

    def spread_of_two_seeds(value):
        monkeypatch.setattr(model.cfg, "gap_spread", value)
        doc = _doc(model, a, b)
        f1, f2 = (fill(doc, model, seed=s) for s in (1, 2))
        return doc, f1, float(np.linalg.norm(f1.motion.positions[g] - f2.motion.positions[g], axis=-1).mean())

    _, _, wide = spread_of_two_seeds(1.0)
    doc, f1, narrow = spread_of_two_seeds(0.25)
    assert 5.0 < narrow < 0.6 * wide, (narrow, wide)  # cm: about 14 against 41
    for m in (f1.motion,):  # the pins are kept exactly
        assert np.allclose(m.rotations[:60], a.rotations[:60], atol=1e-6)
        assert np.allclose(m.rotations[140:200], b.rotations[40:100], atol=1e-6)
    doc.set_fill(f1)
    r = resample_gap(doc, model, 100, seed=9)
    assert np.linalg.norm(r.motion.positions[g] - f1.motion.positions[g], axis=-1).mean() > 0.5
    assert np.array_equal(r.motion.rotations[:60], f1.motion.rotations[:60])
