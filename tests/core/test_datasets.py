"""Datasets built from the real data (small --limit builds, so the suite stays fast)."""
import json

import numpy as np
import pytest

from csgn_core.cli import main
from csgn_core.errors import CSGNError
from csgn_core.io.datasets import SPLITS, Dataset, build_dataset

from ..conftest import require_data


def _check_windows(ds: Dataset):
    assert ds.windows.shape[1] == 2 and len(ds.windows) == len(ds.window_valid)
    for w in range(len(ds.windows)):
        c = ds.windows[w, 0]
        f = ds.frames(w)
        assert f.shape == (ds.window,)
        # every frame of a window lies inside its own clip: no window straddles clips or splits
        assert ds.clip_start[c] <= f.min() and f.max() < ds.clip_start[c + 1]
    for s in SPLITS:
        assert len(ds.window_indices(s)) > 0, s


@pytest.fixture(scope="module")
def tang(tang_subset):
    return tang_subset(2)[0]


def test_tang_halves_and_rotations(tang, tmp_path):
    ds = tang
    assert ds.skeleton.name == "tang23" and ds.fps == 25 and ds.window == 64
    assert ds.clip_names[0].endswith(":first") and ds.clip_names[1].endswith(":second")
    assert list(ds.clip_split[:2]) == [SPLITS.index("gen"), SPLITS.index("cls")]
    _check_windows(ds)
    # the solved rotations on the shared skeleton come back close to the observed positions
    fk = ds.clip(0).positions
    obs = ds.positions[ds.clip_start[0]:ds.clip_start[1]]
    rms = np.sqrt(np.mean(np.sum((fk - obs) ** 2, -1)))
    assert rms < 6.0, rms
    assert ds.meta["solve_rms_cm_max"] < 6.0
    assert ds.stats["pos_std"].shape == (23, 3) and np.all(ds.stats["pos_std"] > 0)
    ds.save(tmp_path / "t.npz")
    back = Dataset.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.windows, ds.windows)
    np.testing.assert_array_equal(back.rotations, ds.rotations)
    assert back.skeleton.same_topology(ds.skeleton) and back.label_names == ds.label_names


def test_bandai_split_by_clip():
    require_data("bandai-namco", "dataset-2.zip")
    ds = build_dataset("bandai-actions", limit=2)
    assert ds.skeleton.name == "bandai22" and ds.fps == 30 and len(ds.label_names) == 10
    _check_windows(ds)
    # each (content, style) group gives its first clip to the generator and its second to the classifier
    assert set(np.unique(ds.clip_labels)) == set(range(10))
    assert abs(np.mean(ds.clip_split) - 0.5) < 0.05


def test_kinect_cleaned_and_labelled():
    require_data("msr-action3d")
    require_data("utkinect")
    ds = build_dataset("kinect-actions", limit=60)
    assert ds.skeleton.name == "kinect20" and ds.window == 32 and ds.rotations is not None
    assert len(ds.label_names) == 30
    _check_windows(ds)
    short = ds.window_valid < ds.window
    assert short.any()  # MSR clips shorter than a window are padded, and say so
    w = int(np.nonzero(short)[0][0])
    f = ds.frames(w)
    assert np.all(f[ds.window_valid[w]:] == f[ds.window_valid[w] - 1])


def test_cli_data_build(tmp_path, capsys):
    require_data("tang2018-dance", "dances.zip")
    assert main(["data", "build", "tang-dance", "--limit", "1", "--out", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["clips"] == 2 and (tmp_path / "tang-dance.npz").is_file()
    assert main(["data", "build", "tang-dance", "--source", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_load_errors(tmp_path):
    with pytest.raises(CSGNError, match="no built dataset"):
        Dataset.load(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(CSGNError):
        Dataset.load(tmp_path / "bad.npz")
