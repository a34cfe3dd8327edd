"""Floor-path pins measured (issue 17, item 1): the true root path of held-out dance windows given as
a path pin over the gap, against the same windows filled without it and by interpolation.

Windows of 40 + GAP + 20 frames from the held-out dances (the classifier split), up to 90 per gap
length, the same windows for every method: interpolation (SLERP / linear root), interpolation under
the true root path (the joints-only oracle of docs/results/infill.md), the model's fill, and the
model's fill with a floor-path pin holding the true root track and facing over the gap. L2P as
``csgn eval infill`` normalises it (per-coordinate spread of root-relative positions), foot sliding
inside the gap (cm/s, ``eval_infill``'s measure), and the root's largest distance from the path.

    python scripts/path_pins.py [--model resources/models/dance] [--gaps 30,60]
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

from csgn_core.editing.completion import Problem, complete_problem, composite_held_pins, conform  # noqa: E402
from csgn_core.evaluation.infill import _feet, _held_out, _skate, interpolate  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402
from csgn_core.motion.clip import Motion  # noqa: E402

METHODS = ("interp", "interp + true path", "csgn", "csgn + path pin")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "dance"))
    ap.add_argument("--data", default="tang-dance")
    ap.add_argument("--gaps", default="30,60")
    ap.add_argument("--windows", type=int, default=90)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    m = load_model(a.model)
    clips = [Motion(m.skeleton, m.fps, rotations=c.rotations, root=c.root)
             for c in (conform(c, m) for c in _held_out(a.data, 45))]
    rel = []
    for c in clips:
        p = c.positions.copy()
        p[..., [0, 2]] -= p[:, :1, [0, 2]]
        rel.append(p)
    std = np.concatenate(rel).reshape(-1, m.skeleton.n_joints * 3).std(axis=0)
    std = np.where(std > 0.5, std, np.inf)
    feet = _feet(m.skeleton)
    print("| gap | windows | method | L2P | x interp | foot sliding (cm/s) | real frames' | root from path (cm, max) |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for G in (int(g) for g in a.gaps.split(",")):
        L, R = 40, 20
        W = L + G + R
        l2p = {k: [] for k in METHODS}
        skate = {k: [] for k in METHODS}
        real, off, times, seams, acc, n = [], [], [], [], [], 0
        for c in clips:
            for s in range(0, c.n_frames - W, 3 * W):
                if n >= a.windows:
                    break
                n += 1
                win = c.slice(s, s + W)
                truth = win.positions[L:L + G]
                floor = float(c.positions[:, feet, 1].min())
                real.append(_skate(truth, feet, floor, m.fps))

                def score(k, rot, root):
                    pred = Motion(m.skeleton, m.fps, rotations=rot, root=root).positions[L:L + G]
                    l2p[k].append(float(np.linalg.norm((pred - truth).reshape(G, -1) / std, axis=-1).mean()))
                    skate[k].append(_skate(pred, feet, floor, m.fps))

                r, t = interpolate(win.rotations[L - 1], win.root[L - 1], win.rotations[L + G], win.root[L + G], G)
                rot, root = win.rotations.copy(), win.root.copy()
                rot[L:L + G], root[L:L + G] = r, t
                score("interp", rot, root)
                root[L:L + G, [0, 2]] = win.root[L:L + G, [0, 2]]
                score("interp + true path", rot, root)
                pins = [(0, win.slice(0, L)), (L + G, win.slice(L + G, W))]
                with torch.no_grad():
                    score("csgn", *complete_problem(m, Problem(W, pins), n)[:2])
                    t0 = time.perf_counter()
                    held = composite_held_pins(m, Problem(W, pins[:1] + [(L, win.slice(L, L + G))] + pins[1:]),
                                               [None, "path", None], n)
                    rot, root, _, _ = complete_problem(m, Problem(W, held), n)
                    times.append(time.perf_counter() - t0)
                score("csgn + path pin", rot, root)
                pos, real_pos = Motion(m.skeleton, m.fps, rotations=rot, root=root).positions, win.positions
                for e in (L, L + G):  # the step across each edge of the path over the real frames' step there
                    step = [np.linalg.norm(q[e] - q[e - 1], axis=-1).mean() for q in (pos, real_pos)]
                    seams.append(step[0] - step[1])
                acc.append([np.linalg.norm(np.diff(r_[L - 1:L + G + 1][:, [0, 2]], 2, axis=0), axis=-1).mean()
                            for r_ in (root, win.root)])
                off.append(float(np.linalg.norm(root[L:L + G][:, [0, 2]] - win.root[L:L + G][:, [0, 2]], axis=-1).max()))
        base = np.mean(l2p["interp"])
        for k in METHODS:
            path = f"{max(off):.2f}" if k == "csgn + path pin" else ""
            print(f"| {G} | {n} | {k} | {np.mean(l2p[k]):.3f} | {np.mean(l2p[k]) / base:.2f} | {np.mean(skate[k]):.1f} | "
                  f"{np.mean(real):.1f} | {path} |")
        print(f"gap {G}: a path-pinned window filled in {1e3 * np.median(times):.0f} ms (median); the joints' "
              f"step across the path's edges exceeds the real one by {np.mean(seams):.3f} cm per frame (95th "
              f"percentile {np.percentile(seams, 95):.2f}); the root's floor acceleration over the path "
              f"{np.mean(acc, axis=0)[0]:.3f} cm per frame squared (the real root's {np.mean(acc, axis=0)[1]:.3f})",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
