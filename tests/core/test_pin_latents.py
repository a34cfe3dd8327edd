"""The pins' latents cache and the floor a floor path's candidates are judged over (editing/completion.py),
on the bundled dance model and a real held-out dance."""
from __future__ import annotations

import numpy as np


def test_pins_are_encoded_once_and_an_edit_encodes_again(dance_held_out, monkeypatch):
    import csgn_core.model.inference as inference
    from csgn_core.editing.completion import ENCODE_CACHE, Problem, _encode_pin, complete_problem

    model, clips = dance_held_out
    w = clips[0].slice(0, 120)
    calls = []
    real = inference.encode
    monkeypatch.setattr(inference, "encode", lambda m, mo: calls.append(mo.n_frames) or real(m, mo))
    model.pin_latents.clear()
    pins = [(0, w.slice(0, 40)), (80, w.slice(80, 120))]
    a = complete_problem(model, Problem(120, pins), 0, condition="inverse", candidates=1)
    n = len(calls)
    assert n == 2
    b = complete_problem(model, Problem(120, pins), 0, condition="inverse", candidates=1)
    assert len(calls) == n and np.array_equal(a[0], b[0])  # the same fill, H not run again
    edited = w.slice(80, 120)
    edited.rotations[5] = edited.rotations[6]  # a changed pin is a new key
    complete_problem(model, Problem(120, [pins[0], (80, edited)]), 0, condition="inverse", candidates=1)
    assert len(calls) == n + 1
    assert np.allclose(_encode_pin(model, w.slice(0, 40)), real(model, w.slice(0, 40)).numpy())
    assert len(model.pin_latents) <= ENCODE_CACHE


def test_a_path_candidate_is_judged_over_the_pins_floor(dance_held_out):
    from csgn_core.editing.completion import _pin_floors
    from csgn_core.motion.contacts import check_feet, contact_points, feet_for, point_floors

    model, clips = dance_held_out
    w = clips[0].slice(0, 120)
    pins = [w.slice(0, 40), w.slice(80, 120)]
    fl = _pin_floors(model.skeleton, pins)
    pts = contact_points(check_feet(feet_for(model.skeleton), model.skeleton))
    assert fl.shape == (len(pts),)
    assert np.allclose(fl, point_floors(np.concatenate([p.positions for p in pins]), pts))
    assert _pin_floors(model.skeleton, []) is None
