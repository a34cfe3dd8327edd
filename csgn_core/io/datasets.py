"""Training datasets built from the real motion capture: clips, window index, splits, statistics.

A built dataset is one ``.npz`` (no pickles) holding every clip end to end and an index of training
windows. Clips are assigned to a split as a whole, so no window straddles two splits:

- ``tang-dance`` (positions and solved rotations, 25 fps): as the paper did for MikuDance, each dance
  is cut into two halves; the first half goes to the generator (``gen``), the second to the genre
  classifier (``cls``).
- ``bandai-actions`` (joint rotations, 30 fps, dataset-2, 10 content labels): within each
  (content, style) group, clips sorted by id alternate between ``gen`` and ``cls``, the way the paper
  gave NTU's cross-subject train set to the generator and its validation set to the classifier.
- ``kinect-actions`` (cleaned MSR Action3D + UTKinect positions, 15 fps, 30 labels): by subject,
  odd subjects ``gen`` and even subjects ``cls`` (cross-subject, like NTU).

Clips shorter than the window are padded by holding their last frame; ``window_valid`` counts the
real frames of every window.
"""
from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.atomic import write_bytes_atomic
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton, load_named
from csgn_core.paths import cache_root, data_root

SPLITS = ("gen", "cls")
FORMAT = "csgn-dataset"
VERSION = 1


@dataclass
class Clip:
    name: str
    motion: Motion
    label: int
    split: str


@dataclass
class BuildResult:
    clips: list[Clip]
    label_names: list[str]
    skipped: list[str] = field(default_factory=list)  # one line per file that could not be used
    notes: dict = field(default_factory=dict)  # measurements worth keeping with the dataset


@dataclass
class DatasetSpec:
    name: str
    description: str
    source: Callable[[], Path]
    window: int
    stride: int
    build: Callable[[Path, int | None], BuildResult]


# --- builders ------------------------------------------------------------------------------------
def _build_tang(source: Path, limit: int | None) -> BuildResult:
    """Dances solved to rotations on one shared skeleton, fitted to all of them (a model has one skeleton)."""
    from csgn_core.io.tang import list_dances, read_tang

    dances, skipped = [], []
    for path in list(list_dances(source))[:limit]:
        try:
            dances.append(read_tang(path))
        except MotionFileError as e:
            skipped.append(str(e))
    if not dances:
        return BuildResult([], [], skipped)
    clips = []
    for m in dances:
        genre = "CRW".index(m.meta.get("genre", "C")[0])
        half = m.n_frames // 2
        dance = m.meta.get("dance", "dance")
        clips.append(Clip(f"{dance}:first", m.slice(0, half), genre, "gen"))
        clips.append(Clip(f"{dance}:second", m.slice(half, m.n_frames), genre, "cls"))
    clips, notes = _solve_on_shared_skeleton(clips)
    return BuildResult(clips, ["Cha-cha", "Rumba", "Waltz"], skipped, notes)


def _with_positions(rot: Motion, pos: Motion) -> Motion:
    """A rotation motion that remembers the observed positions it was solved from."""
    rot.meta["observed_positions"] = pos.joint_positions
    return rot


BANDAI_CONTENTS = [
    "walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands", "wave-left-hand",
    "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand",
]


def _build_bandai(source: Path, limit: int | None) -> BuildResult:
    from csgn_core.io.archive import iter_files
    from csgn_core.io.bvh.read import read_bvh

    zpath = source / "dataset-2.zip" if source.is_dir() and (source / "dataset-2.zip").exists() else source
    pattern = "*dataset-2_*.bvh"
    groups: dict[tuple[str, str], list[Path]] = defaultdict(list)
    skipped = []
    rx = re.compile(r"dataset-2_(?P<content>[a-z-]+?)_(?P<style>[a-z]+)_(?P<id>\d+)\.bvh$")
    for path in iter_files(zpath, pattern):
        mt = rx.search(path.name)
        if not mt or mt["content"] not in BANDAI_CONTENTS:
            skipped.append(f"{path}: file name does not match dataset-2_<content>_<style>_<id>.bvh")
            continue
        groups[(mt["content"], mt["style"])].append(path)
    named = load_named("bandai22")
    clips = []
    for (content, style), paths in sorted(groups.items()):
        for i, path in enumerate(sorted(paths)[:limit]):
            try:
                m = read_bvh(path)
            except MotionFileError as e:
                skipped.append(str(e))
                continue
            if not m.skeleton.same_topology(named):
                skipped.append(f"{path}: skeleton differs from bandai22")
                continue
            m = _on_skeleton(m, named)
            m.meta.update(content=content, style=style)
            clips.append(Clip(Path(str(path)).stem, m, BANDAI_CONTENTS.index(content), SPLITS[i % 2]))
    return BuildResult(clips, BANDAI_CONTENTS, skipped)


