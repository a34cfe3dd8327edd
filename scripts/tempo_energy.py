"""What the tempo and energy controls do to generated dances (issue 17, item 3).

For each tempo (energy 1) and each energy (tempo 1): free takes of ``--seconds`` from ``--seeds``
seeds, their mean root-relative joint speed (cm/s), root speed over the floor (cm/s), the dominant
frequency of the joints' motion (Hz: the centroid, over 0.2-6 Hz, of the mean power spectrum of
root-relative joint velocities), and the window Frechet distance of 64-frame windows against the training
windows (``train.quality.quick_fd``'s measure: lower is closer to the data). Writes a plot and
prints a Markdown table.

    python scripts/tempo_energy.py [--model resources/models/dance] [--out docs/results/tempo-energy.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.model.inference import decode_features, generate, load_model, sample_latent  # noqa: E402
from csgn_core.model.train.quality import frechet, window_summary  # noqa: E402
from csgn_core.model.train.windows import WindowSampler, resolve_dataset  # noqa: E402
from scripts.sweep_plot import plot_sweep  # noqa: E402

TEMPOS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
ENERGIES = (0.5, 0.75, 1.0, 1.25, 1.5)


def measures(model, seconds: float, seeds: int, tempo: float, energy: float) -> dict:
    speeds, roots, freqs = [], [], []
    for seed in range(seeds):
        m = generate(model, seconds, seed=seed, tempo=tempo, energy=energy)
        p = m.positions  # (F, J, 3) cm
        rel = p - p[:, :1]
        speeds.append(np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean() * m.fps)
        roots.append(np.linalg.norm(np.diff(p[:, 0, [0, 2]], axis=0), axis=-1).mean() * m.fps)
        v = np.diff(rel, axis=0)  # joint velocities: the spectrum of how the moves change
        spec = (np.abs(np.fft.rfft(v - v.mean(axis=0), axis=0)) ** 2).mean(axis=(1, 2))
        f = np.fft.rfftfreq(len(v), 1.0 / m.fps)
        band = (f >= 0.2) & (f <= 6.0)
        freqs.append(float((f[band] * spec[band]).sum() / spec[band].sum()))
    return {"joint_speed": float(np.mean(speeds)), "root_speed": float(np.mean(roots)),
            "frequency": float(np.median(freqs))}


def window_fd(model, sampler, tempo: float, energy: float, n: int = 256, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    real = sampler.sample(n, rng, yaw=False)
    S = model.step_frames
    steps = sampler.window // S
    r = model.G.latent_radius()
    z = torch.stack([sample_latent(model, steps + 2 * r, int(rng.integers(1 << 31)), tempo, energy) for _ in range(n)])
    with torch.no_grad():
        fake = torch.stack([decode_features(model, zi)[:, r * S:(r + steps) * S] for zi in z])
    return float(frechet(window_summary(model.codec, real), window_summary(model.codec, fake)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "resources" / "models" / "dance"))
    p.add_argument("--data", default="tang-dance")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "docs" / "results" / "tempo-energy.png"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    model = load_model(args.model)
    ds = resolve_dataset(args.data)
    sampler = WindowSampler(ds, model.cfg.window, stats=model.cfg.stats)
    rows = []
    for kind, values in (("tempo", TEMPOS), ("energy", ENERGIES)):
        for v in values:
            t, e = (v, 1.0) if kind == "tempo" else (1.0, v)
            r = measures(model, args.seconds, args.seeds, t, e)
            r.update(kind=kind, value=v, fd=window_fd(model, sampler, t, e))
            rows.append(r)
            print(r, file=sys.stderr, flush=True)
    base = next(r for r in rows if r["kind"] == "tempo" and r["value"] == 1.0)
    print("| control | value | joint speed (cm/s) | root speed (cm/s) | dominant frequency (Hz) | window FD (x default) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kind']} | {r['value']:g} | {r['joint_speed']:.1f} | {r['root_speed']:.1f} | {r['frequency']:.2f} | "
              f"{r['fd']:.2f} ({r['fd'] / base['fd']:.2f}x) |")
    both = ("tempo", "energy")
    plot_sweep(rows, [("joint_speed", "o-", "joint speed", both), ("root_speed", "s-", "root speed", both),
                      ("frequency", "^-", "dominant frequency", ("tempo",)), ("fd", "x--", "window FD", both)],
               f"{Path(args.model).name}: {args.seeds} free takes of {args.seconds:g} s per setting", "{kind}", args.out)
    print(f"\nplot: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
