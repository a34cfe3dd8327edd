"""WGAN-GP training of CSGN (paper sections 3.3 and 6) with the inverse network H.

One training step:
1. ``n_critic`` critic updates: real windows x (random crops of the generator split, random
   heading), fake windows G(z) with z from the GP prior; loss D(G(z)) - D(x) plus
   ``gp_weight * (||grad D(x_hat)|| - gp_target)^2`` on random interpolates x_hat.
2. One generator update: -D(G(z)).
3. One inverse-network update: cycle consistency ||H(G(z)) - z||_1 on the same prior samples and
   ||G(H(x)) - x||_1 on real windows (compared as critic features: rotations, root channels and
   joint positions). G runs in eval mode inside the x-cycle, as it does when H is used.
   ``cycle_x_g`` and ``cycle_z_g`` let a share of either cycle's gradient reach G as well; the
   z-cycle share makes G keep its latent recoverable (without it the bundled models' H learnt
   nothing: ||H(G(z)) - z||_1 stayed at E|z|, what predicting zero scores).

Everything random (crops, headings, latents, interpolation weights) comes from one numpy
Generator, whose state is saved in the checkpoint, so a resumed single-process run continues
exactly as if it had not stopped.

Data parallel runs (``torchrun --nproc_per_node=N -m csgn_core.train.trainer ...``) average the
gradients of G, D and H over processes with one all-reduce per network and step (gloo on CPU,
nccl on CUDA). The gradient penalty needs a double backward and the H step runs G twice, which the
DistributedDataParallel wrapper handles poorly; an explicit all-reduce does the same job. Rank 0
writes logs, samples and checkpoints.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..datasets import DATASETS, SPLITS, Dataset, build_dataset, default_cache_path
from ..errors import CSGNError
from ..footclean import contact_point_indices
from ..heading import rotate_heading
from ..gp import GPPrior
from ..nn.config import ModelConfig, TrainConfig, preset, PRESETS
from ..nn.features import N_CONTACT, N_CRITIC_BASE, N_ROT, FeatureCodec, feature_stats, quat_to_6d_np, root_track_np
from ..nn.model import CSGNModel, export_model, generate, measure_inverse_fidelity
from ..nn.networks import build_networks, count_parameters
from ..skeleton import Skeleton
from .completion import CompletionLayout, GPConditioner, draw_layout, latent_moment_loss
from .checkpoint import load_optimiser, optimiser_tensors, read_checkpoint, resume_point, save_checkpoint


# --- data -------------------------------------------------------------------------------------------------
def resolve_dataset(spec: str) -> Dataset:
    """A built dataset from a .npz path, or by name from the cache (built there on first use)."""
    p = Path(spec)
    if p.suffix == ".npz" or p.exists():
        if p.is_dir():
            p = p / "dataset.npz" if (p / "dataset.npz").is_file() else p
        return Dataset.load(p)
    if spec not in DATASETS:
        raise CSGNError(f"--data {spec!r}: neither a dataset file nor a known dataset name ({', '.join(DATASETS)})")
    path = default_cache_path(spec)
    if not path.is_file():
        print(f"building dataset {spec} into {path} (once)", file=sys.stderr)
        build_dataset(spec).save(path)
    return Dataset.load(path)


class WindowSampler:
    """Random windows of the generator split as (N, 9, T, J) feature tensors."""

    def __init__(self, ds: Dataset, window: int, stats: dict | None = None, contact_joints: list[int] | None = None):
        if ds.rotations is None or ds.root is None:
            raise CSGNError(f"dataset {ds.name} holds positions only; CSGN trains on rotations "
                            "(build it with a rotation solve, as tang-dance is)")
        self.skeleton, self.fps, self.window = ds.skeleton, ds.fps, window
        gen = SPLITS.index("gen")
        clips = [c for c in range(len(ds.clip_names)) if ds.clip_split[c] == gen]
        if not clips:
            raise CSGNError(f"dataset {ds.name} has no clips in the generator split")
        root_raw, six, starts, lengths = [], [], [], []
        offset = 0
        for c in clips:
            a, b = int(ds.clip_start[c]), int(ds.clip_start[c + 1])
            rot = ds.rotations[a:b].astype(np.float64)
            root_raw.append(root_track_np(rot, ds.root[a:b].astype(np.float64)))
            six.append(quat_to_6d_np(rot).astype(np.float32))
            starts.append(offset)
            lengths.append(b - a)
            offset += b - a
        root_raw = np.concatenate(root_raw)
        self.stats = dict(stats) if stats is not None else feature_stats(ds.skeleton, root_raw)
        if contact_joints:
            self.stats["contact_joints"] = [int(j) for j in contact_joints]
        self.codec = FeatureCodec(ds.skeleton, self.stats)
        J = ds.skeleton.n_joints
        feat = np.zeros((offset, N_ROT + 3, J), dtype=np.float32)  # (frames, 9, J)
        feat[:, :N_ROT] = np.concatenate(six).transpose(0, 2, 1)
        feat[:, N_ROT:, 0] = self.codec.normalise_root(root_raw)
        if self.codec.contact_joints:
            feat[:, N_CONTACT, self.codec.contact_joints] = 2.0 * contact_labels(ds, clips, self.codec.contact_joints) - 1.0
        self.features = torch.from_numpy(feat)
        self.starts = np.array(starts)
        self.lengths = np.array(lengths)
        w = np.maximum(self.lengths - window + 1, 1).astype(np.float64)
        self.p = w / w.sum()
        self.frames = offset

        self.mirror_map = torch.from_numpy(ds.skeleton.mirror_map())

    def sample(self, n: int, rng: np.random.Generator, yaw: bool = True, window: int | None = None,
               mirror: bool = False) -> torch.Tensor:
        """(n, 9, T, J) windows; clips shorter than the window hold their last frame. ``mirror``: a
        random half of them swapped left for right (``mirror_features``)."""
        W = self.window if window is None else window
        c = rng.choice(len(self.lengths), size=n, p=self.p)
        start = (rng.random(n) * np.maximum(self.lengths[c] - W + 1, 1)).astype(np.int64)
        t = np.minimum(start[:, None] + np.arange(W)[None], self.lengths[c][:, None] - 1)
        idx = torch.from_numpy((self.starts[c][:, None] + t).ravel())
        x = self.features[idx].view(n, W, N_ROT + 3, -1).permute(0, 2, 1, 3).contiguous()
        if mirror:
            flip = torch.from_numpy(rng.random(n) < 0.5)
            x = torch.where(flip[:, None, None, None], mirror_features(x, self.mirror_map), x)
        if yaw:
            x = rotate_heading(x, torch.from_numpy(rng.uniform(-math.pi, math.pi, n)).float())
        return x


def contact_labels(ds: Dataset, clips: list[int], joints: list[int]) -> np.ndarray:
    """(frames, K) 0/1 contact labels of the given joints over the clips (concatenated), from the
    forward kinematics of the clips' rotations (what the generator reproduces) by
    ``footclean.detect_contacts`` (low and slow, with hysteresis; thresholds documented there)."""
    from ..footclean import detect_contacts, feet_for

    names = [ds.skeleton.joints[j] for j in joints]
    out = []
    for c in clips:
        m = ds.clip(c)
        flags = detect_contacts(m.positions, ds.skeleton, ds.fps, feet=feet_for(ds.skeleton))
        out.append(np.stack([flags[n] for n in names], axis=1))
    return np.concatenate(out).astype(np.float32)


# Model settings a resumed run may change: foot contacts (G's spare channels), and H's shape
# (H is then trained from new weights).
RESUMABLE_SETTINGS = ("foot_contacts", "h_width", "h_min_width", "h_kt", "h_varying", "h_graph")


def _feet_known(skeleton: Skeleton, say: bool) -> bool:
    """Whether the skeleton has a foot table (``footclean.FEET``); without one the run trains
    without foot contacts, and says so."""
    from ..footclean import feet_for

    try:
        feet_for(skeleton)
        return True
    except CSGNError as e:
        if say:
            print(f"csgn train: foot contacts off ({e})", file=sys.stderr)
        return False


# Reflecting x (the body's left-right axis) maps a rotation R to M R M, M = diag(-1, 1, 1): its first
# two columns (the 6D channels) change sign in these places.
_MIRROR_6D = torch.tensor([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])


def mirror_features(x: torch.Tensor, mirror_map: torch.Tensor) -> torch.Tensor:
    """(N, 9, T, J) windows of the mirrored motion: every joint takes its left/right counterpart's
    reflected rotation (and contact channel), the root's sideways velocity changes sign. Exact for
    a skeleton whose rest offsets are mirror images (tang23 to about 1 cm, 7 cm at the hand tips)."""
    y = x.index_select(3, mirror_map.to(x.device))
    sign = torch.ones(x.shape[1], x.shape[3], dtype=x.dtype, device=x.device)  # (9, J)
    sign[:N_ROT] = _MIRROR_6D.to(x)[:, None]
    sign[N_ROT, 0] = -1.0  # the root's sideways velocity
    return y * sign[None, :, None, :]


def measure_diff_gain(sampler: WindowSampler, rng: np.random.Generator, n: int = 256) -> list[float]:
    """Scale the critic's frame-difference channels to a spread like the features' own (about 0.5)."""
    codec = FeatureCodec(sampler.skeleton, dict(sampler.stats, diff_gain=[1.0, 1.0, 1.0]))
    with torch.no_grad():
        ci = codec.critic_input(sampler.sample(n, rng))
    d = ci[:, N_CRITIC_BASE:]
    groups = [d[:, :N_ROT], d[:, N_ROT:N_ROT + 3, :, :1], d[:, N_ROT + 3:]]
    return [float(min(0.5 / max(g.std().item(), 1e-4), 200.0)) for g in groups]


# --- distributed ----------------------------------------------------------------------------------------------
class Dist:
    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.on = self.world > 1

    def init(self, device: torch.device) -> None:
        if self.on and not torch.distributed.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend)

    def average_grads(self, module: nn.Module) -> None:
        if not self.on:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.world
        i = 0
        for g in grads:
            g.copy_(flat[i:i + g.numel()].view_as(g))
            i += g.numel()

    def broadcast_module(self, module: nn.Module) -> None:
        if self.on:
            for t in list(module.parameters()) + list(module.buffers()):
                torch.distributed.broadcast(t.data, 0)

    def in_sync(self, modules: list[nn.Module]) -> bool:
        """Whether every rank holds the same parameters (they should: same start, same averaged steps)."""
        if not self.on:
            return True
        total = sum(p.detach().double().sum() for m in modules for p in m.parameters())
        hi, lo = total.clone().reshape(1), total.clone().reshape(1)
        torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
        torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
        return bool(hi.item() == lo.item())

    def any_flag(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when rank 0 says so (stop decisions stay in step)."""
        if not self.on:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        torch.distributed.broadcast(t, 0)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.on and torch.distributed.is_initialized():
            torch.distributed.barrier()

    def close(self) -> None:
        if self.on and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _scale_grad(x: torch.Tensor, k: float) -> torch.Tensor:
    """x in the forward pass; k times the gradient in the backward pass."""
    return x * k + x.detach() * (1.0 - k)


