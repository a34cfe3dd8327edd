"""The paper's FID (the genre classifier's features, `csgn eval fid`) of takes at each tempo (issue 17,
item 3: "FID within 1.5x of the default's at tempo 0.75-1.5").

A take at tempo k is what a gap of the whole take gets in the editor: ``complete_problem`` with no
pins and the take's style (k, 1) (``styling.py``: a slower prior under 1, a pick by pace). Every tempo scores the same seeds against one
reference (real held-out snippets). Prints a Markdown table.

    python scripts/tempo_fid.py [--model dance] [--n 100] [--m 10] [--tempos 0.5,0.75,1,1.25,1.5,2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.editing.completion import Problem, complete_problem  # noqa: E402
from csgn_core.evaluation.classifier import DATASET_CLASSIFIER, load_classifier, resolve_dataset  # noqa: E402
from csgn_core.evaluation.fid import reference_stats, score_source  # noqa: E402
from csgn_core.evaluation.generators import load_generator, model_dataset  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402


class TempoSource:
    """A model's takes at one tempo, as ``csgn eval fid`` samples a source."""

    def __init__(self, gen, tempo: float, energy: float = 1.0):
        self.model, self.tempo, self.energy = gen.model, tempo, energy
        self.name, self.fps, self.skeleton = f"tempo {tempo:g}", gen.fps, gen.skeleton

        self.speeds: list[float] = []

    def sample(self, seconds: float, seed: int) -> Motion:
        n = max(1, int(round(seconds * self.fps)))
        with torch.no_grad():
            rot, root, _, _ = complete_problem(self.model, Problem(n, []), seed, styles=[(self.tempo, self.energy)])
        m = Motion(self.skeleton, self.fps, rotations=rot, root=root)
        p = m.positions
        self.speeds.append(float(np.linalg.norm(np.diff(p - p[:, :1], axis=0), axis=-1).mean() * self.fps))
        return m


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="dance")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--m", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tempos", default="0.5,0.75,1,1.25,1.5,2",
                   help="tempos, or TEMPO:ENERGY pairs, comma-separated")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    gen = load_generator(args.model)
    ds = resolve_dataset(model_dataset(gen.folder))
    clf = load_classifier(DATASET_CLASSIFIER[ds.name])
    ref, _ = reference_stats(clf, ds, "cls", 4000, seed=args.seed)
    rows = []
    for item in args.tempos.split(","):
        t, _, e = item.partition(":")
        src = TempoSource(gen, float(t), float(e or 1.0))
        t0 = time.perf_counter()
        r = score_source(src, clf, ref, args.n, args.m, args.seed)
        r["speed"] = float(np.mean(src.speeds))
        rows.append(((src.tempo, src.energy), r))
        print(f"tempo {t} energy {e or 1}: FID ens {r['fid_ensemble']:.2f} time {r['fid_time']:.2f} speed "
              f"{r['speed']:.1f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    base = next((r for k, r in rows if k == (1.0, 1.0)), rows[0][1])
    print(f"{args.model}, N = {args.n}, M = {args.m}, seed {args.seed}\n")
    print("| tempo | energy | joint speed (x default) | FID short | FID ensemble (x default) | FID time (x default) | IS ensemble |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for (t, e), r in rows:
        print(f"| {t:g} | {e:g} | {r['speed']:.1f} ({r['speed'] / base['speed']:.2f}x) | {r['fid_short']:.2f} "
              f"| {r['fid_ensemble']:.2f} ({r['fid_ensemble'] / base['fid_ensemble']:.2f}x) "
              f"| {r['fid_time']:.2f} ({r['fid_time'] / base['fid_time']:.2f}x) | {r['is_ensemble']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
