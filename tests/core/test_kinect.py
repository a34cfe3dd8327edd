"""Kinect sets: the kinect20 skeleton, MSR Action3D and UTKinect loaders, and the paper's clean-up."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.kinect.common import (
    FPS,
    KinectParameterError,
    column_order,
    kinect_skeleton,
    project_to_sensor,
    sensor_to_project,
)
from csgn_core.io.kinect.msr import read_msr
from csgn_core.io.kinect.sets import load_kinect_set
from csgn_core.io.kinect.utkinect import read_utkinect, read_utkinect_labels, split_utkinect
from csgn_core.io.kinect_cleanup import CleanupParams, CleanupParamsError, bone_length_cv, clean, jitter
from csgn_core.motion.skeleton import load_named

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MSR_DIR = DATA / "msr-action3d"
UT_DIR = DATA / "utkinect"


def _msr_files(pattern: str = "a*_s*_e*_skeleton3D.txt") -> list[Path]:
    if not MSR_DIR.is_dir():
        pytest.skip(f"MSR Action3D data not found at {MSR_DIR} (read-only shared data is absent)")
    files = sorted(MSR_DIR.rglob(pattern))
    if not files:
        pytest.skip(f"no MSR files matching {pattern} under {MSR_DIR}")
    return files


def _ut_files() -> list[Path]:
    if not UT_DIR.is_dir():
        pytest.skip(f"UTKinect data not found at {UT_DIR} (read-only shared data is absent)")
    files = sorted(UT_DIR.rglob("joints_s*_e*.txt"))
    if not files:
        pytest.skip(f"no UTKinect joints_sXX_eYY.txt files under {UT_DIR}")
    return files


def _j(name: str) -> int:
    return kinect_skeleton().index(name)


# --- synthetic files, so parsing is tested without the shared data --------------------------------
def _walk(frames: int = 30, fps: float = FPS) -> np.ndarray:
    """(F, 20, 3) project-frame cm: the rest pose walking forward, arms swinging a little."""
    skel = kinect_skeleton()
    t = np.arange(frames) / fps
    pos = np.repeat(skel.rest_positions()[None], frames, axis=0) + np.array([0.0, 100.0, 250.0])
    pos[:, :, 2] += 40.0 * t[:, None]  # walking towards +z at 40 cm/s
    for name, sign in (("HandLeft", 1), ("HandRight", -1), ("WristLeft", 1), ("WristRight", -1)):
        pos[:, _j(name), 2] += sign * 15.0 * np.sin(2 * np.pi * t)
    return pos


def _msr_text(pos: np.ndarray, conf: float = 1.0) -> str:
    sensor = project_to_sensor(pos)  # (F, 20, 3) skeleton order
    raw = sensor[:, column_order("msr")]  # file column c holds skeleton joint order[c]
    lines = [f"{x:.6f} {y:.6f} {z:.6f} {conf:.6f}" for frame in raw for x, y, z in frame]
    return "\n".join(lines) + "\n"


def _ut_text(ids: list[int], pos: np.ndarray) -> str:
    raw = project_to_sensor(pos)[:, column_order("utkinect")]
    return "".join(f"{i} " + " ".join(f"{v:.6f}" for v in frame.ravel()) + "\n" for i, frame in zip(ids, raw))


# --- the skeleton --------------------------------------------------------------------------------
def test_kinect20_skeleton_definition():
    skel = load_named("kinect20")
    assert skel.n_joints == 20 and skel.joints[0] == "HipCenter" and skel.parents[0] == -1
    assert skel.joints[:4] == ("HipCenter", "Spine", "ShoulderCenter", "Head")
    assert skel.joints[skel.parents[skel.index("Head")]] == "ShoulderCenter"
    assert skel.joints[skel.parents[skel.index("HandRight")]] == "WristRight"
    assert skel.joints[skel.parents[skel.index("HipLeft")]] == "HipCenter"
    assert len(skel.lr_pairs) == 8
    rest = skel.rest_positions()
    assert rest[skel.index("Head"), 1] > rest[0, 1] > rest[skel.index("FootLeft"), 1]
    for left, right in skel.lr_pairs:  # the character's left on +x
        assert rest[left, 0] > 0 > rest[right, 0]
        assert skel.joints[right] == skel.joints[left].replace("Left", "Right")
    assert rest[skel.index("FootLeft"), 2] > rest[skel.index("AnkleLeft"), 2]  # toes forward (+z)
    for kind in ("msr", "utkinect"):
        assert sorted(column_order(kind)) == list(range(20))
    assert list(column_order("utkinect")) == list(range(20))  # the Kinect SDK order is the skeleton's
    assert skel.joints[column_order("msr")[19]] == "Head"  # MSR's body_model.mat: head_index 20
    assert skel.joints[column_order("msr")[6]] == "HipCenter"  # hip_center_index 7


def test_sensor_frame_conversion_is_a_rotation():
    p = np.array([[0.1, 0.2, 2.5]])
    q = sensor_to_project(p)
    assert np.allclose(q, [[-10.0, 20.0, -250.0]])
    assert np.allclose(project_to_sensor(q), p)
    m = np.diag(sensor_to_project(np.eye(3)).diagonal() / 100)
    assert np.isclose(np.linalg.det(m), 1.0)  # half a turn about y, not a mirror


# --- MSR: synthetic -------------------------------------------------------------------------------
def test_read_msr_synthetic_roundtrip_and_meta(tmp_path):
    pos = _walk(20)
    (tmp_path / "action_names.txt").write_text("a05 forward punch\n")
    f = tmp_path / "a05_s03_e02_skeleton3D.txt"
    f.write_text(_msr_text(pos))
    m = read_msr(f)
    assert m.positions.shape == (20, 20, 3) and m.fps == 15.0
    assert np.allclose(m.positions, pos, atol=1e-3)
    assert (m.meta["action"], m.meta["subject"], m.meta["repetition"]) == (5, 3, 2)
    assert m.meta["action_name"] == "forward punch"
    assert m.meta["confidence"].shape == (20, 20) and not m.meta["untracked"].any()


def test_read_msr_untracked_frames_are_trimmed_and_filled(tmp_path):
    pos = _walk(12)
    pos[[0, 1, 5, 6, 11]] = project_to_sensor(np.zeros(3))  # the tracker writes 0 0 0 for lost frames
    f = tmp_path / "a01_s01_e01_skeleton3D.txt"
    f.write_text(_msr_text(pos))
    m = read_msr(f)
    assert m.n_frames == 9 and m.meta["trimmed"] == (2, 1)
    assert list(np.nonzero(m.meta["untracked"])[0]) == [3, 4]
    good = _walk(12)
    assert np.allclose(m.positions[3], good[4] + (good[7] - good[4]) / 3, atol=1e-3)  # linear in time
    assert (m.meta["confidence"][3] == 0).all()
    f.write_text(_msr_text(np.zeros((3, 20, 3))))
    with pytest.raises(MotionFileError, match="no tracked frames"):
        read_msr(f)


@pytest.mark.parametrize(
    "line, message",
    [("0.1 0.2 abc 1.0", "not a number"), ("0.1 0.2 0.3", "expected 4 numbers"), ("0.1 nan 0.3 1", "non-finite")],
)
def test_read_msr_malformed_line_names_file_and_line(tmp_path, line, message):
    f = tmp_path / "a02_s01_e01_skeleton3D.txt"
    lines = _msr_text(_walk(3)).splitlines()
    lines[6] = line
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(MotionFileError, match=message) as err:
        read_msr(f)
    assert err.value.line == 7 and f"{f}:7:" in str(err.value)


def test_read_msr_truncated_frame(tmp_path):
    f = tmp_path / "a02_s01_e01_skeleton3D.txt"
    f.write_text("\n".join(_msr_text(_walk(3)).splitlines()[:-1]) + "\n")
    with pytest.raises(MotionFileError, match="59 joint lines") as err:
        read_msr(f)
    assert err.value.line == 59
    f.write_text("")
    with pytest.raises(MotionFileError, match="no joint lines"):
        read_msr(f)


def test_load_kinect_set_skips_and_reports_bad_files(tmp_path):
    (tmp_path / "a01_s01_e01_skeleton3D.txt").write_text(_msr_text(_walk(10)))
    (tmp_path / "a01_s01_e02_skeleton3D.txt").write_text(_msr_text(_walk(10)).replace("\n", "\nx\n", 1))
    (tmp_path / "notes.txt").write_text("not a skeleton file")
    motions, errors = load_kinect_set(tmp_path, "msr")
    assert len(motions) == 1 and motions[0].meta["repetition"] == 1
    assert len(errors) == 1 and "a01_s01_e02_skeleton3D.txt:2:" in errors[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    motions, errors = load_kinect_set(empty, "msr")
    assert motions == [] and "no msr files" in errors[0]
    with pytest.raises(KinectParameterError, match="unknown Kinect set kind"):
        load_kinect_set(tmp_path, "ntu")
    with pytest.raises(MotionFileError, match="no such folder"):
        load_kinect_set(tmp_path / "missing", "msr")
    assert issubclass(KinectParameterError, CSGNError)


# --- UTKinect: synthetic --------------------------------------------------------------------------
LABELS = """s01_e01
walk: 100 120
pull: 124 140
push: 140 160
carry: NaN NaN
"""


def test_read_utkinect_grid_gaps_duplicates_labels(tmp_path):
    ids = [100, 104, 108, 108, 112, 116, 120, 124, 128, 132, 136, 140, 200, 204, 208, 212, 216]
    pos = _walk(len(ids))
    f = tmp_path / "joints_s01_e01.txt"
    f.write_text(_ut_text(ids, pos))
    (tmp_path / "actionLabel.txt").write_text(LABELS)
    m = read_utkinect(f)
    assert m.fps == 15.0 and m.meta["sequence"] == "s01_e01" and m.meta["subject"] == 1
    assert m.meta["repeated_ids"] == 1
    assert np.allclose(np.diff(m.meta["frame_ids"]), 4.0)  # a regular 15 fps grid of 60-per-second ids
    assert m.positions.shape == (len(m.meta["frame_ids"]), 20, 3)
    [(after, before_id, after_id)] = m.meta["gaps"]
    assert (before_id, after_id) == (140, 200)
    inside = m.meta["interpolated"]
    assert 14 <= inside.sum() <= 15
    assert np.all((m.meta["frame_ids"][inside] > 140) & (m.meta["frame_ids"][inside] < 200))
    assert m.meta["frame_ids"][after] >= 198
    segs = {a: (s, e) for a, s, e in m.meta["segments"]}
    assert set(segs) == {"walk", "pull", "push"}
    assert segs["pull"][1] < segs["push"][0]  # ranges that touch: the boundary frame goes to the later one
    assert "carry: no range (NaN) in the label file" in m.meta["label_notes"]
    assert len(m.meta["labels"]) == m.n_frames and m.meta["labels"][segs["walk"][0]] == "walk"
    parts = split_utkinect(m)
    assert [p.meta["action"] for p in parts] == ["walk", "pull", "push"]
    assert parts[0].n_frames == segs["walk"][1] - segs["walk"][0] + 1

    rows = read_utkinect(f, resample=False, labels=False)
    assert rows.n_frames == len(ids) and "segments" not in rows.meta
    assert np.allclose(rows.positions, pos, atol=1e-3)
    first = read_utkinect(f, resample=False, duplicates="first", labels=False)
    assert first.n_frames == len(ids) - 1 and np.allclose(first.positions[2:4], pos[[2, 4]], atol=1e-3)
    last = read_utkinect(f, resample=False, duplicates="last", labels=False)
    assert np.allclose(last.positions[2:4], pos[[3, 4]], atol=1e-3)
    mean = read_utkinect(f, resample=False, duplicates="mean", labels=False)
    assert np.allclose(mean.positions[2], (pos[2] + pos[3]) / 2, atol=1e-3)
    with pytest.raises(KinectParameterError, match="duplicates"):
        read_utkinect(f, duplicates="median")


def test_read_utkinect_bad_lines(tmp_path):
    f = tmp_path / "joints_s02_e01.txt"
    text = _ut_text([10, 12, 14], _walk(3)).splitlines()
    f.write_text("\n".join([text[0], text[1].rsplit(" ", 1)[0], text[2]]) + "\n")
    with pytest.raises(MotionFileError, match="60 numbers") as err:
        read_utkinect(f, labels=False)
    assert err.value.line == 2
    f.write_text("\n".join([text[1], text[0], text[2]]) + "\n")
    with pytest.raises(MotionFileError, match="goes back"):
        read_utkinect(f, labels=False)
    bad = tmp_path / "actionLabel.txt"
    bad.write_text("walk: 1 2\n")
    with pytest.raises(MotionFileError, match="before any"):
        read_utkinect_labels(bad)


# --- real files ------------------------------------------------------------------------------------
def test_read_msr_real_file():
    f = _msr_files("a01_s*_e*_skeleton3D.txt")[0]
    m = read_msr(f)
    assert m.positions.ndim == 3 and m.positions.shape[1:] == (20, 3) and m.n_frames >= 10
    assert m.meta["action"] == 1 and m.meta["action_name"] == "high arm wave"
    assert m.meta["confidence"].shape == (m.n_frames, 20)
    height = np.median(m.positions[:, _j("Head"), 1] - m.positions[:, _j("FootLeft"), 1])
    assert 120 < height < 200  # centimetres


def test_read_utkinect_real_file():
    f = _ut_files()[0]
    m = read_utkinect(f)
    assert m.fps == 15.0 and m.positions.shape[1:] == (20, 3) and m.n_frames > 300
    assert np.allclose(np.diff(m.meta["frame_ids"]), 4.0)
    names = [s[0] for s in m.meta.get("segments", [])]
    assert "walk" in names and "clapHands" in names, "actionLabel file not found or not matched"
    assert all(0 <= a <= b < m.n_frames for _, a, b in m.meta["segments"])


def _sample_sets() -> dict[str, list]:
    msr = _msr_files()
    ut = _ut_files()
    step = max(1, len(msr) // 60)  # about 60 MSR clips keep the test fast
    return {"msr": [read_msr(f) for f in msr[::step]], "utkinect": [read_utkinect(f) for f in ut]}


@pytest.fixture(scope="module")
def sample_sets():
    return _sample_sets()


def test_orders_put_joints_where_a_body_has_them(sample_sets):
    for kind, motions in sample_sets.items():
        agree = []
        for m in motions:
            p = m.positions
            assert np.median(p[:, _j("Head"), 1] - p[:, _j("HipCenter"), 1]) > 30, (kind, m.meta["source"])
            assert np.median(p[:, _j("HipCenter"), 1] - p[:, _j("AnkleLeft"), 1]) > 40
            # Forward from the toes alone (foot joint ahead of the ankle), up is +y: the character's
            # left is up x forward. The joints labelled left must be there, in both sets: this
            # checks the labels and that the data is not mirrored. (Kinect v1 feet are often
            # inferred, so a few clips have them backwards: judge the set, not every clip.)
            toes = p[:, _j("FootLeft")] + p[:, _j("FootRight")] - p[:, _j("AnkleLeft")] - p[:, _j("AnkleRight")]
            toes[:, 1] = 0
            left_dir = np.cross([0.0, 1.0, 0.0], toes)
            for a, b in (("ShoulderLeft", "ShoulderRight"), ("HipLeft", "HipRight"), ("HandLeft", "HandRight")):
                agree.append(np.median(np.sum((p[:, _j(a)] - p[:, _j(b)]) * left_dir, axis=-1)) > 0)
            # In the project frame the character faces +z with its left on +x.
            agree.append(np.median(p[:, _j("ShoulderLeft"), 0] - p[:, _j("ShoulderRight"), 0]) > 0)
        assert np.mean(agree) > 0.9, (kind, np.mean(agree))
        faces = np.median([np.median(m.positions[:, _j("FootLeft"), 2] - m.positions[:, _j("AnkleLeft"), 2])
                           for m in motions])
        assert faces > 0, f"{kind}: subjects should face +z after conversion"


def test_msr_one_arm_actions_move_the_right_hand():
    # MSR's authors had one-arm actions done with the right arm: a check of left/right independent
    # of geometry.
    files = _msr_files("a0[1-9]_s*_e*_skeleton3D.txt")[::5]
    right_more = 0
    for f in files:
        p = read_msr(f).positions
        rel = p - p[:, :1]
        path = np.linalg.norm(np.diff(rel, axis=0), axis=-1).sum(axis=0)
        right_more += path[_j("HandRight")] > path[_j("HandLeft")]
    assert right_more >= 0.9 * len(files)


def test_bone_lengths_agree_between_sets(sample_sets):
    def mean_lengths(motions):
        pairs = {
            "upper arm": [("ShoulderLeft", "ElbowLeft"), ("ShoulderRight", "ElbowRight")],
            "elbow-hand": [("ElbowLeft", "HandLeft"), ("ElbowRight", "HandRight")],
            "thigh": [("HipLeft", "KneeLeft"), ("HipRight", "KneeRight")],
            "shin": [("KneeLeft", "AnkleLeft"), ("KneeRight", "AnkleRight")],
            "shoulder": [("ShoulderCenter", "ShoulderLeft"), ("ShoulderCenter", "ShoulderRight")],
            "neck-head": [("ShoulderCenter", "Head")],
            "trunk": [("HipCenter", "ShoulderCenter")],
        }
        out = {}
        for name, ps in pairs.items():
            per_clip = [np.mean([np.median(np.linalg.norm(m.positions[:, _j(a)] - m.positions[:, _j(b)], axis=-1))
                                 for a, b in ps]) for m in motions]
            out[name] = float(np.mean(per_clip))
        return out

    msr, ut = mean_lengths(sample_sets["msr"]), mean_lengths(sample_sets["utkinect"])
    for name in msr:
        assert abs(msr[name] / ut[name] - 1) < 0.2, (name, msr[name], ut[name])
    # and the skeleton's rest lengths lie between the two sets' (each set weighted equally)
    skel = kinect_skeleton()
    assert min(msr["shin"], ut["shin"]) - 1 < skel.bone_lengths[_j("AnkleLeft")] < max(msr["shin"], ut["shin"]) + 1


# --- clean-up ----------------------------------------------------------------------------------------
def test_cleanup_params_validation():
    CleanupParams()  # defaults are valid
    for bad in (
        dict(median_window=4),
        dict(median_window=0),
        dict(savgol_window=6),
        dict(savgol_window=3, savgol_order=3),
        dict(savgol_order=-1),
        dict(spike_sigmas=0),
        dict(spike_min_cm=-1),
        dict(bone_tolerance=float("nan")),
        dict(min_confidence=1.5),
        dict(max_fill=2.5),
        dict(remove_spikes="yes"),
        dict(median_window=True),
    ):
        with pytest.raises(CleanupParamsError):
            CleanupParams(**bad)
    assert issubclass(CleanupParamsError, CSGNError) and issubclass(CleanupParamsError, ValueError)
    CleanupParams(savgol_window=0, median_window=1, bone_tolerance=0, max_fill=0)  # steps off
    with pytest.raises(CleanupParamsError):
        clean(kinect_motion(), params={"median_window": 3})


def kinect_motion(frames: int = 45, noise_cm: float = 1.5, seed: int = 0):
    from csgn_core.motion.clip import Motion

    rng = np.random.default_rng(seed)
    truth = _walk(frames)
    return truth, Motion.from_positions(kinect_skeleton(), truth + rng.normal(0, noise_cm, truth.shape), FPS)


def test_clean_reduces_jitter_removes_spikes_and_keeps_shape():
    truth, noisy = kinect_motion()
    spiked = noisy.positions.copy()
    spiked[20, _j("HandLeft")] += [0.0, 60.0, 0.0]  # a sensor jump out of the trajectory and back
    spiked[30, _j("FootRight")] += [40.0, 0.0, -30.0]
    noisy.joint_positions = spiked
    out = clean(noisy)
    assert out.positions.shape == noisy.positions.shape == (45, 20, 3) and out.fps == noisy.fps
    replaced = out.meta["cleanup"]["replaced"]
    assert replaced[20, _j("HandLeft")] and replaced[30, _j("FootRight")]
    assert replaced.sum() <= 6  # the jumps, not the noise
    assert jitter(out.positions, out.fps) < 0.5 * jitter(noisy.positions, noisy.fps)
    err_before = np.linalg.norm(noisy.positions - truth, axis=-1).mean()
    err_after = np.linalg.norm(out.positions - truth, axis=-1).mean()
    assert err_after < 0.75 * err_before
    assert np.linalg.norm(out.positions[20, _j("HandLeft")] - truth[20, _j("HandLeft")]) < 5
    assert noisy.positions[20, _j("HandLeft"), 1] - truth[20, _j("HandLeft"), 1] > 55  # input untouched


def test_clean_leaves_smooth_motion_alone_and_handles_short_clips():
    truth, _ = kinect_motion()
    from csgn_core.motion.clip import Motion

    smooth_motion = Motion.from_positions(kinect_skeleton(), truth, FPS)
    out = clean(smooth_motion)
    assert not out.meta["cleanup"]["replaced"].any()
    assert np.abs(out.positions - truth).max() < 1.0
    fixed = clean(smooth_motion, params=CleanupParams(restore_bone_lengths=True))
    assert bone_length_cv(fixed.positions, fixed.skeleton).max() < 1e-9
    for frames in (1, 2, 3, 5):
        short = smooth_motion.slice(0, frames)
        assert clean(short).positions.shape == (frames, 20, 3)
    assert np.isnan(jitter(truth[:2], FPS))


def test_clean_reduces_jitter_on_real_clips(sample_sets):
    for kind, motions in sample_sets.items():
        before = np.mean([jitter(m.positions, m.fps) for m in motions])
        cleaned = [clean(m) for m in motions]
        after = np.mean([jitter(c.positions, c.fps) for c in cleaned])
        assert after < 0.7 * before, (kind, before, after)
        assert all(c.positions.shape == m.positions.shape for c, m in zip(cleaned, motions))
        share = np.mean([c.meta["cleanup"]["replaced"].mean() for c in cleaned])
        assert share < 0.03, (kind, share)


def test_real_file_with_a_broken_line_is_reported_and_skipped(tmp_path):
    src = _msr_files()[:2]
    good = tmp_path / src[0].name
    broken = tmp_path / src[1].name
    shutil.copy(src[0], good)
    lines = src[1].read_text().splitlines()
    lines[44] = lines[44].replace(" ", " x", 1)  # line 45: a stray character in a number
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(MotionFileError) as err:
        read_msr(broken)
    assert err.value.line == 45 and str(err.value).startswith(f"{broken}:45:")
    motions, errors = load_kinect_set(tmp_path, "msr")
    assert [Path(m.meta["source"]).name for m in motions] == [good.name]
    assert len(errors) == 1 and errors[0].startswith(f"{broken}:45:")
