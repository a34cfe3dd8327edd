"""Derive the tang23 skeleton from the Tang et al. 2018 dance data (one-off, kept for reproducibility).

The data ships 23 unnamed 3D points per frame. This script
  1. measures, for every pair of points, the spread (standard deviation, cm) of their distance over
     each dance and averages it over the dances: points on one rigid segment keep their distance;
  2. builds the minimum spanning tree of that matrix, prints it, and applies the anatomical
     corrections that the printed numbers justify (see ANATOMY below);
  3. picks the root (the tree's most central point; no point sits at the hip centre);
  4. names the points: left/right from the hip line and the facing direction (heel to toe), chain
     order from the distances;
  5. writes resources/skeletons/tang23.json (named joints in topological order, parents by name, rest
     offsets = mean bone length times a clean T-pose direction, lr_pairs, source_order) and plots to
     docs/img/tang23_*.png.

Run from the repository root:  python scripts/derive_tang23.py [path/to/dances.zip]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from csgn_core.io.archive import iter_files, read_text  # noqa: E402

DEFAULT_ZIP = REPO.parent / "shared" / "data" / "tang2018-dance" / "dances.zip"
IMG = REPO / "docs" / "img"
OUT_JSON = REPO / "resources" / "skeletons" / "tang23.json"
UP = np.array([0.0, 1.0, 0.0])

# Raw data column -> name. Every entry is checked against the data below (assertions in main), so the
# table records a conclusion rather than an assumption:
#   * 2 is the hub of the spread tree (head points, shoulders, hips all hang from it);
#   * 7/16 are the hips (20.8 cm apart, 18.6 cm below-and-beside 2); 8/17 knees; 9/18 ankles;
#     10/19 heels (12 cm from the ankle, behind it) and 11/20 toes (17-18 cm, in front);
#   * 3/12 shoulders, 4/13 elbows; then per arm a forearm point, a wrist (where the chain bends)
#     and a hand point: 5, 6, 22 on one arm and 21, 14, 15 on the other (the raw order is not a chain);
#   * 0/1 two head points at ear height, 9-11 cm apart side to side.
# Side: 7 (and the arm 3, 4, 5, 6, 22, the leg 8-11, head point 0) is the performer's RIGHT.
RAW_NAMES = {
    2: "waist",
    16: "l_hip", 17: "l_knee", 18: "l_ankle", 19: "l_heel", 20: "l_toe",
    7: "r_hip", 8: "r_knee", 9: "r_ankle", 10: "r_heel", 11: "r_toe",
    1: "l_head", 0: "r_head",
    12: "l_shoulder", 13: "l_elbow", 21: "l_forearm", 14: "l_wrist", 15: "l_hand",
    3: "r_shoulder", 4: "r_elbow", 5: "r_forearm", 6: "r_wrist", 22: "r_hand",
}
# Skeleton order (topological, root first) and parents.
PARENTS = {
    "waist": None,
    "l_hip": "waist", "l_knee": "l_hip", "l_ankle": "l_knee", "l_heel": "l_ankle", "l_toe": "l_ankle",
    "r_hip": "waist", "r_knee": "r_hip", "r_ankle": "r_knee", "r_heel": "r_ankle", "r_toe": "r_ankle",
    "l_head": "waist", "r_head": "waist",
    "l_shoulder": "waist", "l_elbow": "l_shoulder", "l_forearm": "l_elbow", "l_wrist": "l_forearm",
    "l_hand": "l_wrist",
    "r_shoulder": "waist", "r_elbow": "r_shoulder", "r_forearm": "r_elbow", "r_wrist": "r_forearm",
    "r_hand": "r_wrist",
}
# Where the anatomical tree departs from the minimum spanning tree, and why (checked in main):
#   knees: the MST hangs them from the waist (spread 3.6 / 3.0 cm) rather than from the hip on their
#     side (4.0 / 3.3 cm). The difference is small next to the noise and a knee is anatomically
#     the child of the hip, so the knees hang from the hips.
#   l_hip: the MST hangs it from r_hip (1.46 cm) rather than from the waist (1.50 cm): a tie; both
#     hips hang from the pelvis point.
ANATOMY = {("waist", "r_knee"): ("r_hip", "r_knee"), ("waist", "l_knee"): ("l_hip", "l_knee"),
           ("r_hip", "l_hip"): ("waist", "l_hip")}


def load_dances(root: Path) -> list[tuple[str, np.ndarray]]:
    """(dance id, global positions (F, 23, 3) cm in raw column order) for every dance."""
    out = []
    for path in iter_files(root, "*DANCE_*/skeletons.json"):
        d = json.loads(read_text(path))
        pos = np.asarray(d["skeletons"], float) + np.asarray(d["center"], float)[:, None]
        out.append((path.parent.name, pos))
    if not out:
        raise SystemExit(f"no DANCE_*/skeletons.json under {root}")
    return out


def pair_spread(dances) -> tuple[np.ndarray, np.ndarray]:
    """(23, 23) mean over dances of the std (cm) and of the mean of every pair's distance."""
    std = np.zeros((23, 23))
    mean = np.zeros((23, 23))
    for _, p in dances:
        d = np.linalg.norm(p[:, :, None] - p[:, None, :], axis=-1)  # (F, 23, 23)
        std += d.std(0)
        mean += d.mean(0)
    return std / len(dances), mean / len(dances)


