"""The acLSTM baseline (Li et al. 2017, "Auto-conditioned recurrent networks for extended complex
human motion synthesis"): a 3-layer LSTM that predicts the next frame from the current one.

It sees the same data and representation as CSGN: every frame is the FeatureCodec features
flattened to one vector, keeping only the channels that are real (the 6D rotation of every joint,
then the root's heading-frame velocity and height): ``6 J + 3`` numbers, all roughly in [-1, 1].

Auto-conditioning: in training, the input alternates between ``gt_frames`` ground-truth frames and
``own_frames`` frames of the network's own previous output (gradients flow through them), so at
test time, when it only ever sees its own output, its small errors do not drive it into a frozen
pose or a blow-up: it has learned to recover from them.

A model folder holds ``config.json`` (``{"format": "csgn-aclstm", "version": 1, "model": ACLSTMConfig,
"skeleton", "fps", "stats", "step"}``) and ``model.safetensors`` (the LSTM, the output layer and the
per-channel mean / spread of the training frames, which seed generation without real data).
Training lives in ``aclstm_train.py``.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from csgn_core.errors import CSGNError
from csgn_core.model.features import N_FEAT, N_ROT, FeatureCodec, matrix_to_6d, sixd_to_matrix
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton

ACLSTM_FORMAT = "csgn-aclstm"
VERSION = 1


@dataclass
class ACLSTMConfig:
    """Network shape, auto-conditioning schedule and generation settings."""

    hidden: int = 256  # LSTM width (the paper's acLSTM used 1024; 256 trains on two CPU cores)
    layers: int = 3
    seq_len: int = 64  # frames per training window (predictions per window: seq_len - 1)
    gt_frames: int = 5  # u: ground-truth inputs per cycle
    own_frames: int = 5  # v: own-output inputs per cycle
    root_weight: float = 4.0  # loss weight of the 3 root channels against the 6 J rotation channels
    burn_in_s: float = 1.0  # generation runs this long from its synthetic seed frame before output
    seed_noise: float = 0.5  # spread of the seed frame around the mean frame, in per-channel stds
    state_noise: float = 0.1  # spread of the random initial hidden and cell state

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ACLSTMConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        if set(d) - known:
            raise CSGNError(f"ACLSTMConfig: unknown settings {sorted(set(d) - known)}")
        return cls(**d)


# --- frames <-> features ------------------------------------------------------------------------------
def frame_dim(n_joints: int) -> int:
    return N_ROT * n_joints + 3


def to_frames(feat: torch.Tensor) -> torch.Tensor:
    """(N, 9, T, J) features -> (N, T, 6 J + 3) frame vectors (joint-major 6D, then the root's 3)."""
    N, _, T, J = feat.shape
    six = feat[:, :N_ROT].permute(0, 2, 3, 1).reshape(N, T, J * N_ROT)
    return torch.cat([six, feat[:, N_ROT:, :, 0].permute(0, 2, 1)], dim=-1)


def from_frames(x: torch.Tensor, n_joints: int) -> torch.Tensor:
    """Inverse of ``to_frames``: (N, T, 6 J + 3) -> (N, 9, T, J), zeros on the unused channels."""
    N, T, _ = x.shape
    feat = x.new_zeros(N, N_FEAT, T, n_joints)
    feat[:, :N_ROT] = x[..., :N_ROT * n_joints].reshape(N, T, n_joints, N_ROT).permute(0, 3, 1, 2)
    feat[:, N_ROT:, :, 0] = x[..., N_ROT * n_joints:].permute(0, 2, 1)
    return feat


def project(x: torch.Tensor, n_joints: int) -> torch.Tensor:
    """(..., 6 J + 3) -> the nearest valid frame: orthonormal 6D per joint, root channels in [-1, 1].

    Fed-back outputs are projected (in training too), so the input the LSTM sees always looks like
    a real frame, however far its raw output wanders.
    """
    k = N_ROT * n_joints
    six = x[..., :k].reshape(x.shape[:-1] + (n_joints, N_ROT))
    six = matrix_to_6d(sixd_to_matrix(six)).reshape(x.shape[:-1] + (k,))
    return torch.cat([six, x[..., k:].clamp(-1.0, 1.0)], dim=-1)


# --- the network ---------------------------------------------------------------------------------------------
class ACLSTM(nn.Module):
    """LSTM (``layers`` deep) over frame vectors with a linear read-out of the next frame."""

    def __init__(self, cfg: ACLSTMConfig, skeleton: Skeleton, fps: float, stats: dict):
        super().__init__()
        self.cfg, self.skeleton, self.fps, self.stats = cfg, skeleton, float(fps), dict(stats)
        self.n_joints = skeleton.n_joints
        D = frame_dim(self.n_joints)
        # A stack of cells rather than nn.LSTM: rollouts feed one frame at a time, and on CPU a
        # one-step nn.LSTM call costs about six times as much as the same step through cells.
        self.cells = nn.ModuleList(nn.LSTMCell(D if i == 0 else cfg.hidden, cfg.hidden) for i in range(cfg.layers))
        self.head = nn.Linear(cfg.hidden, D)
        self.register_buffer("frame_mean", torch.zeros(D))
        self.register_buffer("frame_std", torch.ones(D))
        self.codec = FeatureCodec(skeleton, self.stats)
        self.step = 0

    @property
    def dim(self) -> int:
        return frame_dim(self.n_joints)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def forward(self, x: torch.Tensor, state: list | None = None):
        """(N, T, D) inputs -> ((N, T, D) predicted next frames, state: per layer (h, c), each (N, hidden))."""
        N = x.shape[0]
        if state is None:
            z = x.new_zeros(N, self.cfg.hidden)
            state = [(z, z)] * len(self.cells)
        state = list(state)
        ys = []
        for t in range(x.shape[1]):
            inp = x[:, t]
            for i, cell in enumerate(self.cells):
                state[i] = cell(inp, state[i])
                inp = state[i][0]
            ys.append(inp)
        return self.head(torch.stack(ys, dim=1)), state

    def rollout(self, x: torch.Tensor, schedule: np.ndarray) -> torch.Tensor:
        """Predictions (N, T - 1, D) of frames 1..T-1 of ``x`` (N, T, D) under an auto-conditioning
        schedule (T - 1 booleans, True: feed the ground-truth frame t, False: feed the projected
        prediction of frame t)."""
        T = x.shape[1]
        out, state, t, prev = [], None, 0, None
        while t < T - 1:
            if schedule[t] or prev is None:
                e = t + 1
                while e < T - 1 and schedule[e]:
                    e += 1
                y, state = self(x[:, t:e], state)
            else:
                e = t + 1
                y, state = self(project(prev, self.n_joints), state)
            out.append(y)
            prev = y[:, -1:]
            t = e
        return torch.cat(out, dim=1)

    def weights(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}


def schedule(cfg: ACLSTMConfig, steps: int) -> np.ndarray:
    """(steps,) bool: u ground-truth inputs, then v own-output inputs, repeating."""
    period = cfg.gt_frames + cfg.own_frames
    return (np.arange(steps) % period) < cfg.gt_frames


# --- files ---------------------------------------------------------------------------------------------
def config_doc(model: ACLSTM, **extra) -> dict:
    return {"format": ACLSTM_FORMAT, "version": VERSION, "model": model.cfg.to_dict(),
            "skeleton": model.skeleton.to_dict(), "fps": model.fps, "stats": model.stats,
            "step": int(model.step), **extra}


def export_aclstm(model: ACLSTM, folder: str | Path) -> Path:
    """Write a model folder: config.json + model.safetensors (atomically)."""
    from safetensors.torch import save

    from csgn_core.io.atomic import write_bytes_atomic, write_text_atomic

    folder = Path(folder)
    write_bytes_atomic(folder / "model.safetensors", save(model.weights()))
    write_text_atomic(folder / "config.json", json.dumps(config_doc(model), indent=1))
    return folder


def model_from_doc(doc: dict) -> ACLSTM:
    return ACLSTM(ACLSTMConfig.from_dict(doc["model"]), Skeleton.from_dict(doc["skeleton"]),
                  float(doc["fps"]), doc["stats"])


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    for cand in (p, p / "model"):
        if (cand / "config.json").is_file() and (cand / "model.safetensors").is_file():
            return cand
    latest = p / "checkpoints" / "latest"
    if latest.is_file():
        d = p / "checkpoints" / latest.read_text(encoding="utf-8").strip()
        if (d / "config.json").is_file():
            return d
    raise CSGNError(f"{p}: no acLSTM model here (expected config.json and model.safetensors)")


def load_aclstm(folder: str | Path, device: str | torch.device = "cpu") -> ACLSTM:
    """An acLSTM in eval mode from a model folder, a run folder (its model/ or newest checkpoint)
    or a checkpoint folder."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from csgn_core.model.inference import load_state

    d = _resolve(folder)
    try:
        doc = json.loads((d / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CSGNError(f"{d / 'config.json'}: unreadable model config ({e})") from None
    if doc.get("format") == "csgn-checkpoint" and doc.get("kind") == ACLSTM_FORMAT:
        doc = doc["aclstm"]
    if doc.get("format") != ACLSTM_FORMAT:
        raise CSGNError(f"{d / 'config.json'}: not an acLSTM model (format {doc.get('format')!r})")
    if int(doc.get("version", 0)) > VERSION:
        raise CSGNError(f"{d / 'config.json'}: acLSTM format version {doc['version']} is newer than this code")
    try:
        tensors = load_file(str(d / "model.safetensors"))
    except (SafetensorError, OSError) as e:
        raise CSGNError(f"{d / 'model.safetensors'}: unreadable weights ({e})") from None
    model = model_from_doc(doc)
    load_state(model, {"m." + k: v for k, v in tensors.items()}, "m.", d)
    model.step = int(doc.get("step", 0))
    return model.to(device).eval()


# --- generation ------------------------------------------------------------------------------------------
@torch.no_grad()
def generate_aclstm(model: ACLSTM, seconds: float, seed: int | None = 0, prefix: Motion | None = None) -> Motion:
    """A ``seconds`` long rotation motion on the model's skeleton, rolled out frame by frame on the
    network's own output; the same seed gives the same motion (``None``: a fresh one each call).

    Without ``prefix`` no real data is needed: the start is a synthetic frame (the training frames'
    mean plus ``seed_noise`` stds of noise, at a random heading) and a random LSTM state, run for
    ``burn_in_s`` seconds whose frames are dropped. With ``prefix`` (a rotation motion on the same
    skeleton and frame rate) the LSTM reads it as ground truth instead, and the result continues it
    (the prefix itself is not included; the root starts where the prefix ends).
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CSGNError(f"seconds must be positive, got {seconds}")
    model.eval()
    frames = max(1, int(round(seconds * model.fps)))
    cfg, dev, J = model.cfg, model.device, model.n_joints
    s = np.random.SeedSequence().entropy if seed is None else int(seed)  # None: a fresh motion each call
    gen = torch.Generator().manual_seed(s % 2**63)
    origin = None
    if prefix is not None:
        if not prefix.skeleton.same_topology(model.skeleton):
            raise CSGNError(f"prefix skeleton {prefix.skeleton.name!r} does not match the model's {model.skeleton.name!r}")
        if abs(prefix.fps - model.fps) > 1e-6:
            raise CSGNError(f"prefix is at {prefix.fps:g} fps but the model at {model.fps:g}; resample it first")
        x = to_frames(torch.from_numpy(model.codec.encode_motion(prefix))[None]).to(dev)  # (1, P, D)
        burn = x
        origin = prefix.root[-1]
    else:
        x0 = model.frame_mean.cpu() + cfg.seed_noise * model.frame_std.cpu() * torch.randn(model.dim, generator=gen)
        feat = from_frames(x0[None, None], J)  # (1, 9, 1, J)
        yaw = float(torch.rand(1, generator=gen)) * 2 * math.pi - math.pi
        from csgn_core.motion.heading import rotate_heading

        feat = rotate_heading(feat, torch.tensor([yaw]))
        burn = project(to_frames(feat), J).to(dev)  # (1, 1, D)
    noise = 0.0 if prefix is not None else cfg.state_noise
    state = [tuple((noise * torch.randn(1, cfg.hidden, generator=gen)).to(dev) for _ in range(2))
             for _ in range(cfg.layers)]
    y, state = model(burn, state)
    prev = project(y[:, -1:], J)
    skip = 0 if prefix is not None else int(round(cfg.burn_in_s * model.fps))
    out = []
    for i in range(skip + frames):
        if i >= skip:
            out.append(prev)
        y, state = model(prev, state)
        prev = project(y, J)
    x = torch.cat(out, dim=1)  # (1, frames, D)
    feat = from_frames(x.float().cpu(), J)[0]  # (9, frames, J)
    rot, root = model.codec.decode_np(feat, origin=origin)
    return Motion(model.skeleton, model.fps, rotations=rot, root=root,
                  meta={"generator": "aclstm", "seed": seed, "step": int(model.step)})


def train_aclstm(args) -> int:
    """``csgn train --preset aclstm``: see ``aclstm_train.train_aclstm``."""
    from csgn_core.model.baseline.aclstm_train import train_aclstm as main

    return main(args)
