"""``csgn eval fid``: the paper's FID / IS table (short, mean ensemble, mean time) for trained models.

Reference: the classifier's features of real snippets of the dataset's ``cls`` split, the split the
generators never saw (each dance's second half; every other Bandai clip; the even Kinect subjects).
Each source draws N sequences of M x 32 frames (seeds ``seed .. seed + N - 1``; CSGN in one
generator pass per sequence), cut into M consecutive snippets, scored by the classifier
(``metrics.sequence_scores``). ``--sanity`` adds rows that bound the scale: real sequences from the
``gen`` split (two real splits: the floor for this N and M), one real pose held still (frozen), and
real frames in random order (shuffled).
"""
from __future__ import annotations

import math
import time

import numpy as np

from csgn_core.errors import CSGNError
from csgn_core.evaluation.metrics import Gaussian, sequence_scores

COLUMNS = (("fid_short", "FID short"), ("fid_ensemble", "FID ens."), ("fid_time", "FID time"),
           ("is_short", "IS short"), ("is_ensemble", "IS ens."), ("is_time", "IS time"))


def reference_stats(clf, ds, split: str = "cls", max_snippets: int = 4000, stride: int = 8,
                    seed: int = 0) -> tuple[Gaussian, dict]:
    """Gaussian of the classifier's features over real snippets of one split (a grid at ``stride``
    frames over every clip, randomly thinned to ``max_snippets``)."""
    from csgn_core.evaluation.classifier import split_pool

    t0 = time.perf_counter()
    pool = split_pool(ds, split)
    T = clf.cfg.snippet
    keys = [(c, s) for c in range(len(pool.clips)) for s in pool.starts(c, T, stride)]
    if len(keys) > max_snippets:
        pick = np.random.default_rng(seed).choice(len(keys), max_snippets, replace=False)
        keys = [keys[i] for i in sorted(pick)]
    snips = np.stack([pool.snippet(c, s, T) for c, s in keys])
    clf.check(ds.skeleton)
    feats, probs = clf.score(snips, ds.fps)
    info = {"split": split, "snippets": len(keys), "clips": len(pool.clips), "stride": stride,
            "seconds": round(time.perf_counter() - t0, 2),
            "real_is": float(np.exp(np.mean(np.sum(probs * (np.log(probs + 1e-12) - np.log(probs.mean(0) + 1e-12)), 1))))}
    return Gaussian.fit(feats), info


def source_features(source, clf, n: int, m: int, seed: int = 0, progress=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(feats (N, M, D), probs (N, M, K), timing) of N sequences of M snippets from one source."""
    clf.check(source.skeleton)
    T = clf.cfg.snippet
    # Enough frames at the source's rate for m snippets at the classifier's rate.
    seconds = (m * T + 1) / clf.fps if abs(source.fps - clf.fps) > 1e-6 else m * T / source.fps
    gen_s = score_s = 0.0
    feats, probs, chunk = [], [], []

    def flush():
        nonlocal score_s
        if chunk:
            t = time.perf_counter()
            f, p = clf.score(np.concatenate(chunk))
            feats.append(f.reshape(len(chunk), m, -1))
            probs.append(p.reshape(len(chunk), m, -1))
            chunk.clear()
            score_s += time.perf_counter() - t

    for i in range(n):
        t = time.perf_counter()
        motion = source.sample(seconds, seed + i)
        chunk.append(clf.motion_snippets(motion, m))
        gen_s += time.perf_counter() - t
        if len(chunk) * m >= 2048:
            flush()
        if progress is not None:
            progress(f"{source.name}: {i + 1}/{n}")
    flush()
    return (np.concatenate(feats), np.concatenate(probs),
            {"generate_seconds": round(gen_s, 2), "score_seconds": round(score_s, 2),
             "sequence_seconds": round(seconds, 3)})


def score_source(source, clf, ref: Gaussian, n: int, m: int, seed: int = 0, progress=None) -> dict:
    t0 = time.perf_counter()
    feats, probs, timing = source_features(source, clf, n, m, seed, progress)
    row = {"source": source.name, "n": n, "m": m, **sequence_scores(feats, probs, ref), **timing}
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def evaluate(model: str | None, baselines=(), data: str | None = None, classifier: str | None = None,
             n: int = 200, m: int = 20, seed: int = 0, sanity: bool = False, ref_snippets: int = 4000,
             progress=None) -> dict:
    """Score a model, its baselines and (``sanity``) the real/frozen/shuffled rows against one reference."""
    from csgn_core.evaluation.classifier import DATASET_CLASSIFIER, load_classifier, resolve_dataset
    from csgn_core.evaluation.generators import FrozenSource, RealSource, ShuffledSource, load_generator, model_dataset

    if n < 1 or m < 1:
        raise CSGNError("--n and --m must be at least 1")
    sources = [load_generator(s) for s in ([model] if model else []) + list(baselines or [])]
    if data is None:
        for src in sources:
            data = model_dataset(src.folder)
            if data:
                break
    if data is None:
        raise CSGNError("cannot tell which dataset the model was trained on: pass --data NAME_OR_NPZ")
    ds = resolve_dataset(data)
    if classifier is None:
        if ds.name not in DATASET_CLASSIFIER:
            raise CSGNError(f"no bundled classifier for dataset {ds.name!r}: pass --classifier DIR")
        classifier = DATASET_CLASSIFIER[ds.name]
    clf = load_classifier(classifier)
    clf.check(ds.skeleton)
    for src in sources:
        clf.check(src.skeleton)
    ref, ref_info = reference_stats(clf, ds, "cls", ref_snippets, seed=seed)
    if sanity:
        real = RealSource(ds, "gen", clf.cfg.snippet)
        sources += [real, FrozenSource(real), ShuffledSource(real)]
    if not sources:
        raise CSGNError("nothing to score: give --model (and --baseline), or --sanity")
    rows = [score_source(s, clf, ref, n, m, seed, progress) for s in sources]
    acc = clf.meta.get("accuracy", {})
    return {"dataset": ds.name, "fps": ds.fps, "classifier": str(classifier),
            "classifier_top1": acc.get("top1"), "classifier_top5": acc.get("top5"),
            "reference": ref_info, "n": n, "m": m, "snippet_frames": clf.cfg.snippet, "seed": seed, "rows": rows}


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def format_table(res: dict) -> str:
    head = "| source | " + " | ".join(t for _, t in COLUMNS) + " | seconds |"
    lines = [head, "|---|" + "---:|" * (len(COLUMNS) + 1)]
    for r in res["rows"]:
        lines.append(f"| {r['source']} | " + " | ".join(_fmt(r[k]) for k, _ in COLUMNS) + f" | {r['seconds']:.1f} |")
    ref = res["reference"]
    lines.append("")
    lines.append(f"{res['dataset']}: N = {res['n']} sequences x M = {res['m']} snippets of {res['snippet_frames']} frames "
                 f"at {res['fps']:g} fps; reference: {ref['snippets']} real snippets of the {ref['split']} split "
                 f"(their IS {ref['real_is']:.2f}); classifier `{res['classifier']}` (held-out top-1 "
                 f"{_fmt(res['classifier_top1'])}, top-5 {_fmt(res['classifier_top5'])}); seed {res['seed']}.")
    return "\n".join(lines)
