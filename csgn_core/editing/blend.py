"""Blending two takes (issue 17): take A, then a transition of a chosen length that morphs it into
take B, then B, as one motion.

B is first placed where A ends (turned to A's last heading, moved to its last floor position), so
the transition need not travel. Both takes are pins of one completion problem with the transition
as its gap; where the model's inverse network inverts its generator (``completion.uses_inverse``),
the transition's latent is the GP prior's path between H of A and H of B: with ``spread`` 0 its
conditional mean (the GP's own interpolation between the two latents: the smoothest morph), with 1
a draw of the bridge (a livelier one). A model whose H does not invert G fills the transition
from the prior, spliced onto both takes, as every gap fill does for it.
"""
from __future__ import annotations

import math

import numpy as np

from csgn_core.editing.completion import Problem, complete_problem, conform
from csgn_core.editing.splice import heading_angle, turn_about_y, wrap_angle
from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion


def placed_after(a: Motion, b: Motion) -> Motion:
    """``b`` turned about the vertical and moved so its first frame faces and stands where ``a``'s last does."""
    turn = float(wrap_angle(heading_angle(a.rotations[-1:, 0]) - heading_angle(b.rotations[:1, 0]))[0])
    rot = b.rotations.copy()
    rot[:, 0] = Q.multiply(turn_about_y(np.full(b.n_frames, turn)), rot[:, 0])
    rel = b.root - b.root[:1]
    c, s = math.cos(turn), math.sin(turn)
    root = b.root.copy()
    root[:, 0] = a.root[-1, 0] + c * rel[:, 0] + s * rel[:, 2]
    root[:, 2] = a.root[-1, 2] - s * rel[:, 0] + c * rel[:, 2]
    return Motion(b.skeleton, b.fps, rotations=rot, root=root, meta=dict(b.meta))


def blend_takes(model, a: Motion, b: Motion, seconds: float, seed: int = 0, spread: float = 0.5,
                condition: str = "auto", progress=None, cancel=None) -> Motion:
    """A, a ``seconds`` transition, then B (placed after A), on the model's skeleton and rate;
    meta["blend_frames"] = [first, last + 1) of the transition."""
    if not (seconds > 0 and math.isfinite(seconds) and seconds <= 600):
        raise CSGNError(f"the transition must last between 0 and 600 s, got {seconds}")
    if not (0.0 <= spread <= 1.0):
        raise CSGNError(f"spread must be between 0 and 1, got {spread}")
    a, b = conform(a, model), conform(b, model)
    b = placed_after(a, b)
    n = max(1, int(round(seconds * model.fps)))
    L = a.n_frames + n + b.n_frames
    import torch

    with torch.no_grad():
        rot, root, pinned, contacts = complete_problem(model, Problem(L, [(0, a), (a.n_frames + n, b)]), seed,
                                                       progress=progress, cancel=cancel, condition=condition,
                                                       spread=spread)
    from csgn_core.editing.completion import with_contacts

    out = Motion(model.skeleton, model.fps, rotations=rot, root=root,
                 meta={"blend_frames": [a.n_frames, a.n_frames + n], "seed": int(seed)})
    return with_contacts(out, contacts, pinned)
