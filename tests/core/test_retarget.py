from pathlib import Path

import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.motion.clip import Motion
from csgn_core.motion.retarget import RetargetError, find_joint_map, joint_maps, target_positions, to_model
from csgn_core.motion.skeleton import Skeleton, load_named

from .helpers import random_motion, toy_skeleton

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CMU = DATA / "cmu-iclone" / "bvh.zip" / "cmu-iclone" / "002_03.bvh"


@pytest.fixture(scope="module")
def cmu():
    if not (DATA / "cmu-iclone" / "bvh.zip").is_file():
        pytest.skip(f"CMU iClone data not found at {DATA / 'cmu-iclone'}")
    from csgn_core.io.bvh.read import read_bvh
    return read_bvh(CMU)


def test_bundled_maps_fit_their_skeletons():
    names = {m.name for m in joint_maps()}
    assert {"bandai22", "tang23", "kinect20", "cmu-iclone", "mixamo"} <= names
    for n in ("bandai22", "tang23", "kinect20"):
        assert find_joint_map(load_named(n)).name == n


def test_unknown_skeleton_is_one_clear_line():
    with pytest.raises(RetargetError) as e:
        to_model(random_motion(toy_skeleton(), 5), load_named("bandai22"))
    msg = str(e.value)
    assert "\n" not in msg and "toy9" in msg and "jointmaps" in msg
    assert isinstance(e.value, CSGNError)


def test_mixamo_names_with_any_namespace():
    b = load_named("bandai22")
    ren = {"joint_Root": "Root", "Hips": "Hips", "Spine": "Spine", "Chest": "Spine2", "Neck": "Neck", "Head": "Head",
           "Shoulder_L": "LeftShoulder", "UpperArm_L": "LeftArm", "LowerArm_L": "LeftForeArm", "Hand_L": "LeftHand",
           "Shoulder_R": "RightShoulder", "UpperArm_R": "RightArm", "LowerArm_R": "RightForeArm", "Hand_R": "RightHand",
           "UpperLeg_L": "LeftUpLeg", "LowerLeg_L": "LeftLeg", "Foot_L": "LeftFoot", "Toes_L": "LeftToeBase",
           "UpperLeg_R": "RightUpLeg", "LowerLeg_R": "RightLeg", "Foot_R": "RightFoot", "Toes_R": "RightToeBase"}
    sk = Skeleton("mixamo-like", [f"mixamorig1:{ren[j]}" for j in b.joints], b.parents, b.offsets, b.lr_pairs)
    assert find_joint_map(sk).name == "mixamo"
    m = random_motion(b, 12, seed=2)
    moved = Motion(sk, 30.0, rotations=m.rotations, root=m.root)
    out = to_model(moved, load_named("tang23"))
    assert out.skeleton.name == "tang23" and out.n_frames == 12 and np.isfinite(out.rotations).all()


def test_same_skeleton_passes_through():
    b = load_named("bandai22")
    m = random_motion(b, 10)
    assert to_model(m, b) is m


@pytest.mark.parametrize("name", ["bandai22", "tang23"])
def test_cmu_file_to_model_skeletons(cmu, name):
    target = load_named(name)
    out = to_model(cmu, target)
    assert out.has_rotations and out.skeleton.same_topology(target) and out.n_frames == cmu.n_frames
    np.testing.assert_allclose(out.skeleton.offsets, target.offsets)  # the model's own bone lengths
    P = target_positions(cmu, target)
    err = np.linalg.norm(out.positions - P, axis=-1)
    assert err.mean() < 8.0, err.mean()
    # A walking adult stays on the floor and upright at the target's size.
    pos = out.positions
    assert -8.0 < pos[..., 1].min() < 10.0
    height = pos[..., 1].max(axis=1) - pos[..., 1].min(axis=1)
    lm = find_joint_map(target).resolve(target)
    leg = np.mean([target.bone_lengths[lm[f"{s}_knee"][0]] + target.bone_lengths[lm[f"{s}_ankle"][0]] for s in "lr"])
    assert 1.7 < np.median(height) / leg < 2.6, np.median(height) / leg
    # it walks forward about as far as the source, scaled by leg length
    assert np.linalg.norm(out.root[-1, [0, 2]] - out.root[0, [0, 2]]) > 0.5 * np.linalg.norm(
        cmu.root[-1, [0, 2]] - cmu.root[0, [0, 2]]) * 0.5


def test_position_only_source(cmu):
    tang = to_model(cmu, load_named("tang23"))
    pos_only = Motion.from_positions(tang.skeleton, tang.positions, tang.fps)
    out = to_model(pos_only, load_named("bandai22"))
    assert out.has_rotations and np.isfinite(out.positions).all()