def _on_skeleton(m: Motion, skeleton: Skeleton) -> Motion:
    """The same rotations on a skeleton of equal topology; the root track absorbs the change of the
    first bone so the body stays where it was (Bandai files differ only in that bone's offset)."""
    from csgn_core.motion import quaternion as Q

    first = [j for j, p in enumerate(skeleton.parents) if p == 0]
    root = m.root.copy()
    if len(first) == 1:
        delta = m.skeleton.offsets[first[0]] - skeleton.offsets[first[0]]
        root += Q.rotate(m.rotations[:, 0], np.broadcast_to(delta, root.shape))
    return Motion(skeleton, m.fps, rotations=m.rotations, root=root, meta=m.meta)


def _build_kinect(source: Path, limit: int | None) -> BuildResult:
    from csgn_core.io.kinect.sets import load_kinect_set
    from csgn_core.io.kinect_cleanup import clean

    clips, skipped = [], []
    msr_names = [ln.split(maxsplit=1)[1].strip() for ln in (source / "msr-action3d" / "action_names.txt")
                 .read_text(encoding="utf-8").splitlines() if re.match(r"a\d\d\s", ln)]
    label_names = [f"msr:{n}" for n in msr_names]
    motions, errors = load_kinect_set(source / "msr-action3d", "msr")
    motions = motions[:limit]
    skipped += errors
    for m in motions:
        action, subject = int(m.meta["action"]), int(m.meta["subject"])
        clips.append(Clip(Path(m.meta.get("source", "msr")).stem, clean(m), action - 1, SPLITS[(subject + 1) % 2]))
    ut_motions, errors = load_kinect_set(source / "utkinect", "utkinect")
    ut_motions = ut_motions[:limit]
    skipped += errors
    ut_labels: list[str] = []
    for m in ut_motions:
        subject = int(m.meta["subject"])
        cleaned = clean(m)
        for seg in m.meta.get("segments", []):  # (action name, first frame, last frame) in frame indices
            action, a, b = seg[0], int(seg[1]), int(seg[2])
            if action not in ut_labels:
                ut_labels.append(action)
            if b - a + 1 < 8:
                skipped.append(f"{m.meta.get('source')}: segment {action} {a}-{b} shorter than 8 frames")
                continue
            clips.append(Clip(f"{Path(m.meta.get('source', 'ut')).stem}:{action}", cleaned.slice(a, b + 1),
                              len(msr_names) + ut_labels.index(action), SPLITS[(subject + 1) % 2]))
    clips, notes = _solve_on_shared_skeleton(clips)
    return BuildResult(clips, label_names + [f"utkinect:{n}" for n in ut_labels], skipped, notes)


def _solve_on_shared_skeleton(clips: list[Clip]) -> tuple[list[Clip], dict]:
    """Position clips to rotations on one rest pose fitted to all of them (a model has one skeleton)."""
    from csgn_core.motion.solve import fit_rest_pose, positions_to_rotations, solve_report

    if not clips:
        return clips, {}
    shared = fit_rest_pose(clips[0].motion.skeleton, np.concatenate([c.motion.positions for c in clips]))
    out, fit = [], []
    for c in clips:
        solved = positions_to_rotations(c.motion, shared, fit_rest=False)
        report = solve_report(c.motion, solved)
        fit.append((report["rms_cm"], report["mean_dir_err_deg"]))
        out.append(Clip(c.name, _with_positions(solved, c.motion), c.label, c.split))
    rms, deg = np.array(fit).T
    return out, {"solve_rms_cm_mean": round(float(rms.mean()), 3), "solve_rms_cm_max": round(float(rms.max()), 3),
                 "solve_dir_err_deg_mean": round(float(deg.mean()), 3),
                 "solve_dir_err_deg_max": round(float(deg.max()), 3)}


DATASETS: dict[str, DatasetSpec] = {
    "tang-dance": DatasetSpec("tang-dance", "Tang et al. 2018 ballroom dances, 23 joints, 25 fps",
                              lambda: data_root() / "tang2018-dance" / "dances.zip", 64, 8, _build_tang),
    "bandai-actions": DatasetSpec("bandai-actions", "Bandai-Namco dataset-2 actions, 22 joints, 30 fps",
                                  lambda: data_root() / "bandai-namco", 64, 16, _build_bandai),
    "kinect-actions": DatasetSpec("kinect-actions", "MSR Action3D + UTKinect, cleaned, 20 joints, 15 fps",
                                  lambda: data_root(), 32, 4, _build_kinect),
}


