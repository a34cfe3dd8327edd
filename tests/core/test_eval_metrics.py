"""FID / IS metrics, the bundled action classifiers, and `csgn eval fid` end to end."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from csgn_core.evaluation.metrics import (
    Gaussian,
    fid,
    fid_ensemble,
    fid_short,
    fid_time,
    frechet_distance,
    inception_score,
    is_ensemble,
    is_short,
    is_time,
)
from tests.conftest import require_data


# --- metrics on constructed cases ---------------------------------------------------------------------
def test_frechet_distance_matches_closed_forms():
    D = 4
    ref = Gaussian(np.zeros(D), np.eye(D), 10**6)
    # Diagonal Gaussians: |mu1 - mu2|^2 + sum (sqrt s1 - sqrt s2)^2 = 4 * 1 + 4 * (2 - 1)^2.
    assert frechet_distance(np.ones(D), 4 * np.eye(D), ref) == pytest.approx(8.0, abs=1e-9)
    assert frechet_distance(np.zeros(D), np.eye(D), ref) == pytest.approx(0.0, abs=1e-9)
    # Non-commuting covariances: against the textbook formula with scipy's sqrtm.
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(D, D)), rng.normal(size=(D, D))
    s1, s2 = a @ a.T + 0.1 * np.eye(D), b @ b.T + 0.1 * np.eye(D)
    mu1, mu2 = rng.normal(size=D), rng.normal(size=D)
    want = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(sqrtm(s1 @ s2)))
    assert frechet_distance(mu1, s1, Gaussian(mu2, s2, 0)) == pytest.approx(want, rel=1e-7)
    # Samples from the reference itself score near zero; a shifted set does not.
    x = rng.normal(size=(20000, D))
    assert fid(x, ref) < 0.01
    assert fid(x + 2.0, ref) == pytest.approx(16.0, abs=0.2)


def test_inception_score_uniform_vs_confident():
    K = 5
    assert inception_score(np.full((40, K), 1.0 / K)) == pytest.approx(1.0)
    confident = np.eye(K)[np.arange(40) % K]
    assert inception_score(confident) == pytest.approx(K, rel=1e-6)
    assert inception_score(np.eye(K)[np.zeros(40, int)]) == pytest.approx(1.0)  # confident but all the same
    soft = 0.8 * confident + 0.2 / K
    assert 1.0 < inception_score(soft) < K


def test_ensemble_and_time_variants_on_constructed_sequences():
    D, N, M, K = 3, 30, 6, 3
    ref = Gaussian(np.zeros(D), np.eye(D), 10**6)
    rng = np.random.default_rng(1)
    # Every sequence stands still on its own value x_n: each time set has zero covariance, so its
    # FID is |x_n|^2 + tr(I); every ensemble set is the same {x_n}.
    x = rng.normal(size=(N, D))
    still = np.repeat(x[:, None], M, axis=1)  # (N, M, D)
    assert fid_time(still, ref) == pytest.approx(np.mean(np.sum(x ** 2, 1)) + D, rel=1e-9)
    assert fid_ensemble(still, ref) == pytest.approx(fid(x, ref), rel=1e-9)
    assert fid_short(still, ref) == pytest.approx(fid(x, ref), rel=1e-9)
    # The transpose: all sequences identical, varying in time.
    y = rng.normal(size=(M, D))
    same = np.repeat(y[None], N, axis=0)
    assert fid_ensemble(same, ref) == pytest.approx(np.mean(np.sum(y ** 2, 1)) + D, rel=1e-9)
    assert fid_time(same, ref) == pytest.approx(fid(y, ref), rel=1e-9)
    # IS: sequence n always says label n % K: one label per sequence (time 1), all labels across (ensemble K).
    probs = np.repeat(np.eye(K)[np.arange(N) % K][:, None], M, axis=1)
    assert is_time(probs) == pytest.approx(1.0)
    assert is_ensemble(probs) == pytest.approx(K)
    assert is_short(probs) == pytest.approx(K)
    assert is_time(probs.transpose(1, 0, 2)) == pytest.approx(K)


# --- the classifiers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,skeleton,classes", [("dance", "tang23", 3), ("actions", "bandai22", 10),
                                                   ("kinect", "kinect20", 30)])
def test_bundled_classifiers_load(name, skeleton, classes, one_torch_thread):
    from csgn_core.evaluation.classifier import load_classifier
    from csgn_core.motion.skeleton import load_named

    clf = load_classifier(name)
    assert clf.meta["format"] == "csgn-classifier" and clf.skeleton.same_topology(load_named(skeleton))
    assert len(clf.labels) == classes and clf.meta["accuracy"]["top1"] > clf.meta["accuracy"]["chance_top1"]
    rng = np.random.default_rng(0)
    rest = clf.skeleton.rest_positions()
    snips = rest[None, None] + rng.normal(scale=2.0, size=(4, 32) + rest.shape)
    f, p = clf.score(snips)
    assert f.shape == (4, clf.feature_dim) and p.shape == (4, classes)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    # The input ignores where the body stands and which way it faces.
    turn = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float)  # a quarter turn about y
    f2, _ = clf.score(snips @ turn.T + np.array([300.0, 0.0, -150.0]))
    np.testing.assert_allclose(f2, f, atol=1e-3)


def test_actions_classifier_beats_chance_on_held_out_clips(one_torch_thread):
    from csgn_core.evaluation.classifier import load_classifier
    from csgn_core.io.bvh.read import read_bvh

    zpath = require_data("bandai-namco", "dataset-2.zip")
    clf = load_classifier("actions")
    held = clf.meta["heldout_clips"]
    picked = {}
    for name in held:  # two held-out clips per label, never seen in training
        content = name.split("_")[1]
        if len(picked.setdefault(content, [])) < 2:
            picked[content].append(name)
    hits = total = 0
    for content, names in picked.items():
        for name in names:
            m = read_bvh(zpath / "dataset-2" / "data" / f"{name}.bvh")
            snips = clf.motion_snippets(m)
            _, p = clf.score(snips)
            hits += int(np.sum(p.argmax(1) == clf.labels.index(content)))
            total += len(p)
    assert total >= 20
    assert hits / total > 3 * (1.0 / len(clf.labels)), f"top-1 {hits / total:.2f} on held-out snippets"


# --- real data through the sources ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_dance(tang_subset):
    """Three dances (both halves), built from the real data once for the session."""
    return tang_subset(3)


def test_fid_of_real_draws_is_small_against_frozen_and_shuffled(small_dance, one_torch_thread):
    from csgn_core.evaluation.classifier import load_classifier
    from csgn_core.evaluation.fid import reference_stats, score_source
    from csgn_core.evaluation.generators import FrozenSource, RealSource, ShuffledSource

    ds, _ = small_dance
    clf = load_classifier("dance")
    ref, info = reference_stats(clf, ds, "cls")
    assert info["snippets"] > 100
    # Three dances only: their two halves differ more than the 45 dances' (docs/evaluation.md gives
    # the two-split numbers on the whole set), so the real rows here draw from the reference's split.
    real = RealSource(ds, "cls")
    rows = {s.name.split()[0]: score_source(s, clf, ref, n=32, m=4, seed=3)
            for s in (real, FrozenSource(real), ShuffledSource(real))}
    for key in ("fid_short", "fid_ensemble", "fid_all"):
        assert rows["frozen"][key] > 2 * rows["real"][key], (key, rows)
        assert rows["shuffled"][key] > 10 * rows["real"][key], (key, rows)
    assert rows["shuffled"]["fid_time"] > 10 * rows["real"]["fid_time"]
    # A real sequence is whole snippets of real clips: the same seed gives the same motion.
    a, b = real.sample(5.12, 7), real.sample(5.12, 7)
    np.testing.assert_array_equal(a.rotations, b.rotations)
    assert a.n_frames == 128


def test_cli_eval_fid_end_to_end(small_dance, capsys, one_torch_thread):
    from csgn_core.cli.eval_fid import eval_fid_main

    _, path = small_dance
    rc = eval_fid_main(["--model", "dance", "--baseline", "dance", "--data", str(path), "--n", "3", "--m", "2",
                        "--sanity", "--json", "--ref-snippets", "200"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["dataset"] == "tang-dance" and res["n"] == 3 and res["m"] == 2
    assert [r["source"].split()[0] for r in res["rows"]] == ["dance", "dance", "real", "frozen", "shuffled"]
    for r in res["rows"]:
        assert r["fid_ensemble"] > 0 and r["is_time"] >= 1.0 - 1e-6
    assert res["rows"][0]["fid_short"] == res["rows"][1]["fid_short"]  # same seeds, same model, same numbers
    rc = eval_fid_main(["--model", "dance", "--data", str(path), "--n", "2", "--m", "2", "--ref-snippets", "100"])
    assert rc == 0 and "| dance |" in capsys.readouterr().out


def test_load_generator_dispatches_on_format(tmp_path, monkeypatch):
    from csgn_core.errors import CSGNError
    from csgn_core.evaluation.generators import ACLSTMGenerator, CSGNGenerator, load_generator, model_dataset
    from csgn_core.motion.clip import Motion
    from csgn_core.motion.skeleton import load_named

    sk = load_named("kinect20")
    fake = types.SimpleNamespace(fps=15.0, skeleton=sk)
    mod = types.ModuleType("csgn_core.model.baseline.aclstm")
    mod.load_aclstm = lambda folder, device="cpu": fake
    mod.generate_aclstm = lambda model, seconds, seed: Motion(sk, 15.0, rotations=np.tile([1.0, 0, 0, 0], (int(seconds * 15), 20, 1)))
    monkeypatch.setitem(sys.modules, "csgn_core.model.baseline.aclstm", mod)
    (tmp_path / "config.json").write_text(json.dumps({"format": "csgn-aclstm", "skeleton": {"name": "kinect20"}}))
    g = load_generator(tmp_path)
    assert isinstance(g, ACLSTMGenerator) and g.fps == 15.0 and g.sample(2.0, 0).n_frames == 30
    assert model_dataset(tmp_path) == "kinect-actions"
    (tmp_path / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CSGNError, match="unknown model format"):
        load_generator(tmp_path)
    assert isinstance(load_generator("dance"), CSGNGenerator)
    assert model_dataset(load_generator("dance").folder) == "tang-dance"
