"""The acLSTM baseline: representation, auto-conditioning, training, checkpoints, generation."""
import json

import numpy as np
import pytest
import torch

from csgn_core.errors import CSGNError
from csgn_core.io.datasets import Dataset, compute_stats
from csgn_core.model.baseline.aclstm import (
    ACLSTM,
    ACLSTMConfig,
    from_frames,
    generate_aclstm,
    load_aclstm,
    project,
    schedule,
    to_frames,
)
from csgn_core.model.baseline.aclstm_train import train_aclstm
from csgn_core.model.features import N_ROT
from csgn_core.model.inference import load_model
from csgn_core.model.train.checkpoint import latest_checkpoint
from csgn_core.model.train.run import TrainRun
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion

from .helpers import toy_skeleton

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ACLSTMConfig(hidden=48, seq_len=20, gt_frames=4, own_frames=4)


def args(data, out, **kw) -> TrainRun:
    """The ``csgn train`` options as the CLI builds them (GAN-only ones present but unused)."""
    d = dict(data=str(data), out=str(out), preset="aclstm", device="cpu", batch=8, no_progress=True)
    d.update(kw)
    return TrainRun(**d)


@pytest.fixture(scope="module")
def dance(tang_subset):
    """Two real tang dances (one generator-split clip of 1000 frames) saved as a dataset file."""
    return tang_subset(2)


@pytest.fixture(scope="module")
def trained(dance, tmp_path_factory):
    """A tiny acLSTM trained for a few steps on the real clip through the CLI entry point."""
    _, path = dance
    out = tmp_path_factory.mktemp("aclstm") / "run"
    assert train_aclstm(args(path, out, steps=40), cfg=TINY) == 0
    return out


def wave_dataset(n_clips: int = 4, frames: int = 200, period: float = 25.0) -> Dataset:
    """Toy-skeleton clips of one periodic dance: every joint swings about its own axis with its own
    phase, the hips bob. The current frame fixes the phase, so a small LSTM learns the cycle in a
    few hundred steps, and one that has learned it must keep moving however long it runs."""
    sk = toy_skeleton()
    J = sk.n_joints
    rng = np.random.default_rng(0)
    axes, phase = rng.normal(size=(J, 3)), rng.uniform(0, 2 * np.pi, J)
    clips = []
    for c in range(n_clips):
        t = np.arange(frames)[:, None] + 7 * c
        rot = Q.from_axis_angle(np.broadcast_to(axes, (frames, J, 3)), 0.6 * np.sin(2 * np.pi * t / period + phase))
        root = np.zeros((frames, 3))
        root[:, 1] = 90 + 3 * np.sin(4 * np.pi * t[:, 0] / period)
        clips.append(Motion(sk, 25.0, rotations=rot, root=root))
    starts = np.arange(n_clips + 1, dtype=np.int64) * frames
    windows = [(c, s) for c in range(n_clips) for s in range(0, frames - 16 + 1, 8)]
    ds = Dataset(
        name="wave", skeleton=sk, fps=25.0, window=16,
        positions=np.concatenate([c.positions for c in clips]).astype(np.float32),
        rotations=np.concatenate([c.rotations for c in clips]).astype(np.float32),
        root=np.concatenate([c.root for c in clips]).astype(np.float32),
        clip_start=starts, clip_names=[f"wave{i}" for i in range(n_clips)], clip_labels=np.zeros(n_clips, dtype=np.int64),
        clip_split=np.array([0] * (n_clips - 1) + [1], dtype=np.int8), windows=np.array(windows, dtype=np.int64),
        window_valid=np.full(len(windows), 16, dtype=np.int32), label_names=["any"], stats={}, meta={},
    )
    ds.stats = compute_stats(ds)
    return ds


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    """(dataset, acLSTM trained on it): needs no real data."""
    ds = wave_dataset()
    d = tmp_path_factory.mktemp("wave")
    ds.save(d / "wave.npz")
    train_aclstm(args(d / "wave.npz", d / "run", steps=WAVE_STEPS),
                      cfg=ACLSTMConfig(hidden=48, seq_len=30, gt_frames=5, own_frames=5))
    return ds, load_aclstm(d / "run")


WAVE_STEPS = 200


def test_frames_round_trip_and_projection():
    J = 5
    feat = torch.randn(2, 9, 7, J)
    feat[:, N_ROT:, :, 1:] = 0.0  # the root channels live on the root vertex only
    x = to_frames(feat)
    assert x.shape == (2, 7, 6 * J + 3)
    assert torch.equal(from_frames(x, J), feat)
    p = project(x * 3.0, J)
    assert torch.allclose(project(p, J), p, atol=1e-5)  # already valid frames stay put
    six = p[..., :6 * J].reshape(2, 7, J, 6)
    assert torch.allclose(six[..., :3].norm(dim=-1), torch.ones(2, 7, J), atol=1e-5)
    assert float((six[..., :3] * six[..., 3:]).sum(-1).abs().max()) < 1e-5
    assert float(p[..., 6 * J:].abs().max()) <= 1.0


