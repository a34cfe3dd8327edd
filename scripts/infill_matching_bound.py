"""How well can anything predict a withheld gap? Nearest-neighbour motion matching as a yardstick.

For the same windows as ``csgn eval infill`` (held-out second halves of the Tang dances, 40 frames
of context before the gap and 20 after, stride context + gap, windows round robin over the clips,
90 per gap length), search
the generator split (the first halves of the same dances) for the windows whose context best
matches: root-relative, heading-aligned joint positions of the 10 context frames on each side of
the gap, the root's travel and turn across the gap. The matched window's gap is spliced between the
pins exactly as a CSGN fill is (``sampler.splice``). ``--top K`` averages the joint positions of the
K best matches: a conditional-mean estimate, which is what L2P rewards.

Two oracles split interpolation's error into its parts: interpolation with the true root (its
path and its rotation, the whole body's orientation; only the joints below it are interpolated) and
with the true joints below the root (only the root is interpolated). Whatever
fills the gap must beat interpolation on both parts to get far below it.

Prints L2P (cm) of matching, of interpolation and of the two oracles per gap length, and the ratios
to interpolation.

    python scripts/infill_matching_bound.py --dataset /tmp/cache/tang-dance.npz [--top 8]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csgn_core.editing.completion import conform  # noqa: E402
from csgn_core.editing.splice import heading_angle, splice
from csgn_core.evaluation.infill import interpolate, windows  # noqa: E402
from csgn_core.io.datasets import SPLITS, Dataset, default_cache_path  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402
from csgn_core.paths import model_location  # noqa: E402

LEFT, RIGHT, K = 40, 20, 10


def _features(m: Motion) -> tuple[np.ndarray, np.ndarray]:
    """(F, J*3) root-relative positions in the root's heading frame, (F,) heading."""
    P = m.positions - m.root[:, None]
    yaw = heading_angle(m.rotations[:, 0])
    c, s = np.cos(-yaw)[:, None], np.sin(-yaw)[:, None]
    x, z = c * P[..., 0] + s * P[..., 2], -s * P[..., 0] + c * P[..., 2]
    return np.stack([x, P[..., 1], z], -1).reshape(len(P), -1), yaw


def _travel(root: np.ndarray, yaw: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root displacement i -> j in i's heading frame (x, z) and the turn."""
    d = root[j] - root[i]
    c, s = np.cos(-yaw[i]), np.sin(-yaw[i])
    return np.stack([c * d[..., 0] + s * d[..., 2], -s * d[..., 0] + c * d[..., 2]], -1), np.angle(np.exp(1j * (yaw[j] - yaw[i])))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dance")
    ap.add_argument("--dataset", default="tang-dance", help="built dataset name or .npz")
    ap.add_argument("--gaps", default="10,30,60,120")
    ap.add_argument("--windows", type=int, default=90)
    ap.add_argument("--top", type=int, default=1, help="average the joint positions of the K best matches")
    args = ap.parse_args(argv)
    model = load_model(model_location(args.model))
    p = Path(args.dataset)
    ds = Dataset.load(p if p.suffix == ".npz" else default_cache_path(args.dataset))
    sk = model.skeleton

    def clips(split: str) -> list[Motion]:
        idx = np.nonzero(ds.clip_split == SPLITS.index(split))[0]
        return [Motion(sk, model.fps, rotations=c.rotations, root=c.root) for c in (conform(ds.clip(int(i)), model) for i in idx)]

    library, held_out = clips("gen"), clips("cls")
    lib_feat = [_features(c) for c in library]
    blend = max(1, round(0.5 * model.fps))
    for G in (int(g) for g in args.gaps.split(",")):
        W = LEFT + G + RIGHT
        pinned = np.zeros(W, bool)
        pinned[:LEFT] = pinned[LEFT + G:] = True
        err = {"match": [], "interp": [], "true root": [], "true body": []}
        for hi, a in windows([c.n_frames for c in held_out], W, LEFT + G, args.windows):
            win = held_out[hi].slice(a, a + W)
            truth = win.positions[LEFT:LEFT + G]
            qf, qy = _features(win)
            qd, qh = _travel(win.root, qy, np.array(LEFT - 1), np.array(LEFT + G))
            found = []
            for ci, (c, (F, y)) in enumerate(zip(library, lib_feat)):
                N = c.n_frames - W + 1
                if N <= 0:
                    continue
                cost = np.zeros(N)
                for k in range(K):
                    cost += ((F[LEFT - K + k:LEFT - K + k + N] - qf[LEFT - K + k]) ** 2).sum(-1)
                    cost += ((F[LEFT + G + k:LEFT + G + k + N] - qf[LEFT + G + k]) ** 2).sum(-1)
                cost /= 2 * K * F.shape[1]
                i = np.arange(N) + LEFT - 1
                d, h = _travel(c.root, y, i, i + G + 1)
                cost += 0.5 * ((d - qd) ** 2).sum(-1) / (G / 10.0) + 200 * np.angle(np.exp(1j * (h - qh))) ** 2
                found += [(cost[k], ci, int(k)) for k in np.argsort(cost)[:args.top]]
            preds = []
            for _, ci, k in sorted(found)[:args.top]:
                cand = library[ci].slice(k, k + W)
                rot, root = splice(cand.rotations, cand.root, win.rotations, win.root, pinned, blend)
                preds.append(Motion(sk, model.fps, rotations=rot, root=root).positions[LEFT:LEFT + G])
            err["match"].append(np.linalg.norm(np.mean(preds, 0) - truth, axis=-1).mean())
            r, t = interpolate(win.rotations[LEFT - 1], win.root[LEFT - 1], win.rotations[LEFT + G], win.root[LEFT + G], G)
            rot, root = win.rotations.copy(), win.root.copy()
            rot[LEFT:LEFT + G], root[LEFT:LEFT + G] = r, t
            body, track = rot.copy(), win.rotations.copy()
            body[:, 1:] = win.rotations[:, 1:]  # the real joints under the interpolated root
            track[:, 1:] = rot[:, 1:]  # the interpolated joints under the real root (position and turn)
            for name, rr, tt in (("interp", rot, root), ("true root", track, win.root), ("true body", body, root)):
                pred = Motion(sk, model.fps, rotations=rr, root=tt).positions[LEFT:LEFT + G]
                err[name].append(np.linalg.norm(pred - truth, axis=-1).mean())
        i = np.mean(err["interp"])
        print(f"gap {G:4d} ({len(err['interp'])} windows): interpolation {i:6.2f} cm; ratios: matching (top {args.top}) "
              f"{np.mean(err['match']) / i:.2f}, interpolation with the true root {np.mean(err['true root']) / i:.2f}, "
              f"with the true body {np.mean(err['true body']) / i:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
