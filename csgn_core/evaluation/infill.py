"""In-betweening benchmark: cut gaps into held-out clips, fill them, and score the fill.

For every clip and gap length G, windows of ``left + G + right`` frames slide over the clip (stride
``left + G``); the left and right context are pinned, the G frames between are filled and compared
with the real ones. Methods, side by side:

- ``csgn``: completion with a short latent refinement (``refine_seconds``);
- ``csgn-norefine``: completion straight from H's latents and the GP;
- ``csgn-clean``: that fill after the export's foot clean-up on the generator's own contacts
  (``footclean.clean_for_export``), i.e. what an exported file of it holds;
- ``interp``: the classic baseline, linear root and SLERP of every joint rotation between the last
  left and the first right context frame;
- ``spline``: the cubic Hermite in-between of ``inbetween.hermite`` (the keys' velocities from the
  context), which completion blends into gaps shorter than ``inbetween.SPLINE_SECONDS[1]``.

Windows are taken round robin over the clips (``windows``), so a ``max_windows`` limit still
samples every clip. Metrics, averaged over windows:

- ``l2p_cm``: mean global joint position error over the gap frames (cm);
- ``l2p_norm``: L2P as Harvey et al. 2020 report it: per window, positions taken relative to the
  root's horizontal position at the last context frame, every (joint, axis) divided by its
  standard deviation over the evaluation clips, then the mean over gap frames of the L2 norm of the
  whole normalised pose difference;
- ``npss``: Normalized Power Spectrum Similarity (Gopalakrishnan et al. 2019) of the gap's joint
  rotation quaternion tracks: per channel, earth mover's distance between the normalised power
  spectra of the fill and the truth, weighted by the truth's power share;
- ``skate_cms``: foot skating, mean horizontal speed (cm/s) of each toe (or ankle) over the gap frames
  where it is within 5 cm of the clip's floor;
- ``accel``: mean joint acceleration inside the gap (cm/frame^2), against ``real_accel``, the real
  frames' of the same windows: a fill that jitters (or a root settled frame by frame) shows here;
- ``seam``: mean change of joint velocity across the two seams (``sampler.seam_jumps``, cm/frame^2),
  to compare with ``real_p95``, the 95th percentile of the same statistic on the real clips.

Honest windows: given the training split (``index``, ``evaluation.duplicates.WindowIndex``), a
window whose gap middle lies in a 1 s stretch that the training split holds a copy of is counted
apart: ``rows`` score every window, ``rows_novel`` only those without a copy, ``copies`` says how
many were set apart per gap length.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from csgn_core.editing.completion import Problem, complete_problem, conform, uses_inverse, with_contacts
from csgn_core.editing.splice import acceleration, real_acceleration_quantile, seam_jumps
from csgn_core.errors import CSGNError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.contacts import has_foot_table
from csgn_core.motion.footclean import clean_for_export
from csgn_core.motion.inbetween import hermite

METHODS = ("csgn", "csgn-norefine", "csgn-clean", "interp", "spline")


CONTACT_CM = 5.0


def npss(truth: np.ndarray, pred: np.ndarray) -> float:
    """NPSS of two (T, D) tracks (time first)."""
    pt = np.abs(np.fft.rfft(truth, axis=0)) ** 2  # (K, D)
    pp = np.abs(np.fft.rfft(pred, axis=0)) ** 2
    tot_t = pt.sum(axis=0)
    nt = pt / np.maximum(tot_t, 1e-12)
    npp = pp / np.maximum(pp.sum(axis=0), 1e-12)
    emd = np.abs(np.cumsum(nt, axis=0) - np.cumsum(npp, axis=0)).sum(axis=0)  # (D,)
    w = tot_t / max(tot_t.sum(), 1e-12)
    return float((emd * w).sum())


def interpolate(left_rot, left_root, right_rot, right_root, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n in-between frames by SLERP of rotations and linear root."""
    u = (np.arange(1, n + 1) / (n + 1.0))[:, None, None]
    rot = Q.slerp(np.broadcast_to(left_rot, (n,) + left_rot.shape), np.broadcast_to(right_rot, (n,) + right_rot.shape), u)
    root = left_root + (right_root - left_root) * u[:, 0]
    return rot, root


