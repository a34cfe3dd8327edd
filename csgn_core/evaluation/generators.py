"""Motion sources to score: trained generators, real data, and the sanity-check controls.

Every source has ``.name``, ``.fps``, ``.skeleton`` and ``.sample(seconds, seed) -> Motion``; the
same seed gives the same motion.

- ``load_generator(spec)``: a bundled model name (``dance``, ``actions``: ``resources/models/NAME``)
  or a folder, dispatched on its ``config.json`` ``format``: ``csgn-model`` / ``csgn-checkpoint``
  are CSGN (one generator pass for the whole length, ``csgn_core.model.inference.generate``), and
  ``csgn-aclstm`` (or a checkpoint of ``kind`` ``csgn-aclstm``) the acLSTM baseline
  (``csgn_core.model.baseline.aclstm``, frame by frame).
- ``RealSource``: real motion from one split of a built dataset. A clip rarely lasts a whole
  evaluation sequence (M snippets of 32 frames), so a real sequence is a chain of excerpts from
  random clips, each a whole number of snippets long and starting on the snippet grid, so no
  snippet straddles two clips: per snippet it is real data, and within a sequence it is as
  continuous as the clips allow (whole dance halves run for 7-15 s).
- ``FrozenSource``: one real pose (a random frame of a real sequence) held for the whole length.
- ``ShuffledSource``: a real sequence with its frames in random order (every pose real, no motion).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.motion.clip import Motion

ACLSTM_FORMAT = "csgn-aclstm"


def model_folder(spec: str | Path) -> Path:
    """A bundled model name or a folder."""
    from csgn_core.paths import model_location

    p = model_location(spec)
    if not p.is_dir():
        raise CSGNError(f"{p}: not a model folder")
    return p


def _config_path(folder: Path) -> Path:
    """config.json of a model folder, a run's ``model/``, or a run's newest checkpoint."""
    if (folder / "config.json").is_file():
        return folder / "config.json"
    if (folder / "model" / "config.json").is_file():
        return folder / "model" / "config.json"
    ck = folder / "checkpoints" if (folder / "checkpoints").is_dir() else folder
    latest = ck / "latest"
    if latest.is_file():
        p = ck / latest.read_text(encoding="utf-8").strip() / "config.json"
        if p.is_file():
            return p
    raise CSGNError(f"{folder}: no config.json here (not a model folder)")


def read_model_config(folder: Path) -> dict:
    path = _config_path(folder)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CSGNError(f"{path}: unreadable model config ({e})") from None


class _ModelSource:
    def __init__(self, model, name: str, folder: Path):
        self.model, self.name, self.folder = model, name, folder
        self.fps, self.skeleton = model.fps, model.skeleton


class CSGNGenerator(_ModelSource):
    def sample(self, seconds: float, seed: int) -> Motion:
        from csgn_core.model.inference import generate

        return generate(self.model, seconds, seed)


class ACLSTMGenerator(_ModelSource):
    def sample(self, seconds: float, seed: int) -> Motion:
        from csgn_core.model.baseline.aclstm import generate_aclstm

        return generate_aclstm(self.model, seconds, seed)


def load_generator(spec: str | Path, device: str = "cpu"):
    """A generator object for a bundled model name or a model/run folder (see the module doc)."""
    folder = model_folder(spec)
    doc = read_model_config(folder)
    fmt = doc.get("format")
    name = Path(str(spec)).name or str(spec)
    if name == "model" and folder.parent.name:  # a run's model/ folder: name it after the run
        name = folder.parent.name
    if fmt == ACLSTM_FORMAT or (fmt == "csgn-checkpoint" and doc.get("kind") == ACLSTM_FORMAT):
        from csgn_core.model.baseline.aclstm import load_aclstm

        return ACLSTMGenerator(load_aclstm(folder, device=device), name, folder)
    if fmt in ("csgn-model", "csgn-checkpoint"):
        from csgn_core.model.inference import load_model

        return CSGNGenerator(load_model(folder, device=device), name, folder)
    raise CSGNError(f"{_config_path(folder)}: unknown model format {fmt!r} (expected csgn-model, csgn-checkpoint or csgn-aclstm)")


# --- which data a model was trained on ----------------------------------------------------------------
SKELETON_DATASET = {"tang23": "tang-dance", "bandai22": "bandai-actions", "kinect20": "kinect-actions"}


def model_dataset(folder: Path) -> str | None:
    """The dataset a model was trained on, from its config (``data``/``dataset``, a checkpoint's
    ``state.data``), its MODEL.md (``csgn data build NAME`` / ``--data NAME``), or its skeleton."""
    from csgn_core.io.datasets import DATASETS

    try:
        doc = read_model_config(folder)
    except CSGNError:
        doc = {}
    for v in (doc.get("dataset"), doc.get("data"), (doc.get("state") or {}).get("data")):
        if isinstance(v, str) and v:
            stem = Path(v).stem
            if stem in DATASETS:
                return stem
    md = folder / "MODEL.md"
    if md.is_file():
        m = re.search(r"(?:csgn data build|--data)\s+([a-z][a-z-]+)", md.read_text(encoding="utf-8"))
        if m and m.group(1) in DATASETS:
            return m.group(1)
    skel = (doc.get("model") or {}).get("skeleton") or doc.get("skeleton") or {}
    name = skel.get("name") if isinstance(skel, dict) else None
    if name in SKELETON_DATASET:
        return SKELETON_DATASET[name]
    return None


# --- real data and controls -------------------------------------------------------------------------------
class RealSource:
    """Real sequences from one split of a built dataset (see the module doc)."""

    def __init__(self, ds, split: str = "gen", snippet: int = 32, name: str | None = None):
        from csgn_core.io.datasets import SPLITS

        if split not in SPLITS:
            raise CSGNError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
        self.ds, self.split, self.snippet = ds, split, snippet
        self.name = name or f"real ({ds.name} {split})"
        self.fps, self.skeleton = ds.fps, ds.skeleton
        self.clips = np.nonzero(ds.clip_split == SPLITS.index(split))[0]
        if not len(self.clips):
            raise CSGNError(f"{ds.name}: no clips in the {split} split")
        # Clips are drawn in proportion to their length, so snippets come in the proportions of the
        # reference statistics (a grid over every clip) rather than one clip, one vote.
        lengths = np.diff(ds.clip_start)[self.clips].astype(float)
        self.weights = lengths / lengths.sum()
        self._cache: dict[int, Motion] = {}

    def _clip(self, c: int) -> Motion:
        if c not in self._cache:
            self._cache[c] = self.ds.clip(int(c))
        return self._cache[c]

    def sample(self, seconds: float, seed: int) -> Motion:
        frames = max(1, int(round(seconds * self.fps)))
        rng = np.random.default_rng([seed, 7919])
        T = self.snippet
        rots, roots, poss, have = [], [], [], 0
        while have < frames:
            c = int(rng.choice(self.clips, p=self.weights))
            clip = self._clip(c)
            n = clip.n_frames
            if n >= T:
                k = n // T  # whole snippets this clip can give
                a = int(rng.integers(0, n - k * T + 1))
                need = -(-(frames - have) // T) * T  # whole snippets still missing
                take = min(k * T, need)
                idx = np.arange(a, a + take)
            else:  # a short clip: one snippet, its last frame held (as the dataset pads windows)
                idx = np.minimum(np.arange(T), n - 1)
            if clip.has_rotations:
                rots.append(clip.rotations[idx])
                roots.append(clip.root[idx])
            else:
                poss.append(clip.positions[idx])
            have += len(idx)
        meta = {"generator": "real", "split": self.split, "seed": seed}
        if rots:
            return Motion(self.skeleton, self.fps, rotations=np.concatenate(rots)[:frames],
                          root=np.concatenate(roots)[:frames], meta=meta)
        return Motion(self.skeleton, self.fps, joint_positions=np.concatenate(poss)[:frames], meta=meta)


class FrozenSource:
    """One real pose held still: every snippet alike, nothing moves."""

    def __init__(self, real: RealSource):
        self.real, self.name = real, "frozen (one real pose held)"
        self.fps, self.skeleton = real.fps, real.skeleton

    def sample(self, seconds: float, seed: int) -> Motion:
        m = self.real.sample(seconds, seed)
        t = int(np.random.default_rng([seed, 104729]).integers(0, m.n_frames))
        idx = np.full(m.n_frames, t)
        meta = {"generator": "frozen", "seed": seed}
        if m.has_rotations:
            return Motion(m.skeleton, m.fps, rotations=m.rotations[idx], root=m.root[idx], meta=meta)
        return Motion(m.skeleton, m.fps, joint_positions=m.positions[idx], meta=meta)


class ShuffledSource:
    """A real sequence with its frames in random order: real poses, no motion."""

    def __init__(self, real: RealSource):
        self.real, self.name = real, "shuffled (real frames, random order)"
        self.fps, self.skeleton = real.fps, real.skeleton

    def sample(self, seconds: float, seed: int) -> Motion:
        m = self.real.sample(seconds, seed)
        idx = np.random.default_rng([seed, 1299709]).permutation(m.n_frames)
        meta = {"generator": "shuffled", "seed": seed}
        if m.has_rotations:
            return Motion(m.skeleton, m.fps, rotations=m.rotations[idx], root=m.root[idx], meta=meta)
        return Motion(m.skeleton, m.fps, joint_positions=m.positions[idx], meta=meta)
