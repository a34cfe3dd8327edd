import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.tang import list_dances, read_tang, source_order, write_tang
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import load_named

from .helpers import random_motion, toy_skeleton

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tang2018-dance"


def _raw_dance(frames: int = 6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    center = rng.normal(scale=50, size=(frames, 3))
    skel = rng.normal(scale=30, size=(frames, 23, 3))
    return {"length": frames, "center": center.tolist(), "skeletons": skel.tolist()}


def _write_dance(folder: Path, doc, config=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "skeletons.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    if config is not None:
        (folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return path


# --- the skeleton --------------------------------------------------------------------------------


def test_tang23_skeleton_definition():
    skel = load_named("tang23")
    assert skel.n_joints == 23 and skel.joints[0] == "waist"
    assert all(p < j for j, p in enumerate(skel.parents) if j)
    order = source_order()
    assert sorted(order.tolist()) == list(range(23))
    d = json.loads((Path(__file__).resolve().parents[2] / "resources" / "skeletons" / "tang23.json").read_text())
    assert d["source_order"] == order.tolist()
    # Rest pose: y up, facing +z, the character's left on +x.
    rest = skel.rest_positions()
    idx = skel.index
    for left, right in skel.lr_pairs:
        assert skel.joints[left].startswith("l_") and skel.joints[right] == "r_" + skel.joints[left][2:]
        assert rest[left, 0] > 0 > rest[right, 0]
    for side in "lr":
        assert rest[idx(f"{side}_toe"), 2] > rest[idx(f"{side}_heel"), 2]  # toes forward
        assert rest[idx(f"{side}_head"), 1] > rest[idx(f"{side}_shoulder"), 1] > 0 > rest[idx(f"{side}_knee"), 1]
        assert skel.parents[idx(f"{side}_knee")] == idx(f"{side}_hip")
    # The T-pose arms run along x.
    for n in ("elbow", "forearm", "wrist", "hand"):
        assert abs(rest[idx(f"l_{n}"), 1] - rest[idx("l_shoulder"), 1]) < 1e-9
    lengths = skel.bone_lengths[1:]
    assert lengths.min() > 3 and lengths.max() < 60


# --- reading and writing -------------------------------------------------------------------------


def test_read_synthetic_dance_and_meta(tmp_path):
    doc = _raw_dance()
    path = _write_dance(tmp_path / "DANCE_R_7", doc, config={"start_position": 3, "end_position": 99})
    m = read_tang(path)
    assert m.skeleton.name == "tang23" and m.fps == 25.0 and m.n_frames == 6
    raw = np.asarray(doc["skeletons"]) + np.asarray(doc["center"])[:, None]
    np.testing.assert_allclose(m.positions, raw[:, source_order()])
    assert m.meta["genre"] == "R" and m.meta["genre_name"] == "rumba" and m.meta["dance"] == "DANCE_R_7"
    assert (m.meta["music_start"], m.meta["music_end"]) == (3, 99)
    # The folder stands for its skeletons.json.
    np.testing.assert_allclose(read_tang(tmp_path / "DANCE_R_7").positions, m.positions)


def test_config_is_optional_and_a_bad_one_does_not_block(tmp_path):
    m = read_tang(_write_dance(tmp_path / "DANCE_W_2", _raw_dance()))
    assert "music_start" not in m.meta and "config_error" not in m.meta
    m = read_tang(_write_dance(tmp_path / "DANCE_W_3", _raw_dance(), config="{oops"))
    assert "not valid JSON" in m.meta["config_error"]
    m = read_tang(_write_dance(tmp_path / "other", _raw_dance()))
    assert "genre" not in m.meta


def test_read_through_zip(tmp_path):
    doc = _raw_dance(frames=4)
    zpath = tmp_path / "dances.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("tang2018-dance/DANCE_C_10/skeletons.json", json.dumps(doc))
        zf.writestr("tang2018-dance/DANCE_C_10/config.json", json.dumps({"start_position": 1, "end_position": 5}))
        zf.writestr("tang2018-dance/DANCE_C_9/skeletons.json", json.dumps(doc))
        zf.writestr("tang2018-dance/README.md", "x")
    found = list_dances(zpath)
    assert [p.parent.name for p in found] == ["DANCE_C_9", "DANCE_C_10"]  # natural order
    m = read_tang(found[1])
    assert m.n_frames == 4 and m.meta["music_end"] == 5
    assert "music_start" not in read_tang(found[0]).meta
    # A folder holding dances.zip is searched inside it.
    assert list_dances(tmp_path) == found


def test_round_trip(tmp_path):
    m = read_tang(_write_dance(tmp_path / "DANCE_C_3", _raw_dance(frames=9), config={"start_position": 2, "end_position": 8}))
    out = write_tang(m, tmp_path / "copy" / "DANCE_C_3" / "skeletons.json", write_config=True)
    back = read_tang(out)
    np.testing.assert_allclose(back.positions, m.positions, atol=1e-4)
    assert back.meta["music_start"] == 2 and back.meta["genre"] == "C"
    doc = json.loads(out.read_text())
    assert doc["length"] == 9 and np.asarray(doc["skeletons"]).shape == (9, 23, 3)
    # center = the root joint, which sits at the origin of the raw points.
    np.testing.assert_allclose(np.asarray(doc["skeletons"])[:, source_order()[0]], 0.0, atol=1e-9)
    assert not list(out.parent.glob("*.tmp"))  # atomic write leaves no temporary file


def test_write_rotation_motion_and_refusals(tmp_path):
    skel = load_named("tang23")
    rot = random_motion(skel, frames=5, fps=25.0)
    back = read_tang(write_tang(rot, tmp_path / "r.json"))
    np.testing.assert_allclose(back.positions, rot.positions, atol=1e-4)
    with pytest.raises(CSGNError, match="tang23"):
        write_tang(random_motion(toy_skeleton(), fps=25.0), tmp_path / "t.json")
    with pytest.raises(CSGNError, match="25 fps"):
        write_tang(random_motion(skel, fps=30.0), tmp_path / "f.json")
    bad = Motion.from_positions(skel, np.full((2, 23, 3), np.nan), 25.0)
    with pytest.raises(CSGNError, match="NaN"):
        write_tang(bad, tmp_path / "n.json")
    assert not (tmp_path / "n.json").exists()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("skeletons"), "missing key 'skeletons'"),
        (lambda d: d.pop("center"), "missing key 'center'"),
        (lambda d: d.update(length=5), "'length' is 5"),
        (lambda d: d.update(center=d["center"][:-1]), "'center' has 5 frames"),
        (lambda d: d["skeletons"][2].pop(), r"'skeletons' must be a rectangular|must be \[T\]\[23\]\[3\]"),
        (lambda d: d.update(skeletons=[[[0.0, 0.0, 0.0]] * 22] * 6), r"must be \[T\]\[23\]\[3\], got 6x22x3"),
        (lambda d: d["skeletons"][4][7].__setitem__(1, float("nan")), "NaN or infinite values \\(first in frame 4\\)"),
        (lambda d: d["center"][1].__setitem__(0, "x"), "rectangular array of numbers"),
        (lambda d: d.update(skeletons=[], center=[], length=0), "must be|no frames"),
    ],
)
def test_validation_errors(tmp_path, mutate, message):
    doc = _raw_dance()
    mutate(doc)
    text = json.dumps(doc)  # NaN is written as the bare token NaN, which json.loads accepts
    path = _write_dance(tmp_path / "DANCE_C_1", text)
    with pytest.raises(MotionFileError, match=message) as info:
        read_tang(path)
    assert str(path) in str(info.value)


