"""Training of the acLSTM baseline on the generator split, with checkpoints that resume exactly.

One step: a batch of random windows of the generator split (the CSGN trainer's ``WindowSampler``,
random heading), one auto-conditioned rollout (``ACLSTM.rollout``), a weighted L2 loss on the
predicted feature frames, one Adam update with gradient clipping.

A run folder holds ``model/`` (config.json + model.safetensors, see aclstm.py), ``metrics.jsonl``
and ``checkpoints/step-XXXXXXXX/`` written by ``csgn_core.model.train.checkpoint`` (config.json with
``"kind": "csgn-aclstm"``, model.safetensors, optim.safetensors; the numpy RNG state is in the
JSON, so a resumed run draws the same windows it would have drawn).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from csgn_core.errors import CSGNError
from csgn_core.model.baseline.aclstm import (
    ACLSTM,
    ACLSTM_FORMAT,
    ACLSTMConfig,
    config_doc,
    export_aclstm,
    schedule,
    to_frames,
)
from csgn_core.model.train.checkpoint import (
    jsonable_groups,
    load_optimiser,
    optimiser_tensors,
    read_checkpoint,
    resume_point,
    save_checkpoint,
)
from csgn_core.model.train.run import TrainRun
from csgn_core.model.train.windows import WindowSampler, resolve_dataset
from csgn_core.motion.skeleton import Skeleton


@dataclass
class ACLSTMTrainConfig:
    batch: int = 16
    lr: float = 1e-3
    grad_clip: float = 1.0
    yaw_augment: bool = True
    log_every: int = 10
    checkpoint_minutes: float = 5.0
    keep_checkpoints: int = 2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ACLSTMTrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def frame_stats(sampler: WindowSampler) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of all generator-split frames (D,), with the root's global heading
    averaged out by yaw augmentation's symmetry (its horizontal 6D components get mean 0)."""
    x = to_frames(sampler.features.permute(1, 0, 2)[None])[0]  # (frames, D)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-3)
    for c in (0, 2, 3, 5):  # root 6D x/z components: heading-dependent
        mean[c] = 0.0
    return mean, std


class ACLSTMTrainer:
    def __init__(self, cfg: ACLSTMConfig, tcfg: ACLSTMTrainConfig, sampler: WindowSampler, *, seed: int = 0,
                 device: str | torch.device = "cpu", data_name: str = ""):
        self.cfg, self.tcfg, self.sampler = cfg, tcfg, sampler
        self.device = torch.device(device)
        self.seed, self.data_name = seed, data_name
        torch.manual_seed(seed)
        self.model = ACLSTM(cfg, sampler.skeleton, sampler.fps, sampler.stats)
        mean, std = frame_stats(sampler)
        self.model.frame_mean.copy_(mean)
        self.model.frame_std.copy_(std)
        self.model.to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=tcfg.lr)
        w = torch.ones(self.model.dim)
        w[-3:] = cfg.root_weight
        self.weight = (w / w.mean()).to(self.device)  # (D,): the mean weight stays 1
        self.sched = schedule(cfg, cfg.seq_len - 1)
        self.rng = np.random.default_rng(seed)
        self.step, self.elapsed = 0, 0.0

    def train_step(self) -> dict:
        t0 = time.perf_counter()
        self.model.train()
        feat = self.sampler.sample(self.tcfg.batch, self.rng, yaw=self.tcfg.yaw_augment)  # (N, 9, T, J)
        x = to_frames(feat).to(self.device)  # (N, T, D)
        pred = self.model.rollout(x, self.sched)  # (N, T - 1, D)
        err = (pred - x[:, 1:]) ** 2
        loss = (err * self.weight).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tcfg.grad_clip)
        self.opt.step()
        self.step += 1
        self.model.step = self.step
        dt = time.perf_counter() - t0
        self.elapsed += dt
        with torch.no_grad():
            own = torch.from_numpy(~self.sched).to(self.device)
            loss_own = float((err[:, own] * self.weight).mean()) if bool(own.any()) else float("nan")
        return {"step": self.step, "loss": float(loss.detach()), "loss_own": loss_own,
                "grad_norm": float(gnorm), "step_s": dt}

    # state ---------------------------------------------------------------------------------------
    def save(self, run_dir: Path) -> Path:
        doc = {"kind": ACLSTM_FORMAT, "aclstm": config_doc(self.model), "train": self.tcfg.to_dict(),
               "state": {"step": self.step, "elapsed_s": self.elapsed, "seed": self.seed, "data": self.data_name,
                         "rng": self.rng.bit_generator.state, "optim_groups": jsonable_groups(self.opt)}}
        path = save_checkpoint(run_dir, self.step, doc, self.model.weights(), optimiser_tensors("opt", self.opt),
                               keep=self.tcfg.keep_checkpoints)
        export_aclstm(self.model, Path(run_dir) / "model")
        return path

    def load(self, folder: Path) -> None:
        from csgn_core.model.inference import load_state

        doc, model, optim = read_checkpoint(folder)
        load_state(self.model, {"m." + k: v for k, v in model.items()}, "m.", folder)
        load_optimiser("opt", self.opt, doc["state"]["optim_groups"], optim)
        st = doc["state"]
        self.step, self.elapsed = int(st["step"]), float(st["elapsed_s"])
        self.model.step = self.step
        self.rng.bit_generator.state = st["rng"]