def body_frames(p: np.ndarray, r_hip: int, l_hip: int) -> np.ndarray:
    """(F, 3, 3) rows = left, up, forward axes; left from the hip line, forward = left x up."""
    left = p[:, l_hip] - p[:, r_hip]
    left[:, 1] = 0.0
    left /= np.linalg.norm(left, axis=-1, keepdims=True)
    fwd = np.cross(left, UP)
    return np.stack([left, np.broadcast_to(UP, left.shape), fwd], axis=1)


def to_body(p: np.ndarray, origin: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Positions (F, J, 3) in the body frame (x left, y up, z forward) around origin (F, 3)."""
    return np.einsum("fij,fkj->fki", frames, p - origin[:, None])


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def main(argv: list[str]) -> None:
    root = Path(argv[1]) if len(argv) > 1 else DEFAULT_ZIP
    dances = load_dances(root)
    frames_total = sum(len(p) for _, p in dances)
    print(f"{len(dances)} dances, {frames_total} frames")
    np.set_printoptions(precision=2, suppress=True, linewidth=200)
    raw = {name: i for i, name in RAW_NAMES.items()}
    assert sorted(RAW_NAMES) == list(range(23))

    # --- 1-2: spread matrix and its minimum spanning tree ----------------------------------------
    std, mean = pair_spread(dances)
    mst = minimum_spanning_tree(std + 1e-9 * (1 - np.eye(23))).toarray()
    edges = sorted((min(i, j), max(i, j)) for i, j in zip(*np.nonzero(mst)))
    print("\nminimum spanning tree on the absolute spread of pair distances:")
    for i, j in edges:
        print(f"  {i:2d} {RAW_NAMES[i]:>10s} - {j:2d} {RAW_NAMES[j]:<10s} spread {std[i, j]:.2f} cm, mean {mean[i, j]:5.1f} cm")
    tree = {frozenset((RAW_NAMES[i], RAW_NAMES[j])) for i, j in edges}
    for (a, b), (c, d) in ANATOMY.items():
        assert frozenset((a, b)) in tree, (a, b)
        print(f"  anatomy: {a}-{b} ({std[raw[a], raw[b]]:.2f} cm) -> {c}-{d} ({std[raw[c], raw[d]]:.2f} cm)")
        tree = (tree - {frozenset((a, b))}) | {frozenset((c, d))}
    chosen = {frozenset((c, p)) for c, p in PARENTS.items() if p}
    assert tree == chosen, sorted(map(tuple, tree ^ chosen))

    # --- 3: root = the most central point (smallest eccentricity in hops) ---------------------------
    adj = {n: set() for n in PARENTS}
    for e in tree:
        a, b = tuple(e)
        adj[a].add(b)
        adj[b].add(a)

    def ecc(n: str) -> int:
        seen, front, d = {n}, {n}, 0
        while len(seen) < len(adj):
            front = {m for f in front for m in adj[f]} - seen
            seen |= front
            d += 1
        return d

    root_name = min(adj, key=ecc)
    assert root_name == "waist"
    print(f"\nroot: {root_name} (raw {raw[root_name]}), eccentricity {ecc(root_name)}, degree {len(adj[root_name])}")

    # --- 4: left/right and facing ------------------------------------------------------------------
    # Facing = heel-to-toe direction of both feet. Left = the hip whose direction from the other hip,
    # crossed with up, points the way the toes do (x left, y up, z forward is right-handed).
    agree = []
    for _, p in dances:
        hip_line = p[:, raw["l_hip"]] - p[:, raw["r_hip"]]
        facing = (p[:, raw["l_toe"]] - p[:, raw["l_heel"]]) + (p[:, raw["r_toe"]] - p[:, raw["r_heel"]])
        facing[:, 1] = 0
        agree.append(np.sum(np.cross(hip_line, UP) * facing, -1) > 0)
    agree = np.concatenate(agree)
    print(f"frames where cross(l_hip - r_hip, up) points the way the toes do: {100 * agree.mean():.1f}%")
    assert agree.mean() > 0.95

    # Body-frame averages (x left, y up, z forward, origin mid-hip) support the rest of the naming.
    loc = []
    per_dance = []
    for _, p in dances:
        fr = body_frames(p, raw["r_hip"], raw["l_hip"])
        mid = 0.5 * (p[:, raw["l_hip"]] + p[:, raw["r_hip"]])
        b = to_body(p, mid, fr)
        loc.append(b)
        per_dance.append(b.mean(0))
    mean_body = np.mean(per_dance, axis=0)  # (23, 3), dances weighted equally
    print("\nmean body-frame position (x left, y up, z forward; origin between the hips):")
    for i in range(23):
        print(f"  {i:2d} {RAW_NAMES[i]:>10s} {mean_body[i]}")
    w = mean_body[raw["waist"]]
    print(f"waist sits {w[1]:.1f} cm above and {w[2]:.1f} cm in front of the hip midpoint: no point at the hip centre")
    for s in "lr":
        heel, toe, ankle = (mean_body[raw[f"{s}_{n}"]] for n in ("heel", "toe", "ankle"))
        assert toe[2] > heel[2], "toes must lie in front of heels"
        assert np.linalg.norm(heel - ankle) < np.linalg.norm(toe - ankle)
        assert mean_body[raw[f"{s}_shoulder"]][1] > mean_body[raw[f"{s}_hip"]][1] + 30
        sign = 1 if s == "l" else -1
        for n in ("hip", "shoulder", "elbow", "knee"):
            assert sign * mean_body[raw[f"{s}_{n}"]][0] > 0, f"{s}_{n} on the wrong side"
    # The head leans to the performer's right on average, so compare the two head points.
    assert mean_body[raw["l_head"]][0] > mean_body[raw["r_head"]][0]
    # Head points: the l_head - r_head line points to the left in the Latin dances.
    for genre in "CRW":
        v = np.concatenate([b[:, raw["l_head"]] - b[:, raw["r_head"]] for (n, _), b in zip(dances, loc) if f"_{genre}_" in n])
        az = np.degrees(np.arctan2(v[:, 0], v[:, 2]))
        print(f"  genre {genre}: r_head->l_head azimuth from forward towards left: mean {az.mean():.0f} deg, std {az.std():.0f}")

    # Arm chains: the wrist is where the chain bends (interior angle), distances from the elbow.
    for s in "lr":
        chain = [raw[f"{s}_{n}"] for n in ("elbow", "forearm", "wrist", "hand")]
        dist = [mean[chain[0], c] for c in chain[1:]]
        bends = []
        for a, b, c in zip(chain, chain[1:], chain[2:]):
            ang = []
            for _, p in dances:
                u, v = unit(p[:, b] - p[:, a]), unit(p[:, c] - p[:, b])
                ang.append(np.degrees(np.arccos(np.clip(np.sum(u * v, -1), -1, 1))))
            bends.append(np.concatenate(ang).mean())
        print(f"  {s} arm: distances from the elbow {np.round(dist, 1)}, mean bend at forearm {bends[0]:.0f} deg, at wrist {bends[1]:.0f} deg")
        assert bends[1] > bends[0], "the wrist bends more than the forearm point"

    # --- 5: bone statistics and the rest pose ------------------------------------------------------
    names = list(PARENTS)
    parents = [PARENTS[n] for n in names]
    source_order = [raw[n] for n in names]
    all_pos = np.concatenate([p for _, p in dances])  # (N, 23, 3)
    stats = {}
    for n, par in zip(names, parents):
        if par is None:
            continue
        lengths_all = np.linalg.norm(all_pos[:, raw[n]] - all_pos[:, raw[par]], axis=-1)
        within = []
        drift = []
        for _, p in dances:
            L = np.linalg.norm(p[:, raw[n]] - p[:, raw[par]], axis=-1)
            within.append(L.std())
            drift.append((np.percentile(L, 99) - np.percentile(L, 1)) / L.mean())
        stats[n] = dict(mean=float(lengths_all.mean()), std=float(lengths_all.std()),
                        within=float(np.mean(within)), drift=float(np.mean(drift)))

    # Rest directions in the skeleton frame (x left, y up, z forward), T-pose:
    #   waist children (hips, shoulders, head points): mean body-frame direction from the waist,
    #   mirrored and averaged over the two sides so that the rest pose is symmetric;
    #   legs straight down; heel/toe from their mean direction in the shin frame (shin vertical);
    #   arms straight out sideways, palms down, every arm point on the arm line.
    def waist_dir(n: str) -> np.ndarray:
        ds = []
        for b in loc:
            ds.append(unit(b[:, raw[n]] - b[:, raw["waist"]]).mean(0))
        return np.mean(ds, axis=0)

    def foot_dir(s: str, n: str) -> np.ndarray:
        ds = []
        for _, p in dances:
            ank = p[:, raw[f"{s}_ankle"]]
            y = unit(p[:, raw[f"{s}_knee"]] - ank)
            f = p[:, raw[f"{s}_toe"]] - p[:, raw[f"{s}_heel"]]
            z = unit(f - np.sum(f * y, -1, keepdims=True) * y)
            x = np.cross(y, z)
            d = unit(p[:, raw[f"{s}_{n}"]] - ank)
            ds.append(np.stack([np.sum(d * x, -1), np.sum(d * y, -1), np.sum(d * z, -1)], -1).mean(0))
        return np.mean(ds, axis=0)

    mirror = np.array([-1.0, 1.0, 1.0])
    rest_dir = {}
    for base in ("hip", "shoulder"):
        d = unit(0.5 * (waist_dir(f"l_{base}") + mirror * waist_dir(f"r_{base}")))
        rest_dir[f"l_{base}"], rest_dir[f"r_{base}"] = d, d * mirror
    # The head turns, so averaging its points' directions over time pulls them together. Rest the
    # head facing forward instead: its centre straight above the waist's mid-plane at the mean
    # height and depth, the two points at +-half their mean distance along x.
    centre = np.mean([0.5 * (b[:, raw["l_head"]] + b[:, raw["r_head"]]).mean(0) - b[:, raw["waist"]].mean(0) for b in loc], axis=0)
    centre[0] = 0.0
    half = 0.5 * np.mean([np.linalg.norm(p[:, raw["l_head"]] - p[:, raw["r_head"]], axis=-1).mean() for _, p in dances])
    rest_dir["l_head"] = unit(centre + np.array([half, 0.0, 0.0]))
    rest_dir["r_head"] = unit(centre - np.array([half, 0.0, 0.0]))
    # Stand the trunk upright: turn the waist's children together about x so that the shoulder
    # midpoint sits straight above the hip midpoint (the dancers lean back ~4 deg on average). A rigid
    # turn keeps their relative layout, which is what the waist's rotation is fitted to.
    def rest_point(n: str) -> np.ndarray:
        return rest_dir[n] * stats[n]["mean"]

    trunk = 0.5 * (rest_point("l_shoulder") + rest_point("r_shoulder")) - 0.5 * (rest_point("l_hip") + rest_point("r_hip"))
    lean = np.arctan2(trunk[2], trunk[1])
    c, s_ = np.cos(lean), np.sin(lean)
    rot_x = np.array([[1.0, 0.0, 0.0], [0.0, c, s_], [0.0, -s_, c]])
    for base in ("hip", "shoulder", "head"):
        for side in "lr":
            rest_dir[f"{side}_{base}"] = rot_x @ rest_dir[f"{side}_{base}"]
    print(f"trunk lean removed from the rest pose: {np.degrees(lean):.1f} deg")
    for base in ("heel", "toe"):
        d = 0.5 * (foot_dir("l", base) + mirror * foot_dir("r", base))
        d[0] = 0.0  # the foot points straight ahead in the rest pose
        d = unit(d)
        rest_dir[f"l_{base}"], rest_dir[f"r_{base}"] = d, d
    for s, sign in (("l", 1.0), ("r", -1.0)):
        rest_dir[f"{s}_knee"] = rest_dir[f"{s}_ankle"] = -UP
        for n in ("elbow", "forearm", "wrist", "hand"):
            rest_dir[f"{s}_{n}"] = np.array([sign, 0.0, 0.0])
    offsets = [[0.0, 0.0, 0.0]] + [[float(x) + 0.0 for x in np.round(rest_dir[n] * stats[n]["mean"], 4)] for n in names[1:]]
    pairs = [[f"l_{n}", f"r_{n}"] for n in
             ("hip", "knee", "ankle", "heel", "toe", "head", "shoulder", "elbow", "forearm", "wrist", "hand")]

    skel = {
        "name": "tang23",
        "description": (
            "Tang et al. 2018 dance data, 23 points, tree derived by scripts/derive_tang23.py. "
            "Rest pose: T-pose, y up, facing +z, the character's left on +x, centimetres; "
            "offsets = mean bone length over all frames times the rest direction. The root 'waist' is the "
            "most central point: about 15 cm above and 4 cm in front of the hip midpoint (no point sits at "
            "the hip centre)."
        ),
        "joints": names,
        "parents": parents,
        "offsets": offsets,
        "lr_pairs": pairs,
        "source_order": source_order,
        "source_order_note": "joint k of this skeleton is column source_order[k] of the raw data",
        "fps": 25,
        "units": "cm",
    }
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(_dump(skel), encoding="utf-8")
    print(f"\nwrote {OUT_JSON.relative_to(REPO)}")

    print("\nbone                 mean cm  std cm  within-dance std  p1-p99 drift")
    for n, par in zip(names[1:], parents[1:]):
        s = stats[n]
        print(f"  {par:>10s} -> {n:<10s} {s['mean']:6.1f}  {s['std']:5.2f}  {s['within']:5.2f}  {100 * s['drift']:5.1f}%")

    # --- plots -------------------------------------------------------------------------------------
    IMG.mkdir(parents=True, exist_ok=True)
    plot_pose(dances, loc, raw, names, parents)
    plot_bones(stats, names, parents)
    plot_spread(std, edges)
    plot_rest(np.array(offsets), names, parents)
    print(f"wrote plots to {IMG.relative_to(REPO)}/tang23_*.png")


def _dump(skel: dict) -> str:
    # One joint per line keeps the JSON readable in a diff.
    lines = ["{"]
    keys = list(skel)
    for k in keys:
        v = skel[k]
        if k in ("offsets", "lr_pairs"):
            inner = ",\n    ".join(json.dumps(x) for x in v)
            text = f"[\n    {inner}\n  ]"
        else:
            text = json.dumps(v)
        lines.append(f"  {json.dumps(k)}: {text}" + ("," if k != keys[-1] else ""))
    return "\n".join(lines) + "\n}\n"


def _side_color(n: str) -> str:
    return "tab:red" if n.startswith("l_") else "tab:blue" if n.startswith("r_") else "black"


def plot_pose(dances, loc, raw, names, parents) -> None:
    """Labelled skeleton from the front and the side, in the frame closest to the average pose."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Typical frame: the frame whose body-frame pose is closest to the mean pose over all dances.
    grand = np.mean([b.mean(0) for b in loc], axis=0)
    err = [np.linalg.norm(b - grand, axis=-1).mean(-1) for b in loc]
    k = int(np.argmin([e.min() for e in err]))
    b = loc[k]
    f = int(np.argmin(err[k]))
    pose = b[f][[raw[n] for n in names]]  # (23, 3) body frame: x left, y up, z forward
    pose = pose - np.array([0.0, pose[:, 1].min(), 0.0])
    fig, axes = plt.subplots(1, 2, figsize=(13, 9))
    views = [("front (performer faces the viewer; their left is on the right)", 0, 1, 1.0),
             ("side, from the performer's right (faces right; right side labelled)", 2, 1, 1.0)]
    for ax, (title, a, c, sgn) in zip(axes, views):
        for j, p in enumerate(parents):
            if p is None:
                continue
            pj = names.index(p)
            ax.plot([pose[pj, a], pose[j, a]], [pose[pj, c], pose[j, c]], "-", color=_side_color(names[j]), lw=2)
        ax.scatter(pose[:, a], pose[:, c], c=[_side_color(n) for n in names], s=25, zorder=3)
        for j, n in enumerate(names):
            if a == 2 and n.startswith("l_"):
                continue  # the side view is seen from the right: label the near side only
            dx = 3 if (pose[j, a] >= 0) else -3
            ax.annotate(f"{n} ({raw[n]})", (pose[j, a], pose[j, c]), xytext=(dx, 2 + 7 * (j % 2)),
                        textcoords="offset points", fontsize=8, ha="left" if dx > 0 else "right")
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_ylabel("height, cm")
    axes[0].set_xlabel("x (performer's left), cm")
    axes[1].set_xlabel("z (forward), cm")
    fig.suptitle(f"tang23 in {dances[k][0]} frame {f}: name (raw column); red left, blue right", fontsize=11)
    fig.tight_layout()
    fig.savefig(IMG / "tang23_pose.png", dpi=90)
    plt.close(fig)


def plot_bones(stats, names, parents) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{p}->{n}" for n, p in zip(names[1:], parents[1:])]
    m = np.array([stats[n]["mean"] for n in names[1:]])
    s = np.array([stats[n]["within"] for n in names[1:]])
    fig, ax1 = plt.subplots(figsize=(12, 5.5))
    x = np.arange(len(labels))
    ax1.bar(x, m, color=[_side_color(n) for n in names[1:]], alpha=0.6, label="mean length (cm)")
    ax1.errorbar(x, m, yerr=s, fmt="none", ecolor="k", capsize=3, label="± within-dance std (cm)")
    for xi, mi, si in zip(x, m, s):
        ax1.text(xi, mi + si + 0.8, f"{si:.1f}", ha="center", fontsize=7)
    ax1.set_xticks(x)
    ax1.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax1.set_ylabel("cm")
    ax1.set_title("tang23 bones: mean length over all frames; error bar and number = spread (std within a dance, cm)")
    ax1.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(IMG / "tang23_bones.png", dpi=90)
    plt.close(fig)


def plot_spread(std, edges) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 7.5))
    im = ax.imshow(np.minimum(std, 8.0), cmap="viridis_r")
    for i, j in edges:
        for a, b in ((i, j), (j, i)):
            ax.add_patch(plt.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
    ticks = [f"{i} {RAW_NAMES[i]}" for i in range(23)]
    ax.set_xticks(range(23))
    ax.set_yticks(range(23))
    ax.set_xticklabels(ticks, rotation=90, fontsize=7)
    ax.set_yticklabels(ticks, fontsize=7)
    fig.colorbar(im, ax=ax, label="std of pair distance over a dance, cm (clipped at 8)")
    ax.set_title("Absolute spread of pair distances (raw columns); red = minimum spanning tree", fontsize=10)
    fig.tight_layout()
    fig.savefig(IMG / "tang23_spread.png", dpi=90)
    plt.close(fig)


def plot_rest(offsets, names, parents) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = np.zeros_like(offsets)
    for j, p in enumerate(parents):
        if p is not None:
            pos[j] = pos[names.index(p)] + offsets[j]
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    for ax, (a, lab) in zip(axes, ((0, "x (character's left), cm"), (2, "z (forward), cm"))):
        for j, p in enumerate(parents):
            if p is not None:
                pj = names.index(p)
                ax.plot([pos[pj, a], pos[j, a]], [pos[pj, 1], pos[j, 1]], "-", color=_side_color(names[j]), lw=2)
        ax.scatter(pos[:, a], pos[:, 1], c=[_side_color(n) for n in names], s=20, zorder=3)
        if a == 0:
            for j, n in enumerate(names):
                if n.startswith("l_") or n == "waist":
                    ax.annotate(n, (pos[j, a], pos[j, 1]), xytext=(3, 4 + 9 * (j % 2)), textcoords="offset points", fontsize=7)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.set_xlabel(lab)
        ax.set_ylabel("y (up), cm")
    # Looking from +z at the character, its left (+x) is on the viewer's right: plain axes are right.
    axes[0].set_title("rest pose from the front (camera on +z; left joints labelled)", fontsize=10)
    axes[1].set_title("rest pose from the character's right side (camera on -x)", fontsize=10)
    fig.tight_layout()
    fig.savefig(IMG / "tang23_rest.png", dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv)