def test_not_json_and_missing(tmp_path):
    path = _write_dance(tmp_path / "DANCE_C_1", '{"length": 2,\n "center": [1, 2')
    with pytest.raises(MotionFileError, match="not valid JSON") as info:
        read_tang(path)
    assert info.value.line == 2
    with pytest.raises(MotionFileError, match="expected a JSON object"):
        read_tang(_write_dance(tmp_path / "DANCE_C_2", "[1, 2, 3]"))
    with pytest.raises(MotionFileError, match="no such file"):
        read_tang(tmp_path / "nowhere" / "skeletons.json")
    with pytest.raises(MotionFileError):
        list_dances(tmp_path / "nowhere")


# --- the real data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_path():
    p = DATA / "dances.zip"
    if not p.is_file():
        pytest.skip(f"Tang dance data not found at {p} (../shared/data next to the repository)")
    return p


def test_real_dances(zip_path, tmp_path):
    dances = list_dances(zip_path)
    assert len(dances) >= 10  # 45 at the time of writing; some IDs are withheld
    assert list_dances(zip_path.parent) == dances
    genres = {p.parent.name.split("_")[1] for p in dances}
    assert genres <= {"C", "R", "W", "T"} and len(genres) >= 2
    m = read_tang(dances[0])
    assert m.meta["format"] == "tang" and m.meta["genre"] in genres
    assert 0 <= m.meta["music_start"] < m.meta["music_end"]
    skel = m.skeleton
    p = m.positions
    # Anatomy holds in the data: head above shoulders above hips above knees above toes.
    h = lambda n: p[:, skel.index(n), 1].mean()  # noqa: E731
    for side in "lr":
        assert h(f"{side}_head") > h(f"{side}_shoulder") > h(f"{side}_hip") > h(f"{side}_knee") > h(f"{side}_toe")
    # The skeleton's rest lengths are the data's mean lengths (within the spread between dances).
    ratio = m.bone_lengths().mean(0) / skel.bone_lengths[[c for _, c in skel.bones]]
    assert np.all((ratio > 0.8) & (ratio < 1.2))
    # Round trip through write_tang.
    out = write_tang(m, tmp_path / "DANCE_X_1" / "skeletons.json")
    np.testing.assert_allclose(read_tang(out).positions, p, atol=1e-4)
