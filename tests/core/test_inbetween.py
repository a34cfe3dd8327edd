"""Spline in-betweens for short gaps."""
import numpy as np
import pytest

from csgn_core.evaluation.infill import interpolate
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.inbetween import SPLINE_SECONDS, blend_short_gaps, hermite, spline_weight

from .helpers import random_motion, toy_skeleton


def _steady(frames: int, J: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Every joint turning at a constant rate about its own axis; the root moving in a straight line."""
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(J, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    start = Q.normalize(rng.normal(size=(J, 4)))
    t = np.arange(frames)[:, None, None]
    rot = Q.multiply(np.broadcast_to(start, (frames, J, 4)), Q.from_rotvec(axes * 0.05 * t))
    root = np.array([1.0, 90.0, -2.0]) + np.arange(frames)[:, None] * np.array([2.0, 0.1, 1.5])
    return rot, root


def test_hermite_passes_through_keys_with_their_velocities():
    rot, root = _steady(30)
    r, t = hermite(rot, root, 9, 20, s_prev=True, e_next=True)
    # A steady turn and a straight line are reproduced exactly.
    np.testing.assert_allclose(t, root[10:20], atol=1e-9)
    assert Q.angle(Q.multiply(Q.conjugate(r), rot[10:20])).max() < 1e-9
    # Without neighbouring keys it eases out of and into the keys instead.
    r0, t0 = hermite(rot, root, 9, 20, s_prev=False, e_next=False)
    step = np.linalg.norm(np.diff(np.concatenate([root[9:10], t0, root[20:21]]), axis=0), axis=-1)
    assert step[0] < 0.2 * step[5] and step[-1] < 0.2 * step[5]


def test_spline_weight_schedule():
    lo, hi = SPLINE_SECONDS
    assert spline_weight(1, 30) == 1.0 and spline_weight(int(lo * 30), 30) == 1.0
    assert spline_weight(int(np.ceil(hi * 30)), 30) == 0.0
    w = [spline_weight(n, 30) for n in range(1, 60)]
    assert all(a >= b for a, b in zip(w, w[1:])) and 0 < spline_weight(int((lo + hi) / 2 * 30), 30) < 1


def test_blend_short_gaps_touches_only_short_closed_gaps():
    sk = toy_skeleton()
    m = random_motion(sk, 200, seed=3)
    pinned = np.zeros(200, bool)
    pinned[10:40] = pinned[44:100] = pinned[190:] = True  # gaps: 0-10 (open), 40-44 (short), 100-190 (long)
    rot, root = blend_short_gaps(m.rotations, m.root, pinned, 30.0)
    keep = np.ones(200, bool)
    keep[40:44] = False
    assert np.array_equal(rot[keep], m.rotations[keep]) and np.array_equal(root[keep], m.root[keep])
    r, t = hermite(m.rotations, m.root, 39, 44, s_prev=True, e_next=True)
    np.testing.assert_allclose(root[40:44], t)  # 4 frames at 30 fps: all spline
    np.testing.assert_allclose(np.abs(np.sum(rot[40:44] * r, -1)), 1.0, atol=1e-12)


def test_spline_beats_linear_interpolation_on_real_dance_gaps(tang_subset):
    """On real dances a 10-frame spline in-between lands nearer the withheld frames than SLERP."""
    ds, _ = tang_subset(2)
    err = {"spline": [], "slerp": []}
    for c in range(len(ds.clip_names)):
        clip = ds.clip(c)
        for a in range(5, clip.n_frames - 20, 37):
            s, e = a, a + 11
            truth = clip.positions[s + 1:e]
            r, t = hermite(clip.rotations, clip.root, s, e, s_prev=True, e_next=True)
            lr, lt = interpolate(clip.rotations[s], clip.root[s], clip.rotations[e], clip.root[e], e - s - 1)
            for name, rr, tt in (("spline", r, t), ("slerp", lr, lt)):
                rot, root = clip.rotations.copy(), clip.root.copy()
                rot[s + 1:e], root[s + 1:e] = rr, tt
                pos = Motion(clip.skeleton, clip.fps, rotations=rot[s:e + 1], root=root[s:e + 1]).positions[1:-1]
                err[name].append(np.linalg.norm(pos - truth, axis=-1).mean())
    assert len(err["spline"]) > 50
    assert np.mean(err["spline"]) < 0.8 * np.mean(err["slerp"])


@pytest.mark.parametrize("bad", [0, 1])
def test_hermite_of_empty_and_one_frame_gaps(bad):
    rot, root = _steady(10)
    r, t = hermite(rot, root, 3, 3 + bad + 1, s_prev=True, e_next=True)
    assert len(r) == len(t) == bad
