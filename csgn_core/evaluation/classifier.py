"""The action classifier behind FID and IS (paper section 6.1): a small ST-GCN on 32-frame snippets.

Input. A snippet is 32 frames of global joint positions (F, J, 3), cm, at the classifier's frame
rate. It is made pose-and-place invariant the same way for real and generated motion
(``snippet_input``):

- translation: every joint minus the root joint's position at the snippet's centre frame, so the
  root's own travel inside the snippet stays visible (walk against run, a dancer's travel) but
  where it happens on the floor, and the floor height, do not;
- heading: a turn about y so that at the centre frame the body's left points along +x (it faces
  +z, the project's convention). The left is read from the left/right pairs that hang from one
  shared parent (hips, shoulders): they are rigid with the trunk, so it works for any skeleton
  with ``lr_pairs`` and needs no root rotation (bandai22's root is a ground node);
- channels: those positions and their frame-to-frame velocity in cm/s (zero at the first frame),
  6 channels, normalised per joint and channel by the network's first batch norm.

Real clips are scored through forward kinematics of their solved rotations on the dataset's
skeleton, the path generated motion takes, not through the observed marker positions.

Network. Graph convolutions on the skeleton's graph pyramid (``csgn_core.motion.pyramid``): two
``GraphConvST`` blocks on the full graph, then coarsening (space and time) to pyramid level 1 and
level 2 with one block each; mean over vertices and frames gives the feature vector (the
penultimate layer, used for FID), a linear layer the logits (softmax for IS). Widths are small
(32-32-64-64 by default) so a model trains in minutes on one CPU thread and weighs ~0.3 MB.

Files: a classifier folder holds ``config.json`` (``format: "csgn-classifier"``, the network
config, skeleton, fps, labels, accuracy and training settings) and ``model.safetensors``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from csgn_core.errors import CSGNError
from csgn_core.motion.clip import Motion
from csgn_core.motion.heading import facing_angle, heading_pairs
from csgn_core.motion.skeleton import Skeleton

FORMAT = "csgn-classifier"
VERSION = 1
SNIPPET = 32
N_IN = 6
# The bundled classifier for each dataset (resources/classifiers/NAME).
DATASET_CLASSIFIER = {"tang-dance": "dance", "bandai-actions": "actions", "kinect-actions": "kinect"}


@dataclass
class ClassifierConfig:
    n_classes: int
    widths: tuple[int, ...] = (32, 48, 64, 64)
    levels: tuple[int, ...] = (0, 0, 1, 2)  # pyramid level of each block (vertices pooled between blocks)
    halve: tuple[int, ...] = (0, 1, 1, 1)  # 1: frames halved (pairs averaged) before this block
    kt: int = 5
    snippet: int = SNIPPET
    dropout: float = 0.3

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"], d["levels"], d["halve"] = list(self.widths), list(self.levels), list(self.halve)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        d = dict(d)
        for k in ("widths", "levels", "halve"):
            if k in d:
                d[k] = tuple(int(w) for w in d[k])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# --- input -------------------------------------------------------------------------------------------
def snippet_input(pos: np.ndarray, skeleton: Skeleton, fps: float) -> np.ndarray:
    """(B, T, J, 3) global positions, cm -> (B, 6, T, J) float32 network input (see the module doc)."""
    pos = np.asarray(pos, dtype=np.float64)
    B, T, J, _ = pos.shape
    c = T // 2
    x = pos - pos[:, c:c + 1, :1]  # (B, T, J, 3) relative to the root at the centre frame
    if heading_pairs(skeleton):
        ang = facing_angle(pos[:, c], skeleton)  # (B,) the left vector's angle from +x towards +z
        co, si = np.cos(ang)[:, None, None], np.sin(ang)[:, None, None]
        # Turn by -ang about y: (x, z) -> (x cos + z sin, -x sin + z cos) brings left onto +x.
        x = np.stack([co * x[..., 0] + si * x[..., 2], x[..., 1], -si * x[..., 0] + co * x[..., 2]], axis=-1)
    v = np.diff(x, axis=1, prepend=x[:, :1]) * fps  # (B, T, J, 3) cm/s
    return np.concatenate([x, v], axis=-1).transpose(0, 3, 1, 2).astype(np.float32)


def resample_positions(pos: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """(F, J, 3) positions linearly resampled to another frame rate."""
    if abs(fps_in - fps_out) < 1e-6:
        return pos
    n = max(1, int(math.floor((len(pos) - 1) * fps_out / fps_in)) + 1)
    t = np.arange(n) * fps_in / fps_out
    i = np.minimum(np.floor(t).astype(int), len(pos) - 1)
    j = np.minimum(i + 1, len(pos) - 1)
    u = (t - i)[:, None, None]
    return pos[i] * (1 - u) + pos[j] * u


# --- network ----------------------------------------------------------------------------------------
class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, partitions: np.ndarray, kt: int):
        super().__init__()
        from csgn_core.model.graph_ops import GraphConvST, VertexBatchNorm

        self.conv = GraphConvST(cin, cout, partitions, kt=kt)
        self.bn = VertexBatchNorm(cout)
        self.skip = cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, V, C, T)
        y = self.bn(self.conv(x))
        return F.relu(y + x if self.skip else y)


class ActionClassifier(nn.Module):
    """ST-GCN-style snippet classifier on one skeleton's graph pyramid."""

    def __init__(self, cfg: ClassifierConfig, skeleton: Skeleton, fps: float, labels: list[str],
                 meta: dict | None = None):
        super().__init__()
        from csgn_core.model.graph_ops import GraphCoarsen, level_partitions, level_roots
        from csgn_core.motion.pyramid import build_pyramid

        self.cfg, self.skeleton, self.fps, self.labels = cfg, skeleton, float(fps), list(labels)
        self.meta = dict(meta or {})
        pyr = build_pyramid(skeleton)
        roots = level_roots(pyr)
        lv = [min(i, len(pyr.levels) - 1) for i in cfg.levels]
        if len(lv) != len(cfg.widths) or len(cfg.halve) != len(lv) or any(b < a for a, b in zip(lv, lv[1:])):
            raise CSGNError("classifier config: one width, non-decreasing pyramid level and halving flag per block")
        if cfg.snippet % 2 ** sum(cfg.halve[1:]):
            raise CSGNError(f"classifier config: {cfg.snippet} frames cannot be halved {sum(cfg.halve[1:])} times")
        V = skeleton.n_joints
        self.data_bn = nn.BatchNorm1d(N_IN * V)
        w = cfg.widths
        blocks, coarsen = [], []
        cin = N_IN
        for b, (width, level) in enumerate(zip(w, lv)):
            blocks.append(_Block(cin, width, level_partitions(pyr.levels[level], roots[level]), cfg.kt))
            nxt = lv[b + 1] if b + 1 < len(lv) else None
            halve = b + 1 < len(lv) and bool(cfg.halve[b + 1])
            if nxt is not None and nxt > level + 1:
                raise CSGNError("classifier config: blocks must step down one pyramid level at a time")
            if nxt is not None and nxt > level:
                coarsen.append(GraphCoarsen(pyr.levels[nxt], pyr.levels[level].n, time=halve))
            elif halve:
                coarsen.append(GraphCoarsen(None, time=True))
            else:
                coarsen.append(nn.Identity())
            cin = width
        self.blocks, self.coarsen = nn.ModuleList(blocks), nn.ModuleList(coarsen)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(w[-1], cfg.n_classes)

    @property
    def feature_dim(self) -> int:
        return self.cfg.widths[-1]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 6, T, V) input -> (N, D) penultimate features."""
        N, C, T, V = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(N, V * C, T)).view(N, V, C, T)  # (N, V, C, T)
        for block, down in zip(self.blocks, self.coarsen):
            x = down(block(x))
        return x.mean(dim=(1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 6, T, V) -> (N, K) logits
        return self.fc(self.drop(self.embed(x)))

    # --- motion in, features out ---------------------------------------------------------------
    def check(self, skeleton: Skeleton, fps: float | None = None) -> None:
        if not skeleton.same_topology(self.skeleton):
            raise CSGNError(f"the classifier is for {self.skeleton.name!r} ({self.skeleton.n_joints} joints); "
                            f"motion skeleton {skeleton.name!r} ({skeleton.n_joints} joints) differs")

    @torch.no_grad()
    def score(self, snippets: np.ndarray, fps: float | None = None, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """(B, T, J, 3) position snippets at the classifier's fps -> (features (B, D), softmax (B, K))."""
        self.eval()
        x = snippet_input(snippets, self.skeleton, fps or self.fps)
        feats, probs = [], []
        for a in range(0, len(x), batch):
            f = self.embed(torch.from_numpy(x[a:a + batch]))
            feats.append(f.numpy())
            probs.append(torch.softmax(self.fc(f), dim=-1).numpy())
        D, K = self.feature_dim, self.cfg.n_classes
        return (np.concatenate(feats) if feats else np.zeros((0, D), np.float32),
                np.concatenate(probs) if probs else np.zeros((0, K), np.float32))

    def motion_snippets(self, motion: Motion, m: int | None = None) -> np.ndarray:
        """(M, T, J, 3) consecutive non-overlapping snippets from frame 0 (at the classifier's fps).

        ``m`` asks for exactly that many; a motion too short for them is an error.
        """
        self.check(motion.skeleton)
        pos = resample_positions(motion.positions, motion.fps, self.fps)
        T = self.cfg.snippet
        have = len(pos) // T
        if m is None:
            m = have
        if have < m or m < 1:
            raise CSGNError(f"motion of {motion.n_frames} frames at {motion.fps:g} fps holds {have} snippets "
                            f"of {T} frames, {m} needed")
        return pos[:m * T].reshape(m, T, *pos.shape[1:])


