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


def test_decoding_only_the_frames_a_path_reads_gives_a_whole_decodes_frames(dance_held_out):
    """``complete_problem(frames=frames_for(...))``: between pins (a floor path's gap) the frames it
    returns are a whole decode's (the same rotations, the same root), and only those frames come back."""
    from csgn_core.editing.completion import Problem, complete_problem, frames_for

    model, clips = dance_held_out
    w = clips[1].slice(0, 180)
    prob = Problem(180, [(0, w.slice(0, 40)), (100, w.slice(100, 180))])
    lo, hi = frames_for(model, prob, 40, 100)
    assert 0 < lo < 40 and 100 < hi < 180
    full = complete_problem(model, prob, 3, candidates=1)
    part = complete_problem(model, prob, 3, candidates=1, frames=(lo, hi))
    assert len(part[0]) == len(part[1]) == len(part[2]) == hi - lo
    same = np.abs(np.sum(part[0][40 - lo:100 - lo] * full[0][40:100], axis=-1))  # q and -q: one rotation
    np.testing.assert_allclose(same, 1.0, atol=1e-12)
    np.testing.assert_allclose(part[1][40 - lo:100 - lo], full[1][40:100], atol=1e-9)
    for k, v in full[3].items():
        np.testing.assert_array_equal(part[3][k][40 - lo:100 - lo], v[40:100])


def test_draws_take_each_gap_from_the_draw_whose_feet_slide_least(dance_held_out):
    """``complete_problem(draws=N)``: each gap is the one of N draws (seeds ``_seed_k``) that slides least
    there over the pins' floor; the pins stay exact."""
    from csgn_core.editing.completion import Problem, _pin_floors, _seed_k, complete_problem
    from csgn_core.motion.clip import Motion
    from csgn_core.motion.contacts import foot_skating

    model, clips = dance_held_out
    w = clips[2].slice(0, 200)
    pins = [(0, w.slice(0, 40)), (100, w.slice(100, 130)), (190, w.slice(190, 200))]
    prob = Problem(200, pins)
    floors = _pin_floors(model.skeleton, [mo for _, mo in pins])

    def slide(rot, root, a, b):
        p = Motion(model.skeleton, model.fps, rotations=rot[a:b], root=root[a:b]).positions
        return foot_skating(p, model.skeleton, model.fps, floors=floors)

    best = complete_problem(model, prob, 7, draws=4)
    each = [complete_problem(model, prob, _seed_k(7, k)) for k in range(4)]
    for a, b in ((40, 100), (130, 190)):
        assert np.isclose(slide(best[0], best[1], a, b), min(slide(r, t, a, b) for r, t, _, _ in each))
    picked = {k for a, b in ((40, 100), (130, 190)) for k in range(4)
              if np.allclose(best[0][a:b], each[k][0][a:b])}
    assert picked and np.array_equal(best[1][100:130], w.root[100:130])
