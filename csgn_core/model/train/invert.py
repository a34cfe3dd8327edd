"""Fit H to a frozen G: the inverse network's own stage after the joint training.

In joint training G keeps moving under the critic and the x-cycle, and H, chasing it, stays behind:
on the bundled dance model G(H(x)) was 17 cm from withheld windows after 10,000 joint steps, and
longer runs made it worse (``docs/results/completion-training.md``). With G fixed (eval mode, as
inference runs it) the same losses are a plain regression for H: the z-cycle ||H(G(z)) - z||^2 on
prior draws, the x-cycle |G(H(x)) - x| on real windows, and optionally the completion job through
the editor's path (``Trainer.job_losses``; with G frozen only H and its moment term learn from it).
G, D and the prior are untouched, so free generation is bit for bit what it was.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from csgn_core.model.train.trainer import N_CRITIC_BASE, Trainer, requires_grad


def fit_inverse_step(tr: Trainer, opt: torch.optim.Optimizer, weight_x: float, job: bool) -> dict:
    """One H update on a batch of prior draws and a batch of real windows; returns the losses."""
    B, codec = tr.tcfg.batch, tr.codec
    tr.H.train()
    z = tr.latent(B)  # (B, C, T0 + 2 margin)
    with torch.no_grad():
        fake = tr.fake(z)  # (B, 9, W, J)
    loss_z = F.mse_loss(tr.H(codec.critic_input(fake)).float(), tr.window_latent(z))
    real = tr.real(B)
    ci = codec.critic_input(real)
    rec = tr.decode_known(tr.H(ci).float())
    loss_x = F.l1_loss(codec.critic_input(rec)[:, :N_CRITIC_BASE], ci[:, :N_CRITIC_BASE])
    loss = loss_z + weight_x * loss_x
    logs = {}
    if job:
        loss_job, logs = tr.job_losses()
        loss = loss + loss_job / max(tr.tcfg.cycle_z, 1e-8)  # the job's weight relative to the z-cycle, as in training
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"cycle_z": float(loss_z.detach()), "cycle_x": float(loss_x.detach()), **logs}


def fit_inverse(tr: Trainer, *, steps: int | None = None, minutes: float | None = None, lr: float = 3e-4,
                weight_x: float = 0.5, job: bool = False,
                log: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Train ``tr.H`` alone against the frozen ``tr.G`` for ``steps`` updates or ``minutes``.

    ``weight_x``: the x-cycle's weight against the z-cycle's 1 (the joint recipe's cycle_x / cycle_z
    is 10 / 20). The fitted H takes a fresh Adam, which becomes the trainer's H optimiser (a later
    ``tr.save`` records it; a resumed joint run goes on from there at its own ``lr_h``).
    """
    if steps is None and minutes is None:
        raise ValueError("fit_inverse needs steps or minutes")
    t = tr.tcfg
    opt = torch.optim.Adam(tr.H.parameters(), lr=lr, betas=(t.beta1_h or t.beta1, t.beta2))
    tr.G.eval(), tr.D.eval()
    requires_grad(tr.G, False), requires_grad(tr.D, False)
    out, t0 = [], time.perf_counter()
    try:
        while (steps is None or len(out) < steps) and (minutes is None or time.perf_counter() - t0 < minutes * 60):
            out.append(fit_inverse_step(tr, opt, weight_x, job))
            if log is not None:
                log(len(out), out[-1])
    finally:
        requires_grad(tr.G, True), requires_grad(tr.D, True)
        tr.G.train(), tr.D.train()
    for g in opt.param_groups:
        g["lr"] = t.lr_h or t.lr
    tr.opt["H"] = opt
    return out