def windows(lengths: Sequence[int], W: int, stride: int, limit: int | None) -> list[tuple[int, int]]:
    """(clip, first frame) of up to ``limit`` windows of W frames, taken round robin over the clips
    (every clip's first window, then every clip's second, ...) so that a limit samples every clip
    rather than exhausting the first few long ones."""
    per_clip = [list(range(0, n - W + 1, stride)) for n in lengths]
    out = []
    for k in range(max((len(w) for w in per_clip), default=0)):
        out.extend((ci, w[k]) for ci, w in enumerate(per_clip) if k < len(w))
    return out if limit is None else out[:limit]


def _mean(v: list[float]) -> float:
    a = np.asarray(v, dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else float("nan")


def _feet(skeleton) -> list[int]:
    from csgn_core.motion.retarget import find_joint_map

    try:
        lm = find_joint_map(skeleton).resolve(skeleton)
    except CSGNError:
        return []
    out = []
    for side in "lr":
        for k in (f"{side}_toe", f"{side}_ankle"):
            if k in lm and len(lm[k]) == 1:
                out.append(lm[k][0])
                break
    return out


def _skate(pos: np.ndarray, feet: list[int], floor: float, fps: float) -> float:
    if not feet or len(pos) < 2:
        return float("nan")
    p = pos[:, feet]  # (T, 2, 3)
    v = np.linalg.norm(np.diff(p[..., [0, 2]], axis=0), axis=-1) * fps  # (T-1, 2)
    contact = (p[1:, :, 1] - floor) < CONTACT_CM
    return float(v[contact].mean()) if contact.any() else 0.0


def _accel(pos: np.ndarray, left: int, G: int) -> float:
    """Mean joint acceleration (cm/frame^2) over a gap's frames, each read from its two neighbours."""
    return float(acceleration(pos[left - 1:left + G + 1]).mean())


def eval_infill(model, clips: Sequence[Motion], gaps: Sequence[int] = (10, 30, 60, 120), *, left: int = 40,
                right: int = 20, refine_seconds: float = 0.3, seed: int = 0, max_windows: int | None = 200,
                methods: Sequence[str] = METHODS, progress=None, condition: str = "auto", index=None,
                draws: int = 1) -> dict:
    """Score in-betweening on held-out clips; returns {"rows": [...], "real_p95": x, ...}. ``draws``: each
    gap of the model's rows from the best of this many draws (``complete_problem``; 1 as the editor
    fills, ``csgn complete`` draws 4)."""
    import torch

    # Truth and fill are compared on the model's skeleton (its bone lengths), as the fill is.
    clips = [Motion(model.skeleton, model.fps, rotations=c.rotations, root=c.root) for c in
             (conform(c, model) for c in clips)]
    if not clips:
        raise CSGNError("no clips to evaluate on")
    feet = _feet(model.skeleton)
    if "csgn-clean" in methods and not has_foot_table(model.skeleton):
        methods = [m for m in methods if m != "csgn-clean"]  # nothing to clean the feet with: no such row
    allpos = []
    for c in clips:
        p = c.positions.copy()
        p[..., [0, 2]] -= p[:, :1, [0, 2]]  # horizontal positions relative to the root: the spread that matters
        allpos.append(p)
    std = np.concatenate(allpos).reshape(-1, model.skeleton.n_joints * 3).std(axis=0)
    std = np.where(std > 0.5, std, np.inf)  # a coordinate that never moves (a root's own offset) carries no error
    real_p95 = real_acceleration_quantile(clips)
    rows = []
    total = len(gaps) * len(methods)
    done = 0
    floors = [float(c.positions[:, feet, 1].min()) if feet else 0.0 for c in clips]
    real_skate, real_accel = {}, {}
    rows_novel, copies = [], {}
    clip_pos = [c.positions for c in clips] if index is not None else None
    for G in gaps:
        acc = {m: {"l2p_cm": [], "l2p_norm": [], "npss": [], "skate_cms": [], "accel": [], "seam": []}
               for m in methods}
        W = left + G + right
        n_win = 0
        truth_skate, truth_acc = [], []
        copy = []
        for ci, a in windows([c.n_frames for c in clips], W, left + G, max_windows):
            clip, floor = clips[ci], floors[ci]
            n_win += 1
            copy.append(index is not None and index.is_copy(clip_pos[ci], a + left + G // 2))
            win = clip.slice(a, a + W)
            truth = win.positions[left:left + G]
            truth_skate.append(_skate(truth, feet, floor, model.fps))
            truth_acc.append(_accel(win.positions, left, G))
            for m in methods:
                if m in ("interp", "spline"):
                    if m == "interp":
                        r, t = interpolate(win.rotations[left - 1], win.root[left - 1], win.rotations[left + G],
                                           win.root[left + G], G)
                    else:
                        r, t = hermite(win.rotations, win.root, left - 1, left + G, s_prev=left > 1, e_next=right > 1)
                    rot, root = win.rotations.copy(), win.root.copy()
                    rot[left:left + G], root[left:left + G] = r, t
                else:
                    prob = Problem(W, [(0, win.slice(0, left)), (left + G, win.slice(left + G, W))])
                    refine = refine_seconds if m == "csgn" else 0.0
                    if refine > 0:
                        rot, root, pinned, contacts = complete_problem(model, prob, seed + n_win, refine,
                                                                       condition=condition, draws=draws)
                    else:
                        with torch.no_grad():
                            rot, root, pinned, contacts = complete_problem(model, prob, seed + n_win,
                                                                           condition=condition, draws=draws)
                    if m == "csgn-clean":
                        done_fill = with_contacts(Motion(model.skeleton, model.fps, rotations=rot, root=root),
                                                  contacts, pinned)
                        cleaned = clean_for_export(done_fill)[0]
                        rot, root = cleaned.rotations, cleaned.root
                out = Motion(model.skeleton, model.fps, rotations=rot, root=root)
                pred = out.positions[left:left + G]
                acc[m]["l2p_cm"].append(float(np.linalg.norm(pred - truth, axis=-1).mean()))
                d = (pred - truth)
                d = d.reshape(G, -1) / std  # horizontal offsets cancel in the difference
                acc[m]["l2p_norm"].append(float(np.linalg.norm(d, axis=-1).mean()))
                acc[m]["npss"].append(npss(Q.make_continuous(win.rotations[left:left + G]).reshape(G, -1),
                                           Q.make_continuous(rot[left:left + G]).reshape(G, -1)))
                acc[m]["skate_cms"].append(_skate(pred, feet, floor, model.fps))
                acc[m]["accel"].append(_accel(out.positions, left, G))
                acc[m]["seam"].append(float(seam_jumps(out, [left, left + G]).mean()))
        real_skate[int(G)] = _mean(truth_skate)
        real_accel[int(G)] = _mean(truth_acc)
        copies[int(G)] = int(sum(copy))
        novel = ~np.asarray(copy, dtype=bool)
        for m in methods:
            row = {"gap": int(G), "method": m, "windows": n_win}
            row.update({k: _mean(v) for k, v in acc[m].items()})
            rows.append(row)
            if index is not None:
                row = {"gap": int(G), "method": m, "windows": int(novel.sum())}
                row.update({k: _mean(list(np.asarray(v)[novel])) for k, v in acc[m].items()})
                row["real_skate"] = _mean(list(np.asarray(truth_skate)[novel]))
                rows_novel.append(row)
            done += 1
            if progress is not None:
                progress(done / total, f"gap {G}: {m}")
    return {"rows": rows, "rows_novel": rows_novel, "copies": copies if index is not None else None,
            "real_p95": real_p95, "real_skate": real_skate, "real_accel": real_accel, "condition": condition,
            "uses_inverse": uses_inverse(model, condition), "inverse_fidelity": float(model.inverse_fidelity),
            "left": left, "right": right, "fps": model.fps,
            "refine_seconds": refine_seconds, "clips": len(clips), "draws": int(draws)}


def format_table(result: dict) -> str:
    """Markdown table of ``eval_infill``'s result."""
    lines = _table(result["rows"])
    if result.get("copies") is not None:
        n = ", ".join(f"{v} of {next(r['windows'] for r in result['rows'] if r['gap'] == g)} at {g}"
                      for g, v in result["copies"].items())
        lines += ["", f"Windows whose gap holds a 1 s stretch with a copy in the training split: {n} frames. "
                  "Without them:", ""]
        lines += _table(result["rows_novel"])
    lines.append("")
    sk = ", ".join(f"{v:.1f} at {g}" for g, v in result.get("real_skate", {}).items())
    ac = ", ".join(f"{v:.2f} at {g}" for g, v in result.get("real_accel", {}).items())
    lines.append(f"Real data: 95th percentile of the seam statistic {result['real_p95']:.3f} cm/frame^2; "
                 f"foot skating of the real gap frames {sk} cm/s; their joints' acceleration {ac} cm/frame^2. "
                 f"Context {result['left']} frames before, {result['right']} after, at {result['fps']:g} fps; "
                 f"refinement {result['refine_seconds']:g} s; each gap the best of {result.get('draws', 1)} "
                 f"draw(s) by foot sliding; {result['clips']} clips; "
                 f"prior conditioned on H's latents of the pins: {'yes' if result.get('uses_inverse') else 'no'} "
                 f"(--condition {result.get('condition', 'auto')}; H(G(z)) correlates "
                 f"{result.get('inverse_fidelity', float('nan')):.2f} with z).")
    return "\n".join(lines)


def _table(rows: list[dict]) -> list[str]:
    lines = ["| gap (frames) | method | windows | L2P (cm) | L2P (norm.) | NPSS | foot skate (cm/s) | acceleration "
             "(cm/frame^2) | seam (cm/frame^2) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['gap']} | {r['method']} | {r['windows']} | {r['l2p_cm']:.2f} | {r['l2p_norm']:.3f} | "
                     f"{r['npss']:.4f} | {r['skate_cms']:.2f} | {r.get('accel', float('nan')):.3f} | {r['seam']:.3f} |")
    return lines


def plot(result: dict, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, key, title in zip(axes, ("l2p_cm", "npss", "skate_cms"), ("L2P (cm)", "NPSS", "foot skate (cm/s)")):
        for m in methods:
            rs = [r for r in rows if r["method"] == m]
            ax.plot([r["gap"] for r in rs], [r[key] for r in rs], marker="o", label=m)
        ax.set_xlabel("gap (frames)")
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _held_out(ds_arg: str, limit: int) -> list[Motion]:
    from csgn_core.io.datasets import SPLITS
    from csgn_core.model.train.windows import resolve_dataset

    ds = resolve_dataset(ds_arg)
    idx = np.nonzero(ds.clip_split == SPLITS.index("cls"))[0][:limit]
    return [ds.clip(int(c)) for c in idx]


def _is_dataset(item: str) -> bool:
    """A dataset name, or a .npz written by ``csgn data build`` (a motion .npz is not one)."""
    from csgn_core.io.datasets import DATASETS, FORMAT

    if item in DATASETS and not Path(item).exists():
        return True
    if Path(item).suffix.lower() != ".npz" or not Path(item).is_file():
        return False
    try:
        with np.load(item, allow_pickle=False) as z:
            return "format" in z.files and str(z["format"]) == FORMAT
    except (OSError, ValueError):
        return False


def data_clips(items: Sequence[str], limit: int) -> list[Motion]:
    """Held-out clips from ``--data`` items: datasets give their held-out split, files themselves."""
    from csgn_core.io import load_motion

    clips: list[Motion] = []
    for item in items:
        clips += _held_out(item, limit) if _is_dataset(item) else [load_motion(item)]
    return clips[:limit]


def training_index(items: Sequence[str], model_arg: str, model):
    """The nearest-window index of the training split: of the first dataset among ``items``, else of
    the dataset the model was trained on; None (with a note) when neither is known."""
    from csgn_core.evaluation.duplicates import WindowIndex
    from csgn_core.io.datasets import SPLITS
    from csgn_core.model.train.windows import resolve_dataset

    name = next((i for i in items if _is_dataset(i)), None)
    if name is None:
        from csgn_core.evaluation.generators import model_dataset, model_folder

        try:
            name = model_dataset(model_folder(model_arg))
        except CSGNError:
            name = None
    if name is None:
        print("note: the model's training data is unknown, so copies of training windows are not set apart",
              file=sys.stderr)
        return None
    ds = resolve_dataset(name)
    if not ds.skeleton.same_topology(model.skeleton):
        return None
    gen = [ds.clip(int(c)) for c in np.nonzero(ds.clip_split == SPLITS.index("gen"))[0]]
    return WindowIndex([Motion(model.skeleton, model.fps, rotations=c.rotations, root=c.root) for c in gen])
