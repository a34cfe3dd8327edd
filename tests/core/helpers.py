"""Small hand-made skeletons and motions for tests that must not depend on the real data."""
from __future__ import annotations

import numpy as np

from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton


def toy_skeleton() -> Skeleton:
    """A 9-joint humanoid: hips, spine, head, two arms, two legs; left on +x."""
    joints = ["Hips", "Spine", "Head", "LeftArm", "LeftHand", "RightArm", "RightHand", "LeftLeg", "RightLeg"]
    parents = [-1, 0, 1, 1, 3, 1, 5, 0, 0]
    offsets = [[0, 0, 0], [0, 20, 0], [0, 25, 0], [15, 18, 0], [25, 0, 0], [-15, 18, 0], [-25, 0, 0],
               [10, -45, 0], [-10, -45, 0]]
    return Skeleton("toy9", joints, parents, np.array(offsets, float), lr_pairs=[(3, 5), (4, 6), (7, 8)])


def random_motion(skeleton: Skeleton, frames: int = 40, seed: int = 0, fps: float = 30.0) -> Motion:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, frames)[:, None, None]
    axes = rng.normal(size=(1, skeleton.n_joints, 3))
    angles = np.sin(2 * np.pi * t[..., 0] * rng.uniform(0.5, 2, (1, skeleton.n_joints))) * 0.8
    rot = Q.from_axis_angle(np.broadcast_to(axes, (frames, skeleton.n_joints, 3)), angles)
    root = np.cumsum(rng.normal(size=(frames, 3)), axis=0) + np.array([0, 90, 0])
    return Motion(skeleton, fps, rotations=rot, root=root)