# --- the built dataset -----------------------------------------------------------------------------
@dataclass
class Dataset:
    """A built dataset: clips end to end plus the window index. Arrays are float32."""

    name: str
    skeleton: Skeleton
    fps: float
    window: int
    positions: np.ndarray  # (N, J, 3) global positions, cm, all clips end to end
    rotations: np.ndarray | None  # (N, J, 4) local quaternions, or None for position-only sets
    root: np.ndarray | None  # (N, 3) root positions of the rotation motion
    clip_start: np.ndarray  # (n_clips + 1,) frame offsets of the clips in the arrays above
    clip_names: list[str]
    clip_labels: np.ndarray  # (n_clips,)
    clip_split: np.ndarray  # (n_clips,) index into SPLITS
    windows: np.ndarray  # (W, 2) clip index, first frame within the clip
    window_valid: np.ndarray  # (W,) real frames in each window (< window where the clip was padded)
    label_names: list[str]
    stats: dict[str, np.ndarray]
    meta: dict

    def window_indices(self, split: str) -> np.ndarray:
        s = SPLITS.index(split)
        return np.nonzero(self.clip_split[self.windows[:, 0]] == s)[0]

    def frames(self, w: int) -> np.ndarray:
        """(window,) global frame indices of window w, holding the clip's last frame where it is short."""
        c, start = self.windows[w]
        a, b = self.clip_start[c], self.clip_start[c + 1]
        return np.minimum(a + start + np.arange(self.window), b - 1)

    def clip(self, c: int) -> Motion:
        a, b = self.clip_start[c], self.clip_start[c + 1]
        if self.rotations is not None:
            return Motion(self.skeleton, self.fps, rotations=self.rotations[a:b], root=self.root[a:b])
        return Motion(self.skeleton, self.fps, joint_positions=self.positions[a:b])

    # --- files --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        arrays = {
            "format": np.array(FORMAT), "version": np.array(VERSION), "name": np.array(self.name),
            "skeleton": np.array(self.skeleton.to_json()), "fps": np.array(self.fps),
            "window": np.array(self.window), "positions": self.positions, "clip_start": self.clip_start,
            "clip_names": np.array(self.clip_names), "clip_labels": self.clip_labels,
            "clip_split": self.clip_split, "windows": self.windows, "window_valid": self.window_valid,
            "label_names": np.array(self.label_names), "meta": np.array(json.dumps(self.meta)),
        }
        if self.rotations is not None:
            arrays["rotations"], arrays["root"] = self.rotations, self.root
        arrays.update({f"stats_{k}": v for k, v in self.stats.items()})
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return write_bytes_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "Dataset":
        path = Path(path)
        if not path.is_file():
            raise CSGNError(f"{path}: no built dataset here (run `csgn data build NAME --out {path.parent}`)")
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != FORMAT:
                    raise CSGNError(f"{path}: not a CSGN dataset file")
                if int(z["version"]) != VERSION:
                    raise CSGNError(f"{path}: dataset format version {int(z['version'])}, expected {VERSION}; rebuild it")
                return cls(
                    name=str(z["name"]), skeleton=Skeleton.from_json(str(z["skeleton"])), fps=float(z["fps"]),
                    window=int(z["window"]), positions=z["positions"],
                    rotations=z["rotations"] if "rotations" in z else None, root=z["root"] if "root" in z else None,
                    clip_start=z["clip_start"], clip_names=[str(s) for s in z["clip_names"]],
                    clip_labels=z["clip_labels"], clip_split=z["clip_split"], windows=z["windows"],
                    window_valid=z["window_valid"], label_names=[str(s) for s in z["label_names"]],
                    stats={k[6:]: z[k] for k in z.files if k.startswith("stats_")}, meta=json.loads(str(z["meta"])),
                )
        except (KeyError, ValueError, OSError) as e:
            raise CSGNError(f"{path}: not a readable CSGN dataset ({e})") from None


def default_cache_path(name: str) -> Path:
    return cache_root() / "datasets" / f"{name}.npz"


