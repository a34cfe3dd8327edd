"""Waist flips in decoded motion (``features.flip_frames``), on the bundled dance model and held-out dances."""
from __future__ import annotations

import numpy as np


def test_waist_flips_are_bridged_and_real_spins_are_not(dance_held_out):
    """``features.flip_frames``: a turn of the whole body faster than 40 degrees a frame that comes
    back within 12 frames is a flip, and the decoder bridges it; the held-out dances' spins (full
    turns included) are never marked."""
    from csgn_core.editing.splice import heading_angle, turn_about_y
    from csgn_core.model.features import flip_frames
    from csgn_core.motion import quaternion as Q

    model, clips = dance_held_out
    for c in clips:
        assert not flip_frames(Q.to_matrix(c.rotations[:, 0])).any()
    src = clips[0].slice(0, 120)
    rot = src.rotations.copy()
    flip = np.radians([60.0, 120.0, 120.0, 120.0, 60.0])  # out and back in five frames
    rot[60:65, 0] = Q.multiply(turn_about_y(flip), rot[60:65, 0])
    marked = flip_frames(Q.to_matrix(rot[:, 0]))
    assert marked[60:65].all() and marked.sum() <= 6
    feat = model.codec.encode_np(rot, src.root)
    out, _ = model.codec.decode_np(feat)
    step = np.degrees(np.abs(np.diff(np.unwrap(heading_angle(out[:, 0])))))
    real = np.degrees(np.abs(np.diff(np.unwrap(heading_angle(src.rotations[:, 0])))))
    assert step[55:70].max() < max(40.0, 2 * real[55:70].max())
    same = np.abs(np.sum(out[:50] * src.rotations[:50], axis=-1))
    assert same.min() > 0.999  # away from it the decode is the motion
