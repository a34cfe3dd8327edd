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

Data parallel runs (``torchrun --nproc_per_node=N -m csgn_core.cli.train ...``) average the
gradients of G, D and H over processes with one all-reduce per network and step (gloo on CPU,
nccl on CUDA). The gradient penalty needs a double backward and the H step runs G twice, which the
DistributedDataParallel wrapper handles poorly; an explicit all-reduce does the same job. Rank 0
writes logs, samples and checkpoints.
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from csgn_core.model.config import ModelConfig, TrainConfig
from csgn_core.model.features import N_CRITIC_BASE, FeatureCodec
from csgn_core.model.gp.prior import GPPrior
from csgn_core.model.inference import CSGNModel, export_model
from csgn_core.model.networks import build_networks, count_parameters
from csgn_core.model.train.checkpoint import load_optimiser, optimiser_tensors, read_checkpoint, save_checkpoint
from csgn_core.model.train.completion import CompletionLayout, GPConditioner, draw_layout, latent_moment_loss
from csgn_core.model.train.windows import WindowSampler
from csgn_core.motion.skeleton import Skeleton


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


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX): measured, as a 1024 x 1024 bf16
    matmul at least twice as fast as fp32 (about 6x with AMX; emulated bf16 is slower than fp32).
    torch has no public probe for it; this costs about 50 ms once per process."""
    import time

    a = torch.randn(1024, 1024)
    best = {}
    for dtype in (torch.float32, torch.bfloat16):
        x = a.to(dtype)
        x @ x  # warm-up: oneDNN picks its kernel
        times = []
        for _ in range(3):
            t = time.perf_counter()
            x @ x
            times.append(time.perf_counter() - t)
        best[dtype] = min(times)
    return best[torch.bfloat16] * 2.0 <= best[torch.float32]


def _scale_grad(x: torch.Tensor, k: float) -> torch.Tensor:
    """x in the forward pass; k times the gradient in the backward pass."""
    return x * k + x.detach() * (1.0 - k)


def requires_grad(module: nn.Module, on: bool) -> None:
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
        self.opt = {"G": torch.optim.Adam(self.G.parameters(), lr=tcfg.lr_g or tcfg.lr,
                                          betas=(tcfg.beta1_g or tcfg.beta1, tcfg.beta2)),
                    "D": torch.optim.Adam(self.D.parameters(), lr=tcfg.lr, betas=(tcfg.beta1, tcfg.beta2))}
        self.opt["H"] = torch.optim.Adam(self.H.parameters(), lr=tcfg.lr_h or tcfg.lr,
                                         betas=(tcfg.beta1_h or tcfg.beta1, tcfg.beta2))
        self.prior = GPPrior(mcfg.prior_config())
        self.rng = np.random.default_rng([seed, self.dist.rank])
        self.step = 0
        self.elapsed = 0.0
        self.amp = (tcfg.amp and self.device.type == "cuda") or (tcfg.cpu_bf16 and self.device.type == "cpu"
                                                                 and cpu_has_native_bf16())
        self.ranks_in_sync = True
        t0 = mcfg.window // mcfg.step_frames
        self.kernel_rows = torch.from_numpy(self.prior.kernel_rows(t0)).float().to(self.device)  # (C, T0)
        self._conditioners: dict[tuple, GPConditioner] = {}
        self._real_speeds: torch.Tensor | None = None
        self._real_contacts: torch.Tensor | None = None
        self._real_travel: torch.Tensor | None = None

    # helpers --------------------------------------------------------------------------------------
    def autocast(self):
        if self.amp:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def margin(self) -> int:
        """Latent steps drawn beyond the window on each side of a free sample (``fake_margin``)."""
        return self.G.latent_radius() if self.tcfg.fake_margin else 0

    def latent(self, n: int) -> torch.Tensor:
        """(n, C, T0 + 2 margin) prior draws for free samples."""
        t0 = self.mcfg.window // self.mcfg.step_frames + 2 * self.margin()
        return torch.from_numpy(self.prior.sample(t0, n, self.rng)).float().to(self.device)

    def fake(self, z: torch.Tensor) -> torch.Tensor:
        """(n, 9, W, J) the window of G's output for a latent from ``latent``: its middle, as
        inference crops a decode."""
        out = self.G(z).float()
        a = self.margin() * self.mcfg.step_frames
        return out[:, :, a:a + self.mcfg.window] if a else out

    def window_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The steps of a ``latent`` draw that the window covers (what H of the window recovers)."""
        m = self.margin()
        return z[:, :, m:z.shape[2] - m] if m else z

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
        requires_grad(self.D, True)
        loss_d = penalty = gnorm = d_real = d_fake = torch.zeros(1, device=self.device)
        real_ci = None
        for _ in range(t.n_critic):
            real = self.real(B)
            z = self.latent(B)
            with torch.no_grad(), self.autocast():
                fake = self.fake(z)
            eps = torch.from_numpy(self.rng.random(B)).float().to(self.device)[:, None, None, None]
            if t.gp_critic_input:
                with torch.no_grad():
                    real_ci, fake_ci = self.codec.critic_input(real), self.codec.critic_input(fake)
                x_hat = (eps * real_ci + (1 - eps) * fake_ci).requires_grad_(True)
                with self.autocast():
                    scores = self.D(torch.cat([real_ci, fake_ci, x_hat])).float()
            else:
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
        requires_grad(self.D, False)
        self.opt["G"].zero_grad(set_to_none=True)
        self.opt["H"].zero_grad(set_to_none=True)
        z = self.latent(B)
        with self.autocast():
            fake = self.fake(z)
        loss_g = -t.adversarial * self.critic(fake).mean() if t.adversarial > 0 else torch.zeros((), device=self.device)
        feet = {}
        # One forward kinematics of the fake batch for both floor terms.
        speeds = t.motion_stats > 0 or t.root_speed > 0
        pos = self.codec.world_positions(fake) if t.foot_still > 0 and speeds else None
        if t.foot_still > 0:
            loss_feet = self.codec.foot_slide(fake, pos)
            loss_g = loss_g + t.foot_still * loss_feet
            feet["foot_slide"] = float(loss_feet.detach())
        if t.contact_rate > 0 and self.codec.contact_joints:
            loss_rate = (self.codec.contacts(fake).mean(dim=(0, 1)) - self.real_contact_rates()).pow(2).mean()
            loss_g = loss_g + t.contact_rate * loss_rate
            feet["contact_rate"] = float(loss_rate.detach())
        if t.travel_match > 0:
            loss_travel = ((self.codec.root_travel(self.fake_long()).mean() + 5.0).log() - self.real_travel().log()).pow(2)
            loss_g = loss_g + t.travel_match * loss_travel
            feet["travel_match"] = float(loss_travel.detach())
        if speeds:
            sq = ((self.codec.speed_profile(fake, pos) + 0.05).log() - self.real_speeds().log()).pow(2)  # (J + 1,)
            loss_g = loss_g + t.motion_stats * sq.mean() + t.root_speed * sq[-1]
            feet["speed_match"] = float(sq.mean().detach())
            feet["root_speed"] = float(sq[-1].detach())
        z_through_g = t.cycle_z_g > 0 and t.cycle_z > 0
        if z_through_g:  # G also learns to keep z recoverable, with cycle_z_g of the z-cycle's weight
            with self.autocast():
                if t.cycle_z_eval:
                    self.G.eval()
                    fake_z = self.fake(z)
                    self.G.train()
                else:
                    fake_z = fake
                z_rec = self.H(self.codec.critic_input(_scale_grad(fake_z, t.cycle_z_g / t.cycle_z))).float()
            loss_z = self.z_cycle_loss(z_rec, self.window_latent(z))
            (loss_g + t.cycle_z * loss_z).backward()
        else:
            if loss_g.requires_grad:
                loss_g.backward()
            with self.autocast():
                z_rec = self.H(self.codec.critic_input(fake.detach())).float()
            loss_z = self.z_cycle_loss(z_rec, self.window_latent(z))
        if t.n_critic == 0:  # no critic batch to reuse
            real = self.real(B)
        if real_ci is None:
            real_ci = self.codec.critic_input(real)
        self.G.eval()  # the x-cycle runs G as inference does (batch norm with running statistics)
        g_grads = None
        if t.cycle_x_g > 0 and t.cycle_x > 0:
            g_grads = [p.grad.clone() if p.grad is not None else None for p in self.G.parameters()]
            self.opt["G"].zero_grad(set_to_none=True)
        else:
            requires_grad(self.G, False)
        with self.autocast():
            rec = self.decode_known(self.H(real_ci).float())
        loss_x = F.l1_loss(self.codec.critic_input(rec)[:, :N_CRITIC_BASE], real_ci[:, :N_CRITIC_BASE])
        (t.cycle_x * loss_x if z_through_g else t.cycle_z * loss_z + t.cycle_x * loss_x).backward()
        self.G.train()
        requires_grad(self.G, True)
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

    def real_speeds(self) -> torch.Tensor:
        """(J + 1,) the data's mean speeds (``FeatureCodec.speed_profile``) + 0.05 cm, from 256 windows
        drawn once per process with a generator of their own (a resumed run's stream is untouched)."""
        if self._real_speeds is None:
            rng = np.random.default_rng([self.seed, 7919])
            with torch.no_grad():
                x = torch.cat([self.sampler.sample(64, rng, yaw=True) for _ in range(4)]).to(self.device)
                self._real_speeds = self.codec.speed_profile(x) + 0.05
        return self._real_speeds

    def fake_long(self) -> torch.Tensor:
        """(travel_batch, 9, travel_frames, J) free samples decoded as inference decodes a long take
        (the latent padded by G's receptive radius, the middle kept)."""
        t = self.tcfg
        S, m = self.mcfg.step_frames, self.G.latent_radius()
        z = self.prior.sample(-(-t.travel_frames // S) + 2 * m, t.travel_batch, self.rng)
        with self.autocast():
            out = self.G(torch.from_numpy(z).float().to(self.device)).float()
        return out[:, :, m * S:m * S + t.travel_frames]

    def real_travel(self) -> torch.Tensor:
        """() the data's mean net root travel over ``travel_frames`` (``FeatureCodec.root_travel``) +
        5 cm, from 256 windows of clips that hold them whole, drawn once per process with a generator of
        their own (a held last frame would carry its velocity on)."""
        if self._real_travel is None:
            rng = np.random.default_rng([self.seed, 7933])
            with torch.no_grad():
                x = torch.cat([self.sampler.sample(64, rng, yaw=True, window=self.tcfg.travel_frames, whole=True)
                               for _ in range(4)]).to(self.device)
                self._real_travel = self.codec.root_travel(x).mean() + 5.0
        return self._real_travel

    def real_contact_rates(self) -> torch.Tensor:
        """(K,) the data's fraction of frames each heel and toe point is in contact, from 256 windows
        drawn once per process with a generator of their own."""
        if self._real_contacts is None:
            rng = np.random.default_rng([self.seed, 7927])
            with torch.no_grad():
                x = torch.cat([self.sampler.sample(64, rng, yaw=True) for _ in range(4)]).to(self.device)
                self._real_contacts = self.codec.contacts(x).mean(dim=(0, 1))
        return self._real_contacts

    def decode_margin(self) -> int:
        """Latent steps beyond the window the completion path and the x-cycle decode (``complete_margin``)."""
        return self.G.latent_radius() if self.tcfg.complete_margin else 0

    def conditioner(self, layout: CompletionLayout) -> GPConditioner:
        """The GP conditioned on the layout's pin steps, over the window and ``decode_margin`` steps
        on each side (the margins unknown, as in the editor's latent)."""
        m = self.decode_margin()
        key = (layout.T0, layout.a, layout.b, m)
        if key not in self._conditioners:
            pins = GPPrior(self.mcfg.pin_prior_config())  # the noise the editor conditions on pins with
            self._conditioners[key] = GPConditioner(pins, layout.T0 + 2 * m, layout.known() + m).to(self.device)
        return self._conditioners[key]

    def decode_known(self, z: torch.Tensor) -> torch.Tensor:
        """(n, 9, W, J) G's decode of a window's latents z (n, C, T0), as the editor decodes H's latents
        of a pin: with ``decode_margin`` steps on each side drawn from the GP conditioned on z."""
        m = self.decode_margin()
        if not m:
            return self.G(z).float()
        T0 = z.shape[2]
        eps = torch.from_numpy(self.rng.standard_normal((z.shape[0], z.shape[1], T0 + 2 * m))).float()
        zz = self.conditioner(CompletionLayout(T0, T0, T0))(z, eps.to(self.device))
        a = m * self.mcfg.step_frames
        return self.G(zz).float()[:, :, a:a + T0 * self.mcfg.step_frames]

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
            m = self.decode_margin()
            eps = torch.from_numpy(self.rng.standard_normal((n, self.mcfg.latent_channels, lay.T0 + 2 * m))).float()
            n_rec = int(round(n * t.complete_recon))
            eps[:n_rec] = 0.0  # the conditional mean: what the context implies
            z = self.conditioner(lay)(zk, eps.to(self.device))
            with self.autocast():
                out = self.G(z).float()[:, :, m * S:m * S + t.complete_window]  # (n, 9, W, J)
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
        from csgn_core.model.inference import load_state

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
    from csgn_core.model.train.checkpoint import jsonable_groups

    return jsonable_groups(opt)
