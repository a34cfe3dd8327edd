"""What a gap's tempo and energy do to the fill (issue 17, item 3): measured on real pins.

From each held-out dance (the classifier split, never trained on), windows of a 40-frame pin, a
``--gap``-frame gap and a 40-frame pin; each filled by ``complete_problem`` at each tempo (energy 1)
and each energy (tempo 1), ``--seeds`` seeds. Inside the gap (its middle, away from the seams):
root-relative joint speed (cm/s), the dominant frequency of the joints' motion (Hz: the centroid
over 0.2-6 Hz of the power spectrum of root-relative joint velocities), and the window Frechet
distance of the gaps' 64-frame middles against 512 training windows (``train.quality``'s summary:
lower is closer to the data). Prints a Markdown table and writes a plot.

    python scripts/gap_styles.py [--model resources/models/dance] [--out docs/results/gap-styles.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.editing.completion import Problem, complete_problem  # noqa: E402
from csgn_core.evaluation.infill import _held_out  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402
from csgn_core.model.train.quality import frechet, window_summary  # noqa: E402
from csgn_core.model.train.windows import WindowSampler, resolve_dataset  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402
from scripts.sweep_plot import plot_sweep  # noqa: E402

TEMPOS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
ENERGIES = (0.5, 0.75, 1.0, 1.25, 1.5)
PIN = 40


def cases(clips, gap: int, per_clip: int):
    """The pins of each case: pins at both ends of a window of a clip (the window kept in ``WINDOWS``)."""
    W = 2 * PIN + gap
    out = []
    for c in clips:
        for k in range(per_clip):
            s = k * W
            if s + W > c.n_frames:
                break
            w = c.slice(s, s + W)
            out.append([(0, w.slice(0, PIN)), (PIN + gap, w.slice(PIN + gap, W))])
            WINDOWS[id(out[-1])] = w
    return out


WINDOWS: dict[int, Motion] = {}


def windows_of(problems, gap):
    return [WINDOWS[id(pins)] for pins in problems]


def measure(model, problems, gap: int, style, seeds: int, condition: str = "auto"):
    speeds, freqs, feats = [], [], []
    a, b = PIN + gap // 2 - 32, PIN + gap // 2 + 32  # the gap's middle 64 frames
    for i, pins in enumerate(problems):
        for seed in range(seeds):
            rot, root, _, _ = complete_problem(model, Problem(2 * PIN + gap, pins), 1000 * i + seed, styles=[style],
                                            condition=condition)
            p = Motion(model.skeleton, model.fps, rotations=rot, root=root).positions
            rel = (p - p[:, :1])[a:b]
            v = np.diff(rel, axis=0)
            speeds.append(np.linalg.norm(v, axis=-1).mean() * model.fps)
            spec = (np.abs(np.fft.rfft(v - v.mean(axis=0), axis=0)) ** 2).mean(axis=(1, 2))
            f = np.fft.rfftfreq(len(v), 1.0 / model.fps)
            band = (f >= 0.2) & (f <= 6.0)
            freqs.append(float((f[band] * spec[band]).sum() / spec[band].sum()))
            feats.append(model.codec.encode_np(rot[a:b], root[a:b]))
    return float(np.mean(speeds)), float(np.median(freqs)), torch.from_numpy(np.stack(feats))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "resources" / "models" / "dance"))
    p.add_argument("--data", default="tang-dance")
    p.add_argument("--gap", type=int, default=120)
    p.add_argument("--clips", type=int, default=45)
    p.add_argument("--per-clip", type=int, default=2)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--condition", default="auto", help="completion's conditioning: auto, inverse or prior")
    p.add_argument("--out", default=str(ROOT / "docs" / "results" / "gap-styles.png"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.model)
    ds = resolve_dataset(args.data)
    sampler = WindowSampler(ds, 64, stats=model.cfg.stats)
    real = window_summary(model.codec, sampler.sample(512, np.random.default_rng(0), yaw=False))
    problems = cases(_held_out(args.data, args.clips), args.gap, args.per_clip)
    print(f"{len(problems)} windows of {PIN}+{args.gap}+{PIN} frames from held-out dances", file=sys.stderr)
    a, b = PIN + args.gap // 2 - 32, PIN + args.gap // 2 + 32
    truth = [model.codec.encode_np(c.rotations[a:b], c.root[a:b]) for c in windows_of(problems, args.gap)]
    truth_fd = frechet(real, window_summary(model.codec, torch.from_numpy(np.stack(truth))))
    print(f"the real gaps' middles: window FD {truth_fd:.2f}", file=sys.stderr)
    rows = []
    for kind, values in (("tempo", TEMPOS), ("energy", ENERGIES)):
        for v in values:
            style = (v, 1.0) if kind == "tempo" else (1.0, v)
            speed, freq, feats = measure(model, problems, args.gap, style, args.seeds, args.condition)
            rows.append(dict(kind=kind, value=v, speed=speed, freq=freq,
                             fd=frechet(real, window_summary(model.codec, feats))))
            print(rows[-1], file=sys.stderr, flush=True)
    base = next(r for r in rows if r["kind"] == "tempo" and r["value"] == 1.0)
    print(f"{len(problems)} held-out windows; the real gaps' middles: window FD {truth_fd:.2f} "
          f"({truth_fd / base['fd']:.2f}x the default fill's)\n")
    print("| control | value | joint speed (cm/s) | x default | dominant frequency (Hz) | window FD (x default) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kind']} | {r['value']:g} | {r['speed']:.1f} | {r['speed'] / base['speed']:.2f} | "
              f"{r['freq']:.2f} | {r['fd']:.2f} ({r['fd'] / base['fd']:.2f}x) |")
    both = ("tempo", "energy")
    plot_sweep(rows, [("speed", "o-", "joint speed", both), ("freq", "^-", "dominant frequency", both),
                      ("fd", "x--", "window FD", both)],
               f"{Path(args.model).name}: {len(problems)} held-out {args.gap}-frame gaps x {args.seeds} seeds",
               "{kind} of the gap", args.out, proportional=both)
    print(f"\nplot: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