# --- files -------------------------------------------------------------------------------------------
def classifier_dir(name_or_dir: str | Path) -> Path:
    from csgn_core.paths import RESOURCES

    bundled = RESOURCES / "classifiers" / str(name_or_dir)
    for p in (bundled, Path(name_or_dir)):
        if (p / "config.json").is_file() and (p / "model.safetensors").is_file():
            return p
    raise CSGNError(f"no classifier {name_or_dir!r}: not a bundled classifier "
                    f"({', '.join(sorted(set(DATASET_CLASSIFIER.values())))}) nor a folder with config.json and model.safetensors")


def load_classifier(name_or_dir: str | Path, device: str | torch.device = "cpu") -> ActionClassifier:
    """A bundled classifier by name (``dance``, ``actions``, ``kinect``) or from a folder; eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = classifier_dir(name_or_dir)
    try:
        doc = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CSGNError(f"{folder / 'config.json'}: unreadable classifier config ({e})") from None
    if doc.get("format") != FORMAT:
        raise CSGNError(f"{folder / 'config.json'}: not a CSGN classifier (format {doc.get('format')!r})")
    if int(doc.get("version", 0)) > VERSION:
        raise CSGNError(f"{folder / 'config.json'}: classifier format version {doc['version']} is newer than this code")
    meta = {k: v for k, v in doc.items() if k not in ("model", "skeleton_def")}
    clf = ActionClassifier(ClassifierConfig.from_dict(doc["model"]), Skeleton.from_dict(doc["skeleton_def"]),
                           doc["fps"], doc["labels"], meta)
    try:
        tensors = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError) as e:
        raise CSGNError(f"{folder / 'model.safetensors'}: unreadable weights ({e})") from None
    own = clf.state_dict()
    if set(own) != set(tensors) or any(tuple(own[k].shape) != tuple(tensors[k].shape) for k in own):
        raise CSGNError(f"{folder / 'model.safetensors'}: weights do not fit the configured classifier")
    clf.load_state_dict(tensors)
    clf.meta["folder"] = str(folder)
    return clf.to(device).eval()


def save_classifier(clf: ActionClassifier, folder: str | Path, extra: dict | None = None) -> Path:
    from safetensors.torch import save

    from csgn_core.io.atomic import write_bytes_atomic, write_text_atomic

    folder = Path(folder)
    tensors = {k: v.detach().cpu().contiguous() for k, v in clf.state_dict().items()}
    write_bytes_atomic(folder / "model.safetensors", save(tensors))
    doc = {"format": FORMAT, "version": VERSION, **(extra or {}), "skeleton": clf.skeleton.name,
           "fps": clf.fps, "labels": clf.labels, "model": clf.cfg.to_dict(), "skeleton_def": clf.skeleton.to_dict()}
    write_text_atomic(folder / "config.json", json.dumps(doc, indent=1))
    return folder


# --- data ----------------------------------------------------------------------------------------------
def resolve_dataset(dataset):
    """A ``Dataset``, a built ``.npz`` path, or a dataset name (its default cache)."""
    from csgn_core.io.datasets import DATASETS, Dataset, default_cache_path

    if isinstance(dataset, Dataset):
        return dataset
    p = Path(str(dataset))
    if p.suffix == ".npz" or p.is_file():
        return Dataset.load(p)
    if str(dataset) in DATASETS:
        return Dataset.load(default_cache_path(str(dataset)))
    raise CSGNError(f"no dataset {dataset!r}: a built .npz or one of {', '.join(DATASETS)}")


def clip_positions(ds, c: int) -> np.ndarray:
    """(F, J, 3) positions of clip c as generated motion has them: FK of the solved rotations."""
    return ds.clip(int(c)).positions.astype(np.float32)


@dataclass
class SnippetPool:
    """Clips of one split as position arrays, for drawing 32-frame snippets (short clips padded)."""

    clips: list[np.ndarray]  # each (F, J, 3)
    labels: np.ndarray  # (n_clips,)
    names: list[str] = field(default_factory=list)

    def snippet(self, c: int, start: int, T: int) -> np.ndarray:
        p = self.clips[c]
        idx = np.minimum(start + np.arange(T), len(p) - 1)
        return p[idx]

    def starts(self, c: int, T: int, stride: int) -> list[int]:
        n = len(self.clips[c])
        s = list(range(0, max(n - T, 0) + 1, stride))
        if n > T and s[-1] != n - T:
            s.append(n - T)
        return s

    def grid(self, T: int, stride: int, clips=None) -> tuple[np.ndarray, np.ndarray]:
        """All snippets at ``stride`` over the clips: (B, T, J, 3) positions and (B,) labels."""
        out, lab = [], []
        for c in (range(len(self.clips)) if clips is None else clips):
            for s in self.starts(c, T, stride):
                out.append(self.snippet(c, s, T))
                lab.append(self.labels[c])
        return np.stack(out), np.array(lab)


def split_pool(ds, split: str) -> SnippetPool:
    from csgn_core.io.datasets import SPLITS

    idx = np.nonzero(ds.clip_split == SPLITS.index(split))[0]
    return SnippetPool([clip_positions(ds, c) for c in idx], ds.clip_labels[idx].copy(),
                       [ds.clip_names[c] for c in idx])


def holdout_clips(labels: np.ndarray, names: list[str], every: int = 4) -> np.ndarray:
    """Boolean mask of held-out clips: within each label, clips sorted by name, every ``every``-th
    (the last of each run of ``every``), so each label keeps most clips for training."""
    held = np.zeros(len(labels), dtype=bool)
    for lab in np.unique(labels):
        members = sorted(np.nonzero(labels == lab)[0], key=lambda c: names[c])
        for k, c in enumerate(members):
            if k % every == every - 1:
                held[c] = True
    return held


# --- training ------------------------------------------------------------------------------------------
def accuracy(probs: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    top = np.argsort(-probs, axis=1)[:, :k]
    return float(np.mean((top == labels[:, None]).any(axis=1)))


def train_classifier(dataset, out_dir: str | Path | None, minutes: float = 3.0, seed: int = 0, *,
                     holdout_every: int = 4, batch: int = 64, lr: float = 2e-3, threads: int | None = 1,
                     max_steps: int | None = None, widths: tuple[int, ...] = (32, 48, 64, 64),
                     progress=None) -> dict:
    """Train a classifier on the ``cls`` split of a dataset (a held-out part of its clips is kept
    for the accuracy report), save it to ``out_dir`` (unless None) and return the report.

    Batches draw a label uniformly, then a clip of it (by its number of snippets), then a random
    start, so rare labels (3 genres in 5 : 8 : 32 dances) are seen as often as common ones.
    Augmentation: body scale x U(0.95, 1.05) and a yaw of +-10 degrees. The learning rate falls on
    a cosine over the time budget (or ``max_steps``).
    """
    if threads:
        torch.set_num_threads(int(threads))
    ds = resolve_dataset(dataset)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    pool = split_pool(ds, "cls")
    held = holdout_clips(pool.labels, pool.names, holdout_every)
    train_c = np.nonzero(~held)[0]
    T = SNIPPET
    cfg = ClassifierConfig(n_classes=len(ds.label_names), widths=tuple(widths))
    clf = ActionClassifier(cfg, ds.skeleton, ds.fps, ds.label_names)
    opt = torch.optim.AdamW(clf.parameters(), lr=lr, weight_decay=1e-3)
    # Sampling weights: uniform over labels present in training, then by snippet count within a label.
    n_snip = np.array([len(pool.starts(c, T, 1)) for c in range(len(pool.clips))], dtype=float)
    labs = pool.labels[train_c]
    present = np.unique(labs)
    w = np.zeros(len(train_c))
    for lab in present:
        sel = labs == lab
        w[sel] = n_snip[train_c][sel] / n_snip[train_c][sel].sum() / len(present)
    t0 = time.perf_counter()
    budget = minutes * 60.0
    step, losses = 0, []
    clf.train()
    while True:
        frac = (time.perf_counter() - t0) / budget if max_steps is None else step / max_steps
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        cs = rng.choice(train_c, size=batch, p=w)
        snips = np.stack([pool.snippet(c, int(rng.integers(0, max(len(pool.clips[c]) - T, 0) + 1)), T) for c in cs])
        ang = rng.uniform(-np.pi / 18, np.pi / 18, size=(batch, 1, 1))
        sc = rng.uniform(0.95, 1.05, size=(batch, 1, 1, 1))
        x, z = snips[..., 0], snips[..., 2]
        snips = np.stack([np.cos(ang) * x + np.sin(ang) * z, snips[..., 1], -np.sin(ang) * x + np.cos(ang) * z], -1) * sc
        xin = torch.from_numpy(snippet_input(snips, ds.skeleton, ds.fps))
        y = torch.from_numpy(pool.labels[cs].astype(np.int64))
        loss = F.cross_entropy(clf(xin), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if progress is not None and step % 100 == 0:
            progress(f"step {step}: loss {np.mean(losses[-100:]):.3f}")
    train_s = time.perf_counter() - t0
    clf.eval()
    report = {"dataset": ds.name, "skeleton": ds.skeleton.name, "fps": ds.fps, "labels": ds.label_names,
              "snippet_frames": T, "steps": step, "train_seconds": round(train_s, 1),
              "final_loss": round(float(np.mean(losses[-100:])), 4) if losses else None,
              "training": {"split": "cls", "holdout": f"every {holdout_every}th clip of each label, sorted by name",
                           "batch": batch, "lr": lr, "optimizer": "AdamW wd 1e-3, cosine", "label_smoothing": 0.1,
                           "augment": "scale 0.95-1.05, yaw +-10 deg", "sampling": "uniform over labels",
                           "minutes": minutes, "max_steps": max_steps, "seed": seed, "threads": threads,
                           "widths": list(widths)},
              "train_clips": int(len(train_c)), "heldout_clips": [pool.names[c] for c in np.nonzero(held)[0]]}
    report.update(evaluate_heldout(clf, pool, np.nonzero(held)[0]))
    if out_dir is not None:
        save_classifier(clf, out_dir, {"dataset": ds.name, "accuracy": {k: report[k] for k in ACC_KEYS},
                                        **{k: v for k, v in report.items() if k not in ACC_KEYS + ("dataset", "skeleton", "fps", "labels")}})
    return report


ACC_KEYS = ("top1", "top5", "top1_clip", "balanced_top1", "majority_top1", "chance_top1", "heldout_snippets")


def evaluate_heldout(clf: ActionClassifier, pool: SnippetPool, clips, stride: int = 8) -> dict:
    """Top-1/top-5 over every snippet (stride 8) of the held-out clips, plus per-clip votes."""
    clips = list(clips)
    if not clips:
        return {k: None for k in ACC_KEYS}
    T = clf.cfg.snippet
    x, y = pool.grid(T, stride, clips)
    _, p = clf.score(x)
    owner = np.concatenate([[c] * len(pool.starts(c, T, stride)) for c in clips])
    clip_pred = np.array([p[owner == c].mean(0).argmax() for c in clips])
    per_label = [np.mean(p[y == lab].argmax(1) == lab) for lab in np.unique(y)]
    counts = np.bincount(y)
    K = p.shape[1]
    return {"top1": round(accuracy(p, y, 1), 4), "top5": round(accuracy(p, y, min(5, K)), 4),
            "top1_clip": round(float(np.mean(clip_pred == pool.labels[clips])), 4),
            "balanced_top1": round(float(np.mean(per_label)), 4),
            "majority_top1": round(float(counts.max() / counts.sum()), 4), "chance_top1": round(1.0 / K, 4),
            "heldout_snippets": int(len(y))}