def test_auto_conditioning_feeds_own_output(dance):
    ds, _ = dance
    torch.manual_seed(0)
    m = ACLSTM(TINY, ds.skeleton, ds.fps, {"vel_scale": 1.0, "height_mean": 0.0, "height_scale": 1.0})
    x = torch.randn(3, 20, m.dim) * 0.3
    teacher, _ = m(x[:, :-1])
    all_gt = m.rollout(x, np.ones(19, bool))
    assert torch.allclose(all_gt, teacher, atol=1e-6)
    s = schedule(TINY, 19)
    assert list(s[:8]) == [True] * 4 + [False] * 4
    mixed = m.rollout(x, s)
    # identical while the inputs are ground truth, different once the LSTM reads its own output
    assert torch.allclose(mixed[:, :4], teacher[:, :4], atol=1e-6)
    assert not torch.allclose(mixed[:, 4:8], teacher[:, 4:8], atol=1e-3)
    x2 = x.clone()
    x2[:, 5:8] += 10.0  # ground truth the schedule never reads (own-output inputs) changes nothing
    assert torch.allclose(m.rollout(x2, s)[:, :4], mixed[:, :4], atol=1e-6)
    assert torch.allclose(m.rollout(x2, s)[:, 4:8], mixed[:, 4:8], atol=1e-6)


def test_training_lowers_the_loss(trained):
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows]
    assert steps == [1, 10, 20, 30, 40] and all(k in rows[0] for k in ("loss", "elapsed"))
    first, last = rows[0]["loss"], np.mean([r["loss"] for r in rows[-2:]])
    assert last < 0.5 * first, (first, last)
    assert all(np.isfinite(r["loss"]) for r in rows)


def test_model_folder_and_checkpoint(trained):
    doc = json.loads((trained / "model" / "config.json").read_text())
    assert doc["format"] == "csgn-aclstm" and doc["version"] == 1 and doc["step"] == 40
    assert doc["model"]["hidden"] == 48 and doc["fps"] == 25.0 and doc["skeleton"]["name"] == "tang23"
    assert {"vel_scale", "height_mean", "height_scale"} <= set(doc["stats"])
    m = load_aclstm(trained)
    assert m.cfg == TINY and m.step == 40 and m.fps == 25.0 and m.skeleton.n_joints == 23
    ck = latest_checkpoint(trained)
    assert ck.name == "step-00000040" and (ck / "optim.safetensors").is_file()
    m2 = load_aclstm(ck)
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k
    with pytest.raises(CSGNError):  # a CSGN loader refuses it rather than misreading it
        load_model(trained / "model")
    with pytest.raises(CSGNError):
        load_aclstm(trained / "nothing-here")


def test_resume_continues_exactly(dance, tmp_path):
    _, path = dance
    straight, split = tmp_path / "a", tmp_path / "b"
    train_aclstm(args(path, straight, steps=6), cfg=TINY)
    train_aclstm(args(path, split, steps=3), cfg=TINY)
    with pytest.raises(CSGNError):  # a run folder is not silently restarted
        train_aclstm(args(path, split, steps=6), cfg=TINY)
    train_aclstm(args(path, split, steps=6, resume=True))
    assert latest_checkpoint(split).name == "step-00000006"
    steps = [json.loads(line)["step"] for line in (split / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 4]  # step 1, then the resumed run's first step (log_every 10)
    a, b = load_aclstm(straight), load_aclstm(split)
    for k, v in a.state_dict().items():
        assert torch.allclose(v, b.state_dict()[k], atol=1e-6), k
    with pytest.raises(CSGNError):
        train_aclstm(args(path, tmp_path / "c", steps=6, resume=True))


def test_generation_is_deterministic_and_rigid(wave):
    _, m = wave
    a, b, c = (generate_aclstm(m, 2.0, s) for s in (3, 3, 4))
    assert a.n_frames == 50 and a.fps == 25.0 and a.skeleton.same_topology(m.skeleton) and a.has_rotations
    assert np.array_equal(a.rotations, b.rotations) and np.array_equal(a.root, b.root)
    assert not np.allclose(a.rotations, c.rotations, atol=1e-3)
    rest = np.linalg.norm(m.skeleton.offsets[[ch for _, ch in m.skeleton.bones]], axis=-1)
    assert np.allclose(a.bone_lengths(), rest[None], atol=1e-3)


def test_prefix_continues_a_clip(dance, trained):
    ds, _ = dance
    m = load_aclstm(trained)
    clip = ds.clip(0).slice(0, 30)
    g = generate_aclstm(m, 1.0, 0, prefix=clip)
    assert g.n_frames == 25
    # the continuation starts where the prefix ends, one frame's travel away at most
    assert np.linalg.norm(g.root[0, [0, 2]] - clip.root[-1, [0, 2]]) < 10.0
    with pytest.raises(CSGNError):
        generate_aclstm(m, 0.0, 0)


def test_long_rollout_neither_freezes_nor_explodes(wave):
    ds, m = wave
    g = generate_aclstm(m, 60.0, 0)
    assert g.n_frames == 1500
    pos = g.positions  # (F, J, 3)
    assert np.all(np.isfinite(pos))
    speed = np.linalg.norm(np.diff(pos - pos[:, :1], axis=0), axis=-1).mean(-1) * g.fps  # (F-1,) cm/s
    real = ds.clip(0).positions
    real_speed = (np.linalg.norm(np.diff(real - real[:, :1], axis=0), axis=-1).mean(-1) * ds.fps).mean()
    # every 5 s stretch, the last included, still moves at a fair share of the data's pace
    per_block = speed[:1375].reshape(-1, 125).mean(1)
    assert per_block.min() > 0.2 * real_speed and per_block.max() < 5 * real_speed, (per_block, real_speed)
    h = g.root[:, 1]
    assert 60 < h.min() and h.max() < 120