def build_dataset(name: str, source: str | Path | None = None, *, window: int | None = None,
                  stride: int | None = None, limit: int | None = None,
                  progress: Callable[[str], None] | None = None) -> Dataset:
    """Read the source, split clips, index windows and compute statistics.

    ``limit`` caps the files read (per (content, style) group for bandai-actions), for quick trials and tests.
    """
    if name not in DATASETS:
        raise CSGNError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    spec = DATASETS[name]
    src = Path(source) if source is not None else spec.source()
    if not src.exists():
        raise CSGNError(f"{src}: data source for {name} not found (pass --source or set CSGN_DATA)")
    window, stride = window or spec.window, stride or spec.stride
    result = spec.build(src, limit)
    if not result.clips:
        raise CSGNError(f"{src}: no usable clips for {name}" + (f"; first problem: {result.skipped[0]}" if result.skipped else ""))
    if progress:
        progress(f"{len(result.clips)} clips, {len(result.skipped)} skipped")
    return _assemble(name, spec, src, result, window, stride)


def _assemble(name: str, spec: DatasetSpec, src: Path, result: BuildResult, window: int, stride: int) -> Dataset:
    first = result.clips[0].motion
    skeleton, fps = first.skeleton, first.fps
    for c in result.clips:
        if not c.motion.skeleton.same_topology(skeleton) or abs(c.motion.fps - fps) > 1e-6:
            raise CSGNError(f"{c.name}: skeleton or frame rate differs from the rest of {name}")
    has_rot = first.has_rotations
    pos = [c.motion.meta.get("observed_positions", c.motion.positions).astype(np.float32) for c in result.clips]
    lengths = np.array([len(p) for p in pos])
    clip_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    windows, valid = [], []
    for ci, n in enumerate(lengths):
        starts = list(range(0, max(n - window, 0) + 1, stride))
        if n > window and starts[-1] != n - window:
            starts.append(n - window)  # cover the clip's end as well
        windows += [(ci, s) for s in starts]
        valid += [min(window, n - s) for s in starts]
    positions = np.concatenate(pos)
    rotations = root = None
    if has_rot:
        rotations = np.concatenate([c.motion.rotations for c in result.clips]).astype(np.float32)
        root = np.concatenate([c.motion.root for c in result.clips]).astype(np.float32)
    ds = Dataset(
        name=name, skeleton=skeleton, fps=fps, window=window, positions=positions, rotations=rotations, root=root,
        clip_start=clip_start, clip_names=[c.name for c in result.clips],
        clip_labels=np.array([c.label for c in result.clips], dtype=np.int64),
        clip_split=np.array([SPLITS.index(c.split) for c in result.clips], dtype=np.int8),
        windows=np.array(windows, dtype=np.int64).reshape(-1, 2), window_valid=np.array(valid, dtype=np.int32),
        label_names=result.label_names, stats={},
        meta={"description": spec.description, "source": str(src), "stride": stride, "skipped": result.skipped,
              "splits": list(SPLITS), **result.notes},
    )
    ds.stats = compute_stats(ds)
    return ds


def compute_stats(ds: Dataset) -> dict[str, np.ndarray]:
    """Normalisation statistics over the generator split: root-relative positions, rotations, root velocity."""
    gen = np.zeros(len(ds.positions), dtype=bool)
    for c in np.nonzero(ds.clip_split == SPLITS.index("gen"))[0]:
        gen[ds.clip_start[c]:ds.clip_start[c + 1]] = True
    rel = ds.positions[gen] - ds.positions[gen][:, :1]  # (N, J, 3)
    stats = {"pos_mean": rel.mean(0), "pos_std": rel.std(0) + 1e-3}
    vel = np.diff(ds.positions[:, 0], axis=0, prepend=ds.positions[:1, 0])  # (N, 3) root velocity, cm/frame
    vel[ds.clip_start[:-1]] = 0.0
    stats["root_vel_mean"], stats["root_vel_std"] = vel[gen].mean(0), vel[gen].std(0) + 1e-3
    if ds.rotations is not None:
        stats["rot_mean"], stats["rot_std"] = ds.rotations[gen].mean(0), ds.rotations[gen].std(0) + 1e-3
    return {k: v.astype(np.float32) for k, v in stats.items()}


def summary(ds: Dataset) -> dict:
    out = {"name": ds.name, "skeleton": ds.skeleton.name, "joints": ds.skeleton.n_joints, "fps": ds.fps,
           "window": ds.window, "clips": len(ds.clip_names), "frames": int(len(ds.positions)),
           "minutes": round(len(ds.positions) / ds.fps / 60, 2), "labels": len(ds.label_names),
           "skipped": len(ds.meta.get("skipped", []))}
    for s in SPLITS:
        idx = ds.window_indices(s)
        out[f"windows_{s}"] = int(len(idx))
        out[f"padded_{s}"] = int(np.sum(ds.window_valid[idx] < ds.window))
    out.update({k: v for k, v in ds.meta.items() if k.startswith("solve_")})
    return out