def _requires_grad(module: nn.Module, on: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(on)


# --- the trainer ------------------------------------------------------------------------------------------------
class Trainer:
    def __init__(self, mcfg: ModelConfig, tcfg: TrainConfig, sampler: WindowSampler | None, *, seed: int = 0,
                 device: str | torch.device = "cpu", dist: Dist | None = None, data_name: str = ""):
        self.mcfg, self.tcfg, self.sampler = mcfg, tcfg, sampler
        self.device = torch.device(device)
        self.dist = dist or Dist()
        self.seed, self.data_name = seed, data_name
        self.skeleton = Skeleton.from_dict(mcfg.skeleton)
        torch.manual_seed(seed)  # identical initial weights on every rank
        G, D, H = build_networks(mcfg, self.skeleton)
        self.G, self.D, self.H = G.to(self.device), D.to(self.device), H.to(self.device)
        for m in (self.G, self.D, self.H):
            self.dist.broadcast_module(m)
        self.codec = FeatureCodec(self.skeleton, mcfg.stats, world_velocity=mcfg.critic_world_velocity).to(self.device)
        betas = (tcfg.beta1, tcfg.beta2)
        self.opt = {name: torch.optim.Adam(m.parameters(), lr=tcfg.lr, betas=betas)
                    for name, m in (("G", self.G), ("D", self.D))}
        self.opt["H"] = torch.optim.Adam(self.H.parameters(), lr=tcfg.lr_h or tcfg.lr,
                                         betas=(tcfg.beta1_h or tcfg.beta1, tcfg.beta2))
        self.prior = GPPrior(mcfg.prior_config())
        self.rng = np.random.default_rng([seed, self.dist.rank])
        self.step = 0
        self.elapsed = 0.0
        self.amp = tcfg.amp and self.device.type == "cuda"
        self.ranks_in_sync = True
        t0 = mcfg.window // mcfg.step_frames
        self.kernel_rows = torch.from_numpy(self.prior.kernel_rows(t0)).float().to(self.device)  # (C, T0)
        self._conditioners: dict[tuple, GPConditioner] = {}

    # helpers --------------------------------------------------------------------------------------
    def autocast(self):
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def latent(self, n: int) -> torch.Tensor:
        t0 = self.mcfg.window // self.mcfg.step_frames
        return torch.from_numpy(self.prior.sample(t0, n, self.rng)).float().to(self.device)

    def real(self, n: int) -> torch.Tensor:
        return self.sampler.sample(n, self.rng, yaw=self.tcfg.yaw_augment, mirror=self.tcfg.mirror).to(self.device)

    def z_cycle_loss(self, z_rec: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(z_rec, z) if self.tcfg.cycle_z_mse else F.l1_loss(z_rec, z)

    def critic(self, feat: torch.Tensor) -> torch.Tensor:
        x = self.codec.critic_input(feat)
        with self.autocast():
            return self.D(x).float()

    # one step ---------------------------------------------------------------------------------------
    def train_step(self) -> dict:
        t, B = self.tcfg, self.tcfg.batch
        t_start = time.perf_counter()
        self.G.train(), self.D.train(), self.H.train()
        # 1. critic
        _requires_grad(self.D, True)
        loss_d = penalty = gnorm = d_real = d_fake = torch.zeros(1, device=self.device)
        for _ in range(t.n_critic):
            real = self.real(B)
            z = self.latent(B)
            with torch.no_grad(), self.autocast():
                fake = self.G(z).float()
            eps = torch.from_numpy(self.rng.random(B)).float().to(self.device)[:, None, None, None]
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            scores = self.critic(torch.cat([real, fake, x_hat]))
            d_real, d_fake, d_hat = scores[:B], scores[B:2 * B], scores[2 * B:]
            grad, = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
            gnorm = grad.flatten(1).norm(dim=1)
            penalty = ((gnorm - t.gp_target) ** 2).mean()
            loss_d = d_fake.mean() - d_real.mean() + t.gp_weight * penalty
            self.opt["D"].zero_grad(set_to_none=True)
            loss_d.backward()
            self.dist.average_grads(self.D)
            self.opt["D"].step()
        # 2. generator and 3. inverse network
        _requires_grad(self.D, False)
        self.opt["G"].zero_grad(set_to_none=True)
        self.opt["H"].zero_grad(set_to_none=True)
        z = self.latent(B)
        with self.autocast():
            fake = self.G(z).float()
        loss_g = -t.adversarial * self.critic(fake).mean() if t.adversarial > 0 else torch.zeros((), device=self.device)
        feet = {}
        if t.foot_still > 0:
            loss_feet = self.codec.foot_slide(fake)
            loss_g = loss_g + t.foot_still * loss_feet
            feet["foot_slide"] = float(loss_feet.detach())
        z_through_g = t.cycle_z_g > 0 and t.cycle_z > 0
        if z_through_g:  # G also learns to keep z recoverable, with cycle_z_g of the z-cycle's weight
            with self.autocast():
                if t.cycle_z_eval:
                    self.G.eval()
                    fake_z = self.G(z).float()
                    self.G.train()
                else:
                    fake_z = fake
                z_rec = self.H(self.codec.critic_input(_scale_grad(fake_z, t.cycle_z_g / t.cycle_z))).float()
            loss_z = self.z_cycle_loss(z_rec, z)
            (loss_g + t.cycle_z * loss_z).backward()
        else:
            if loss_g.requires_grad:
                loss_g.backward()
            with self.autocast():
                z_rec = self.H(self.codec.critic_input(fake.detach())).float()
            loss_z = self.z_cycle_loss(z_rec, z)
        if t.n_critic == 0:  # no critic batch to reuse
            real = self.real(B)
        real_ci = self.codec.critic_input(real)[:, :N_CRITIC_BASE]
        self.G.eval()  # the x-cycle runs G as inference does (batch norm with running statistics)
        g_grads = None
        if t.cycle_x_g > 0 and t.cycle_x > 0:
            g_grads = [p.grad.clone() if p.grad is not None else None for p in self.G.parameters()]
            self.opt["G"].zero_grad(set_to_none=True)
        else:
            _requires_grad(self.G, False)
        with self.autocast():
            rec = self.G(self.H(self.codec.critic_input(real))).float()
        loss_x = F.l1_loss(self.codec.critic_input(rec)[:, :N_CRITIC_BASE], real_ci)
        (t.cycle_x * loss_x if z_through_g else t.cycle_z * loss_z + t.cycle_x * loss_x).backward()
        self.G.train()
        _requires_grad(self.G, True)
        if g_grads is not None:
            k = t.cycle_x_g / t.cycle_x
            for p, g0 in zip(self.G.parameters(), g_grads):
                if p.grad is not None:
                    p.grad.mul_(k)
                    if g0 is not None:
                        p.grad.add_(g0)
                elif g0 is not None:
                    p.grad = g0
        job = {}
        if t.complete > 0 or t.latent_moments > 0:
            self.G.eval()  # as inference runs it
            loss_job, job = self.job_losses()
            loss_job.backward()
            self.G.train()
        self.dist.average_grads(self.G)
        self.dist.average_grads(self.H)
        self.opt["G"].step()
        self.opt["H"].step()
        self.step += 1
        dt = time.perf_counter() - t_start
        self.elapsed += dt
        return {
            "step": self.step, "loss_d": float(loss_d.detach()), "wasserstein": float((d_real.mean() - d_fake.mean()).detach()),
            "penalty": float(penalty.detach()), "grad_norm": float(gnorm.mean().detach()), "loss_g": float(loss_g.detach()),
            "cycle_z": float(loss_z.detach()), "cycle_x": float(loss_x.detach()), **feet,
            **job, "step_s": dt,
        }

    def conditioner(self, layout: CompletionLayout) -> GPConditioner:
        key = (layout.T0, layout.a, layout.b)
        if key not in self._conditioners:
            self._conditioners[key] = GPConditioner(self.prior, layout.T0, layout.known()).to(self.device)
        return self._conditioners[key]

    def job_losses(self) -> tuple[torch.Tensor, dict]:
        """What the editor asks of H and G (``train/completion.py``): the moment term on H's latents of
        real windows, and one batch through the completion path. Returns the weighted sum and its parts."""
        t, S = self.tcfg, self.mcfg.step_frames
        total = torch.zeros((), device=self.device)
        logs = {}
        if t.latent_moments > 0:
            x = self.real(t.batch)
            with self.autocast():
                h = self.H(self.codec.critic_input(x)).float()
            loss_m = latent_moment_loss(h, self.kernel_rows, t.latent_decorrelate)
            total = total + t.latent_moments * loss_m
            logs["moments"] = float(loss_m.detach())
            logs["latent_std"] = float(h.detach().std())
        if t.complete > 0:
            lay = draw_layout(self.rng, t.complete_window // S, S, t.complete_max_gap)
            n, a, b = t.complete_batch, lay.a * S, lay.b * S
            x = self.sampler.sample(n, self.rng, yaw=t.yaw_augment, window=t.complete_window,
                                    mirror=t.mirror).to(self.device)
            ci = self.codec.critic_input
            with self.autocast():
                zk = torch.cat([self.H(ci(x[:, :, :a])), self.H(ci(x[:, :, b:]))], dim=2).float()
            eps = torch.from_numpy(self.rng.standard_normal((n, self.mcfg.latent_channels, lay.T0))).float()
            n_rec = int(round(n * t.complete_recon))
            eps[:n_rec] = 0.0  # the conditional mean: what the context implies
            z = self.conditioner(lay)(zk, eps.to(self.device))
            with self.autocast():
                out = self.G(z).float()  # (n, 9, W, J)
            fo, fx = ci(out)[:, :N_CRITIC_BASE], ci(x)[:, :N_CRITIC_BASE]
            loss_pin = 0.5 * (F.l1_loss(fo[..., :a, :], fx[..., :a, :]) + F.l1_loss(fo[..., b:, :], fx[..., b:, :]))
            loss = loss_pin
            logs["complete_pin"] = float(loss_pin.detach())
            if n_rec:
                loss_gap = F.l1_loss(fo[:n_rec, :, a:b], fx[:n_rec, :, a:b])
                scale = self.mcfg.stats["pos_scale"]
                loss_path = F.l1_loss(self.codec.world_positions(out[:n_rec]), self.codec.world_positions(x[:n_rec])) / scale
                loss = loss + loss_gap + loss_path
                logs["complete_gap"], logs["complete_path"] = float(loss_gap.detach()), float(loss_path.detach())
            Wd = self.mcfg.window  # the critic judges a window of its own length around the gap
            c0 = int(np.clip((a + b) // 2 - Wd // 2, 0, t.complete_window - Wd))
            loss_adv = -self.critic(out[:, :, c0:c0 + Wd]).mean()
            loss = loss + t.adversarial * loss_adv
            logs["complete_adv"] = float(loss_adv.detach())
            if t.foot_still > 0:
                loss = loss + t.foot_still * self.codec.foot_slide(out)
            total = total + t.complete * loss
        return total, logs

    # state ----------------------------------------------------------------------------------------------
    def model_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, m in (("G", self.G), ("D", self.D), ("H", self.H)):
            for k, v in m.state_dict().items():
                out[f"{name}.{k}"] = v.detach().cpu()
        return out

    def save(self, run_dir: Path) -> Path:
        optim = {}
        for name, opt in self.opt.items():
            optim.update(optimiser_tensors(name, opt))
        doc = {
            "model": self.mcfg.to_dict(), "train": self.tcfg.to_dict(),
            "state": {"step": self.step, "elapsed_s": self.elapsed, "seed": self.seed, "data": self.data_name,
                      "rng": self.rng.bit_generator.state, "world": self.dist.world,
                      "ranks_in_sync": self.ranks_in_sync,
                      "optim_groups": {n: _groups(o) for n, o in self.opt.items()}},
            "params": {"G": count_parameters(self.G), "D": count_parameters(self.D), "H": count_parameters(self.H)},
        }
        path = save_checkpoint(run_dir, self.step, doc, self.model_tensors(), optim, keep=self.tcfg.keep_checkpoints)
        export_model(self.inference_model(), Path(run_dir) / "model", extra={"step": self.step})
        return path

    def load(self, folder: Path, fresh: tuple[str, ...] = ()) -> None:
        """Continue from a checkpoint; the networks named in ``fresh`` keep their new initial weights
        and optimiser (a resumed run whose H was rebuilt with other settings)."""
        from ..nn.model import load_state

        doc, model, optim = read_checkpoint(folder)
        for name, m in (("G", self.G), ("D", self.D), ("H", self.H)):
            if name not in fresh:
                load_state(m, model, name + ".", folder)
        groups = doc["state"]["optim_groups"]
        for name, opt in self.opt.items():
            if name not in fresh:
                load_optimiser(name, opt, groups[name], optim)
        st = doc["state"]
        self.step, self.elapsed = int(st["step"]), float(st["elapsed_s"])
        if self.dist.rank == 0:
            self.rng.bit_generator.state = st["rng"]
        else:  # other ranks draw a fresh stream, distinct per rank and per resume point
            self.rng = np.random.default_rng([int(st.get("seed", 0)), self.dist.rank, self.step])

    def inference_model(self) -> CSGNModel:
        import copy

        m = CSGNModel(self.mcfg, copy.deepcopy(self.G).cpu().float(), copy.deepcopy(self.H).cpu().float())
        return m.eval()


def _groups(opt: torch.optim.Optimizer) -> list[dict]:
    from .checkpoint import jsonable_groups

    return jsonable_groups(opt)


# --- plots ---------------------------------------------------------------------------------------------------
def plot_sample(model: CSGNModel, path: Path, seconds: float | None = None, seed: int = 0) -> Path:
    """PNG of a generated sample: joint heights and root path over time, and bone lengths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = 2 * model.cfg.window / model.fps if seconds is None else seconds
    m = generate(model, seconds, seed)
    pos = m.positions  # (F, J, 3)
    t = np.arange(m.n_frames) / m.fps
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    ax[0].plot(t, pos[:, :, 1], lw=0.8)
    ax[0].set(title="joint heights (cm)", xlabel="s")
    rel = pos - pos[:, :1]
    ax[1].plot(t, rel[:, :, 0], lw=0.6)
    ax[1].plot(t, rel[:, :, 2], lw=0.6, ls="--")
    ax[1].set(title="joint x (solid) / z (dashed) relative to root (cm)", xlabel="s")
    bl = m.bone_lengths()
    ax[2].plot(t, bl, lw=0.8)
    ax[2].set(title="bone lengths (cm)", xlabel="s")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _log_quality(trainer: Trainer, log, writer) -> float:
    from .quality import quick_fd

    fd = quick_fd(trainer.G, trainer.prior, trainer.codec, trainer.sampler, device=trainer.device)
    with torch.no_grad():
        fidelity = measure_inverse_fidelity(trainer.inference_model())
    log.write(json.dumps({"step": trainer.step, "fd": fd, "inverse_fidelity": round(fidelity, 4),
                          "time_s": round(trainer.elapsed, 3)}) + "\n")
    log.flush()
    if writer is not None:
        writer.add_scalar("quality/window_fd", fd, trainer.step)
    return fd


# --- command line ---------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csgn train", description="train CSGN (WGAN-GP with the GP latent prior)")
    p.add_argument("--data", required=True, help="dataset name (tang-dance, bandai-actions, kinect-actions) or built .npz")
    p.add_argument("--preset", default="cpu", choices=sorted([*PRESETS, "aclstm"]),
                   help="network and training size (aclstm: the autoregressive baseline, docs/baseline.md)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, model/, metrics.jsonl, samples, tb")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, help="stop at this total step count")
    p.add_argument("--minutes", type=float, help="stop after this many minutes of this run")
    p.add_argument("--gp-target", type=float, help="gradient norm the penalty pulls towards (paper 0.1)")
    p.add_argument("--batch", type=int, help="windows per batch (per process)")
    p.add_argument("--n-critic", type=int, help="critic updates per generator update")
    p.add_argument("--cycle-x-g", type=float, help="share of the G(H(x)) reconstruction gradient that reaches G")
    p.add_argument("--cycle-z-g", type=float, help="share of the H(G(z)) cycle gradient that reaches G (keeps z "
                                                   "recoverable, so H can invert G)")
    p.add_argument("--sigma-bar", type=float, help="base length scale of the GP prior, latent steps")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model setting of the preset (repeatable), e.g. gp_mode=white")
    p.add_argument("--train-set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a training setting (repeatable), e.g. latent_moments=1 or mirror=true; "
                        "a run resumed from an older checkpoint takes the new recipe this way")
    p.add_argument("--checkpoint-minutes", type=float, help="minutes between checkpoints (and quality scores)")
    p.add_argument("--sample-minutes", type=float, help="minutes between sample plots")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    return p


def _device(name: str, dist: Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise CSGNError("--device cuda: no CUDA device available")
        return torch.device("cuda", dist.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def train_main(argv: list[str] | None = None) -> int:
    """Entry point of ``csgn train`` (and ``python -m csgn_core.train.trainer``)."""
    args = parser().parse_args(argv)
    if args.preset == "aclstm":
        from ..baseline.aclstm_train import train_aclstm_main

        return train_aclstm_main(args)
    dist = Dist()
    device = _device(args.device, dist)
    if args.threads:
        torch.set_num_threads(args.threads)
    dist.init(device)
    try:
        rc = _train(args, dist, device)
        # Leave together: rank 0 still writes the model folder when the others are done, and a gloo
        # rank that tears its group down under a busy peer was seen to abort ("terminate called").
        dist.barrier()
        return rc
    finally:
        dist.close()


def _train(args, dist: Dist, device: torch.device) -> int:
    out = Path(args.out)
    lead = dist.rank == 0
    ds = resolve_dataset(args.data)
    ck = resume_point(out, args.resume, check_new=lead)
    fresh: tuple[str, ...] = ()
    if ck is not None:
        doc, _, _ = read_checkpoint(ck)
        mcfg, tcfg = ModelConfig.from_dict(doc["model"]), TrainConfig.from_dict(doc["train"])
        if not Skeleton.from_dict(mcfg.skeleton).same_topology(ds.skeleton):
            raise CSGNError(f"--resume: {args.data} has a different skeleton than the checkpoint in {out}")
        # A resumed run may switch foot contacts on, and rebuild H (which then starts afresh).
        h_before = (mcfg.h_width, mcfg.h_min_width, mcfg.h_kt, mcfg.h_varying, mcfg.h_graph)
        for text in args.set:
            if text.replace("-", "_").split("=")[0] in RESUMABLE_SETTINGS:
                mcfg.override(text)
            else:
                raise CSGNError(f"--set {text!r} with --resume: only {', '.join(RESUMABLE_SETTINGS)} can change "
                                "in a resumed run")
        if (mcfg.h_width, mcfg.h_min_width, mcfg.h_kt, mcfg.h_varying, mcfg.h_graph) != h_before:
            fresh = ("H",)
        if mcfg.foot_contacts and "contact_joints" not in mcfg.stats:
            mcfg.stats = dict(mcfg.stats, contact_joints=contact_point_indices(ds.skeleton))
        sampler = WindowSampler(ds, mcfg.window, stats=mcfg.stats)
    else:
        mcfg, tcfg = preset(args.preset)
        if args.sigma_bar is not None:
            mcfg.gp_sigma_bar = args.sigma_bar
        for text in args.set:
            mcfg.override(text)
        mcfg.prior_config()  # a bad GP setting fails here, before any data work
        if mcfg.foot_contacts:  # before the sampler is built: it fills the contact channels
            mcfg.foot_contacts = _feet_known(ds.skeleton, lead)
            if mcfg.foot_contacts:
                mcfg.stats = {"contact_joints": contact_point_indices(ds.skeleton)}
        sampler = WindowSampler(ds, mcfg.window, stats=None, contact_joints=mcfg.stats.get("contact_joints"))
        stats = dict(sampler.stats)
        stats["diff_gain"] = measure_diff_gain(sampler, np.random.default_rng(args.seed))
        sampler.stats = stats
        sampler.codec = FeatureCodec(ds.skeleton, stats)
        mcfg.stats, mcfg.skeleton, mcfg.fps = stats, ds.skeleton.to_dict(), float(ds.fps)
    for name, value in (("gp_target", args.gp_target), ("batch", args.batch), ("n_critic", args.n_critic),
                        ("checkpoint_minutes", args.checkpoint_minutes), ("sample_minutes", args.sample_minutes),
                        ("cycle_x_g", args.cycle_x_g), ("cycle_z_g", args.cycle_z_g)):
        if value is not None:
            setattr(tcfg, name, value)
    for text in args.train_set:
        tcfg.override(text)
    trainer = Trainer(mcfg, tcfg, sampler, seed=args.seed, device=device, dist=dist, data_name=str(args.data))
    if ck is not None:
        trainer.load(ck, fresh=fresh)
    if args.steps is not None and trainer.step >= args.steps:
        if lead:
            print(f"already at step {trainer.step} >= --steps {args.steps}; nothing to do", file=sys.stderr)
        return 0
    writer = None
    log = None
    if lead:
        out.mkdir(parents=True, exist_ok=True)
        log = open(out / "metrics.jsonl", "a", encoding="utf-8")
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(out / "tb"))
        except Exception:  # tensorboard is optional
            writer = None
        params = {n: count_parameters(m) for n, m in (("G", trainer.G), ("D", trainer.D), ("H", trainer.H))}
        print(f"csgn train: {ds.name} ({sampler.frames} frames, {ds.skeleton.name}), preset {args.preset}, "
              f"params {params}, device {device}, world {dist.world}, from step {trainer.step}", file=sys.stderr)
    bar = None
    if lead and not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=args.steps, initial=trainer.step, unit="step", dynamic_ncols=True)
    t0 = time.monotonic()
    last_ck = last_sample = t0
    window_count = 0
    interrupted = False
    try:
        while True:
            now = time.monotonic()
            stop = (args.steps is not None and trainer.step >= args.steps) or \
                   (args.minutes is not None and now - t0 >= args.minutes * 60)
            if dist.any_flag(stop, device):
                break
            m = trainer.train_step()
            window_count += tcfg.batch * (tcfg.n_critic + 1) * dist.world
            if not lead:
                continue
            if not all(math.isfinite(v) for v in m.values()):
                raise CSGNError(f"training diverged at step {trainer.step}: {m}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(W=f"{m['wasserstein']:.3f}", gp=f"{m['penalty']:.3f}", cz=f"{m['cycle_z']:.3f}")
            if trainer.step % tcfg.log_every == 0 or trainer.step == 1:
                m["time_s"] = round(trainer.elapsed, 3)
                m["windows_per_s"] = window_count / max(time.monotonic() - t0, 1e-9)
                log.write(json.dumps(m) + "\n")
                log.flush()
                if writer is not None:
                    for k, v in m.items():
                        if k != "step":
                            writer.add_scalar(f"train/{k}", v, trainer.step)
            now = time.monotonic()
            if now - last_sample >= tcfg.sample_minutes * 60:
                plot_sample(trainer.inference_model(), out / "samples" / f"step-{trainer.step:08d}.png")
                last_sample = now
            if now - last_ck >= tcfg.checkpoint_minutes * 60:
                trainer.save(out)
                _log_quality(trainer, log, writer)
                last_ck = now
    except KeyboardInterrupt:
        interrupted = True  # keep what was learned: save below, then report the interrupt
    finally:
        if bar is not None:
            bar.close()
    trainer.ranks_in_sync = dist.in_sync([trainer.G, trainer.D, trainer.H])
    if lead:
        trainer.save(out)
        _log_quality(trainer, log, writer)
        plot_sample(trainer.inference_model(), out / "samples" / f"step-{trainer.step:08d}.png")
        if writer is not None:
            writer.close()
        log.close()
        print(f"csgn train: stopped at step {trainer.step}; model in {out / 'model'}", file=sys.stderr)
    if interrupted:
        raise KeyboardInterrupt
    return 0


if __name__ == "__main__":
    try:
        sys.exit(train_main(sys.argv[1:]))
    except CSGNError as e:
        print(f"csgn train: error: {e}", file=sys.stderr)
        sys.exit(2)
