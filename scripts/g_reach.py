"""How far a model's G can come to real windows at all, and how many latent directions it reads:
the two bounds on ``inverse_fidelity`` and G(H(x)) in ``docs/results/completion-training.md``.

    python scripts/g_reach.py [MODEL] [--data tang-dance] [--windows 12] [--steps 300] [--jacobian 4]

1. Latent optimisation: Adam on the window latent z itself (no H) to bring G(z) to a withheld window
   (root-relative joint positions), from H(x) and from a prior draw; prints the error before and after.
2. The singular values of the Jacobian of G's critic features with respect to the window latent
   (central finite differences at prior draws), relative to the largest, and the correlation with z
   that a perfect inverse restricted to G's leading k directions could reach.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.io.datasets import SPLITS  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402
from csgn_core.model.train.windows import resolve_dataset  # noqa: E402


def positions(model, x: torch.Tensor) -> torch.Tensor:
    c = model.codec
    return c.local_positions(c.rotations(x)) * model.cfg.stats["pos_scale"]  # (B, W, J, 3) cm


def withheld_windows(model, data: str, n: int) -> torch.Tensor:
    ds = resolve_dataset(data)
    clips = [ds.clip(int(c)) for c in np.nonzero(ds.clip_split == SPLITS.index("cls"))[0]]
    W, rng, out = model.cfg.window, np.random.default_rng(0), []
    while len(out) < n:
        m = clips[int(rng.integers(len(clips)))]
        if m.n_frames >= W:
            a = int(rng.integers(m.n_frames - W + 1))
            out.append(torch.from_numpy(model.codec.encode_motion(m.slice(a, a + W))))
    return torch.stack(out)  # (N, 9, W, J)


def optimise_latent(model, x: torch.Tensor, z0: torch.Tensor, steps: int) -> tuple[float, float, float]:
    """(error before, error after, latent std after), errors in cm of mean joint distance."""
    target = positions(model, x)
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.05)
    err = lambda: (positions(model, model.G(z)) - target).norm(dim=-1).mean()  # noqa: E731
    with torch.no_grad():
        before = float(err())
    for _ in range(steps):
        opt.zero_grad()
        loss = err()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return before, float(err()), float(z.std())


@torch.no_grad()
def jacobian_svd(model, z: torch.Tensor, eps: float = 1e-2, chunk: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Singular values (largest first) and right singular vectors (rows) of d critic_input(G(z)) / dz
    at one window latent z (1, C, T0)."""
    feats = lambda v: model.codec.critic_input(model.G(v)).flatten(1)  # noqa: E731
    n = z[0].numel()
    cols = []
    for s in range(0, n, chunk):
        idx = torch.arange(s, min(s + chunk, n))
        d = torch.zeros(len(idx), n)
        d[torch.arange(len(idx)), idx] = eps
        d = d.view(len(idx), *z.shape[1:])
        cols.append(((feats(z + d) - feats(z - d)) / (2 * eps)).T)
    _, sv, vh = torch.linalg.svd(torch.cat(cols, dim=1), full_matrices=False)  # the Jacobian is (features, n)
    return sv.numpy(), vh.numpy()


def projected_correlation(z: np.ndarray, vh: np.ndarray, k: int) -> float:
    """Correlation of z with its projection onto the k directions G reads most (what an inverse that
    recovers exactly those directions and predicts 0 elsewhere would score)."""
    p = vh[:k].T @ (vh[:k] @ z)
    a, b = z - z.mean(), p - p.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default="dance")
    ap.add_argument("--data", default="tang-dance")
    ap.add_argument("--windows", type=int, default=12)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--jacobian", type=int, default=4, help="prior draws to take the Jacobian at (0: skip)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    T0 = model.cfg.window // model.step_frames
    x = withheld_windows(model, a.data, a.windows)
    with torch.no_grad():
        zh = model.H(model.codec.critic_input(x)).float()
    zp = torch.from_numpy(model.prior.sample(T0, a.windows, np.random.default_rng(1))).float()
    for name, z0 in (("H(x)", zh), ("a prior draw", zp)):
        b, e, s = optimise_latent(model, x, z0, a.steps)
        print(f"G(z) from {name}: {b:.1f} cm -> {e:.1f} cm after {a.steps} Adam steps on z (latent std {s:.2f})")
    if a.jacobian:
        zs = torch.from_numpy(model.prior.sample(T0, a.jacobian, np.random.default_rng(2))).float()
        res = [jacobian_svd(model, zs[i:i + 1]) for i in range(a.jacobian)]
        rel = np.stack([sv / sv[0] for sv, _ in res]).mean(0)
        marks = [k for k in (1, 10, 50, 100, 300, 600) if k <= len(rel)]
        print("Jacobian singular values / largest: " + ", ".join(f"#{k} {rel[k - 1]:.3f}" for k in marks) +
              f"; {int((rel > 0.1).sum())} above 10%, {int((rel > 0.01).sum())} above 1% of {len(rel)}")
        for k in (int((rel > 0.1).sum()), int((rel > 0.01).sum())):
            c = np.mean([projected_correlation(zs[i].flatten().numpy(), vh, k) for i, (_, vh) in enumerate(res)])
            print(f"z projected onto G's {k} leading directions: correlation {c:.2f} with z")
    return 0


if __name__ == "__main__":
    sys.exit(main())
