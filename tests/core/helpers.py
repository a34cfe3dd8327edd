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


# --- toy models and data (torch imported only by the helpers that need it) ---------------------------
def dataset_of(name: str, clips: list[Motion], split: list[int], window: int = 16):
    """A built training Dataset holding ``clips`` (all on one skeleton and frame rate); ``split`` gives
    each clip's split index (0 the generator's, 1 the classifier's)."""
    from csgn_core.io.datasets import Dataset, compute_stats

    lengths = [c.n_frames for c in clips]
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    windows = [(c, s) for c, n in enumerate(lengths) for s in range(0, n - window + 1, window // 2)]
    ds = Dataset(
        name=name, skeleton=clips[0].skeleton, fps=clips[0].fps, window=window,
        positions=np.concatenate([c.positions for c in clips]).astype(np.float32),
        rotations=np.concatenate([c.rotations for c in clips]).astype(np.float32),
        root=np.concatenate([c.root for c in clips]).astype(np.float32),
        clip_start=starts, clip_names=[f"clip{i}" for i in range(len(clips))],
        clip_labels=np.zeros(len(clips), dtype=np.int64), clip_split=np.array(split, dtype=np.int8),
        windows=np.array(windows, dtype=np.int64).reshape(-1, 2),
        window_valid=np.full(len(windows), window, dtype=np.int32), label_names=["any"], stats={}, meta={},
    )
    ds.stats = compute_stats(ds)
    return ds


def toy_dataset():
    """Four random rotation clips on the toy skeleton: three for the generator, one for the classifier."""
    sk = toy_skeleton()
    return dataset_of("toy", [random_motion(sk, 40 + 9 * i, seed=i) for i in range(4)], [0, 0, 0, 1])


def tiny_config(sk: Skeleton, fps: float = 30.0):
    """The ``tiny`` preset's ModelConfig on ``sk``, with feature statistics of a random motion."""
    from csgn_core.model.config import preset
    from csgn_core.model.features import feature_stats, root_track_np

    cfg, _ = preset("tiny")
    cfg.skeleton, cfg.fps = sk.to_dict(), fps
    m = random_motion(sk, 60)
    cfg.stats = feature_stats(sk, root_track_np(m.rotations, m.root))
    return cfg


def toy_model(sk: Skeleton | None = None, seed: int = 0, trained_norms: bool = False):
    """An untrained tiny CSGNModel on ``sk`` (the toy skeleton by default). ``trained_norms``: batch-norm
    running statistics away from 0 and 1, as after training, so eval mode differs from train mode."""
    import torch

    from csgn_core.model.inference import CSGNModel

    torch.manual_seed(seed)
    model = CSGNModel.new(tiny_config(sk or toy_skeleton()))
    if trained_norms:
        with torch.no_grad():
            for n in model.G.norms:
                n.running_mean.normal_(0, 0.3)
                n.running_var.uniform_(0.5, 2.0)
    return model


def toy_trainer(ds=None, seed: int = 0, contact_joints: list[int] | None = None):
    """A Trainer of the ``tiny`` preset on ``ds`` (``toy_dataset()`` by default)."""
    from csgn_core.model.config import preset
    from csgn_core.model.train.trainer import Trainer
    from csgn_core.model.train.windows import WindowSampler, measure_diff_gain

    ds = ds if ds is not None else toy_dataset()
    mcfg, tcfg = preset("tiny")
    sampler = WindowSampler(ds, mcfg.window, contact_joints=contact_joints)
    sampler.stats["diff_gain"] = measure_diff_gain(sampler, np.random.default_rng(0), 32)
    mcfg.stats, mcfg.skeleton, mcfg.fps = sampler.stats, ds.skeleton.to_dict(), ds.fps
    return Trainer(mcfg, tcfg, sampler, seed=seed)