def read_aclstm_checkpoint(folder: Path) -> tuple[ACLSTMConfig, ACLSTMTrainConfig, dict]:
    doc, _, _ = read_checkpoint(folder)
    if doc.get("kind") != ACLSTM_FORMAT:
        raise CSGNError(f"--resume: {folder} is not an acLSTM checkpoint (a CSGN run? drop --preset aclstm)")
    return ACLSTMConfig.from_dict(doc["aclstm"]["model"]), ACLSTMTrainConfig.from_dict(doc["train"]), doc


def _device(name: str) -> torch.device:
    if name in (None, "auto"):
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise CSGNError("--device cuda: no CUDA device available")
    return torch.device(name)


def train_aclstm(args: TrainRun, cfg: ACLSTMConfig | None = None, tcfg: ACLSTMTrainConfig | None = None) -> int:
    """``csgn train --preset aclstm``: the ``csgn train`` options (GAN-only ones are
    ignored); ``cfg`` and ``tcfg`` override the default network and optimisation settings of a new
    run (tests use a tiny one); a resumed run keeps its checkpoint's."""
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    device = _device(getattr(args, "device", "auto"))
    out = Path(args.out)
    ds = resolve_dataset(args.data)
    ck = resume_point(out, args.resume)
    if ck is not None:
        cfg, tcfg, doc = read_aclstm_checkpoint(ck)
        if not Skeleton.from_dict(doc["aclstm"]["skeleton"]).same_topology(ds.skeleton):
            raise CSGNError(f"--resume: {args.data} has a different skeleton than the checkpoint in {out}")
        sampler = WindowSampler(ds, cfg.seq_len, stats=doc["aclstm"]["stats"])
    else:
        cfg = cfg or ACLSTMConfig()
        tcfg = dataclasses.replace(tcfg) if tcfg is not None else ACLSTMTrainConfig()
        sampler = WindowSampler(ds, cfg.seq_len)
    if getattr(args, "batch", None):
        tcfg.batch = args.batch
    if getattr(args, "checkpoint_minutes", None) is not None:
        tcfg.checkpoint_minutes = args.checkpoint_minutes
    tr = ACLSTMTrainer(cfg, tcfg, sampler, seed=args.seed, device=device, data_name=str(args.data))
    if ck is not None:
        tr.load(ck)
    if args.steps is not None and tr.step >= args.steps:
        print(f"already at step {tr.step} >= --steps {args.steps}; nothing to do", file=sys.stderr)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in tr.model.parameters())
    print(f"csgn train: acLSTM on {ds.name} ({sampler.frames} frames, {ds.skeleton.name}), {n_params} params, "
          f"device {device}, from step {tr.step}", file=sys.stderr)
    bar = None
    if not getattr(args, "no_progress", False):
        from tqdm import tqdm

        bar = tqdm(total=args.steps, initial=tr.step, unit="step", dynamic_ncols=True)
    t0 = last_ck = time.monotonic()
    start = tr.step
    interrupted = False
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as log:
        try:
            while not ((args.steps is not None and tr.step >= args.steps) or
                       (args.minutes is not None and time.monotonic() - t0 >= args.minutes * 60)):
                first = tr.step == start
                m = tr.train_step()
                if not math.isfinite(m["loss"]):
                    raise CSGNError(f"training diverged at step {tr.step}: {m}")
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{m['loss']:.4f}")
                if tr.step % tcfg.log_every == 0 or first:  # the first step of every (resumed) run too
                    log.write(json.dumps({**m, "elapsed": round(tr.elapsed, 3)}) + "\n")
                    log.flush()
                if time.monotonic() - last_ck >= tcfg.checkpoint_minutes * 60:
                    tr.save(out)
                    last_ck = time.monotonic()
        except KeyboardInterrupt:
            interrupted = True  # keep what was learned: save below, then report the interrupt
        finally:
            if bar is not None:
                bar.close()
        tr.save(out)
    print(f"csgn train: stopped at step {tr.step}; model in {out / 'model'}", file=sys.stderr)
    if interrupted:
        raise KeyboardInterrupt
    return 0
