"""MMD export and import: the standard rig, conventions, bone maps, retargeting on real clips, key reduction."""
from functools import cache

import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.io.mmd.bonemaps import bone_map_for, load_bone_map, named_bone_maps
from csgn_core.io.mmd.export import motion_to_vmd, reduce_keys
from csgn_core.io.mmd.rig import (
    STANDARD_HEADS,
    UNIT_CM,
    from_mmd_position,
    from_mmd_rotation,
    standard_rig,
    to_mmd_position,
    to_mmd_rotation,
)
from csgn_core.io.mmd.vmd_import import direction_errors, sample_track, vmd_pose, vmd_to_motion
from csgn_core.io.vmd import IK_BONES, VmdMotion, read_vmd, write_vmd
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import load_named

from ..conftest import DATA
from ..conftest import need as _need

TANG = DATA / "tang2018-dance" / "dances.zip"
BANDAI = DATA / "bandai-namco" / "dataset-1.zip"
MSR = DATA / "msr-action3d" / "skeletons"



@cache
def _tang(frames: int = 360):
    from csgn_core.io.archive import iter_files
    from csgn_core.io.tang import read_tang

    path = next(iter_files(_need(TANG), "*/DANCE_C_*/skeletons.json"))
    return read_tang(path).slice(0, frames)


@cache
def _bandai(kind: str = "walk"):
    from csgn_core.io.archive import iter_files
    from csgn_core.io.bvh.read import read_bvh

    return read_bvh(next(iter_files(_need(BANDAI), f"*/data/*{kind}*.bvh")))


# --- the rig and the conventions -----------------------------------------------------------------


def test_standard_rig_names_positions_and_arm_angle():
    rig = standard_rig()
    for name in rig.bones:
        assert len(name.encode("cp932")) <= 15
    assert "上半身2" in rig.bones and "左足ＩＫ" in rig.bones and "右つま先ＩＫ" in rig.bones
    heads = STANDARD_HEADS
    # Left bones on +x (MMD axes), the toes in front (-z), the body about 20 units (158 cm) tall.
    for name, (x, _, _) in heads.items():
        if name.startswith("左"):
            assert x > 0 and heads["右" + name[1:]][0] == -x
    assert heads["左つま先"][2] < heads["左足首"][2]
    assert 19 < heads["頭"][1] + 2.0 < 20.5
    arm = np.subtract(heads["左ひじ"], heads["左腕"])
    assert np.degrees(np.arctan2(-arm[1], arm[0])) == pytest.approx(35.0, abs=0.01)
    # The rig in project axes: left on +x, facing +z, centimetres.
    P = rig.rest_positions
    assert P[rig.index("左腕"), 0] > 0 and P[rig.index("左つま先"), 2] > P[rig.index("左足首"), 2]
    assert rig.leg_length() == pytest.approx((4.9 + 4.8) * UNIT_CM, rel=0.02)


def test_target_rest_overrides_and_mirrors(tmp_path):
    rig = standard_rig({"name": "mine", "arm_angle_deg": 45, "positions": {"左足": [1.2, 10.0, 0.0]}})
    heads = rig.heads_mmd
    arm = np.subtract(heads["右ひじ"], heads["右腕"])
    assert np.degrees(np.arctan2(-arm[1], -arm[0])) == pytest.approx(45.0, abs=0.01)
    assert heads["右足"] == (-1.2, 10.0, 0.0)
    (tmp_path / "rest.json").write_text('{"positions": {"頭": [0, 17.5, 0]}}', encoding="utf-8")
    assert standard_rig(tmp_path / "rest.json").heads_mmd["頭"] == (0.0, 17.5, 0.0)
    with pytest.raises(CSGNError, match="unknown bone"):
        standard_rig({"positions": {"しっぽ": [0, 0, 0]}})
    with pytest.raises(CSGNError, match="three finite numbers"):
        standard_rig({"positions": {"頭": [0, "x"]}})


def test_axis_conversion_is_a_reflection():
    rng = np.random.default_rng(1)
    q = Q.normalize(rng.normal(size=(50, 4)))
    v = rng.normal(size=(50, 3)) * 30
    np.testing.assert_allclose(from_mmd_position(to_mmd_position(v)), v)
    np.testing.assert_allclose(from_mmd_rotation(to_mmd_rotation(q)), q)
    # Rotating in the project and converting equals converting and rotating in MMD's axes.
    qm = to_mmd_rotation(q)
    qm_wxyz = np.concatenate([qm[:, 3:], qm[:, :3]], axis=1)
    np.testing.assert_allclose(to_mmd_position(Q.rotate(q, v)), Q.rotate(qm_wxyz, to_mmd_position(v)), atol=1e-9)


def test_bone_maps_load_and_fit_their_skeletons():
    assert set(named_bone_maps()) >= {"tang23", "bandai22", "kinect20"}
    for name in ("tang23", "bandai22", "kinect20"):
        bmap = load_bone_map(name)
        skeleton = load_named(name)
        assert bmap.joints() <= set(skeleton.joints)
        assert bone_map_for(skeleton).name == name
        for bone in bmap.bones:
            assert bone in standard_rig().bones


def test_bone_map_errors(tmp_path):
    with pytest.raises(CSGNError, match="unknown bone map"):
        load_bone_map("nope")
    with pytest.raises(CSGNError, match="not a standard MMD bone"):
        load_bone_map({"bones": {"しっぽ": {"dir": ["a", "b"]}}, "hip_center": ["a"], "legs": {}})
    bad = {"bones": {"左腕": {"dir": ["a", "b"], "twist": [{"from": "a", "to": "b", "rest": "sideways"}]}},
           "hip_center": ["a"], "legs": {"left": ["a", "b", "c"], "right": ["a", "b", "c"]}}
    with pytest.raises(CSGNError, match="unknown direction"):
        load_bone_map(bad)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(CSGNError, match="not valid JSON"):
        load_bone_map(tmp_path / "broken.json")
    motion = Motion(load_named("kinect20"), 30, joint_positions=np.zeros((3, 20, 3)))
    with pytest.raises(CSGNError, match="lacks"):
        motion_to_vmd(motion, bone_map="tang23")


# --- key reduction and sampling ------------------------------------------------------------------


def test_reduce_keys_keeps_the_error_bound():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4, 240)
    axis = Q.normalize(np.c_[np.ones_like(t), np.sin(t), np.cos(2 * t)])
    rot = Q.make_continuous(Q.from_axis_angle(axis, 1.2 * np.sin(1.7 * t) + 0.01 * rng.normal(size=t.size)))
    pos = np.c_[np.sin(t), t, 0 * t] * 10
    keep = reduce_keys(rot, pos, 1.0, 0.5)
    assert keep[0] == 0 and keep[-1] == len(t) - 1 and len(keep) < len(t) / 2
    # Rebuild every frame from the kept keys and check the bound.
    f = np.arange(len(t))
    k0 = np.clip(np.searchsorted(keep, f, side="right") - 1, 0, len(keep) - 2)
    a, b = keep[k0], keep[k0 + 1]
    w = ((f - a) / (b - a))[:, None]
    q = Q.slerp(rot[a], rot[b], w)
    assert np.degrees(Q.angle(Q.multiply(Q.conjugate(q), rot))).max() <= 1.0 + 1e-6
    assert np.linalg.norm(pos[a] + (pos[b] - pos[a]) * w - pos, axis=1).max() <= 0.5 + 1e-9
    assert reduce_keys(rot[:2], None, 1.0, 1.0).tolist() == [0, 1]


def test_sample_track_linear_and_bezier():
    frames = np.array([0, 10])
    pos = np.array([[0.0, 0, 0], [10.0, 20, 30]])
    rot = np.array([[0.0, 0, 0, 1], [0.0, 0.0, np.sin(0.5), np.cos(0.5)]])
    from csgn_core.io.vmd import LINEAR

    interp = np.stack([LINEAR, LINEAR])
    p, r = sample_track(frames, pos, rot, interp, 12)
    np.testing.assert_allclose(p[5], [5, 10, 15], atol=1e-6)
    np.testing.assert_allclose(p[11], pos[1])  # held after the last key
    ang = 2 * np.arctan2(np.linalg.norm(r[:, :3], axis=1), r[:, 3])
    np.testing.assert_allclose(ang[:11], np.linspace(0, 1, 11), atol=1e-6)
    # An ease-in curve for X only: control points (127, 0) and (127, 127) lag behind linear.
    ease = LINEAR.copy()
    ease[[0, 4]] = (127, 0)
    ease[[8, 12]] = (127, 127)
    p, _ = sample_track(frames, pos, rot, np.stack([LINEAR, ease]), 11)
    assert p[5, 0] < 3.0 and p[5, 1] == pytest.approx(10, abs=1e-6)


# --- export on real clips ------------------------------------------------------------------------


def _check_export(motion: Motion, tmp_path, name: str, **kw) -> dict:
    vmd = motion_to_vmd(motion, model_name="初音ミク", **kw)
    path = tmp_path / f"{name}.vmd"
    write_vmd(vmd, path)
    back = read_vmd(path)
    errors = direction_errors(motion, back)
    assert set(errors) == set(bone_map_for(motion.skeleton).bones)
    return {"vmd": back, "errors": errors, "path": path}


def test_tang_export_points_every_bone_along_the_source(tmp_path):
    from csgn_core.motion.solve import positions_to_rotations

    tang = _tang()
    for motion in (tang, positions_to_rotations(tang)):
        out = _check_export(motion, tmp_path, "tang")
        errs = out["errors"]
        assert max(errs.values()) < 0.1, errs  # exact up to float32 keys
        vmd = out["vmd"]
        assert vmd.n_frames == int(np.floor((tang.n_frames - 1) * 30 / 25 + 1e-9)) + 1
        assert vmd.ik[0].frame == 0 and vmd.ik[0].states == [(n, False) for n in IK_BONES]
    reduced = _check_export(tang, tmp_path, "tang_reduced", reduce_error=1.0)
    assert len(reduced["vmd"].bones) < 0.6 * len(out["vmd"].bones)
    assert np.mean(list(reduced["errors"].values())) < 3.0 and max(reduced["errors"].values()) < 3.0


def test_bandai_export_and_mmd_space_check(tmp_path):
    motion = _bandai()
    out = _check_export(motion, tmp_path, "bandai")
    assert max(out["errors"].values()) < 0.1, out["errors"]
    # Independent check of the axes: FK in MMD's own axes on the keys as another reader sees them.
    mbt = pytest.importorskip("mmd_bone_tools.vmd", reason="mmd-bone-tools (test extra) is not installed")
    other = mbt.load_vmd(out["path"])
    rig = standard_rig()
    F = out["vmd"].n_frames
    local = {b: np.tile([1.0, 0, 0, 0], (F, 1)) for b in rig.bones}
    for key in other.bones:
        if key.name in local:
            x, y, z, w = key.rotation
            local[key.name][key.frame] = (w, x, y, z)
    glob = {}
    for b, p in zip(rig.bones, rig.skeleton.parents):
        glob[b] = local[b] if p < 0 else Q.multiply(glob[rig.bones[p]], local[b])
    bmap = load_bone_map("bandai22")
    P = motion.positions
    sk = motion.skeleton
    H = {k: np.array(v) for k, v in STANDARD_HEADS.items()}
    rests = {"下半身": (H["左足"] + H["右足"]) / 2 - H["下半身"], "頭": np.array([0.0, 2.0, 0.0]),
             "上半身": H["上半身2"] - H["上半身"], "上半身2": H["首"] - H["上半身2"], "首": H["頭"] - H["首"]}
    for s in "左右":
        for a, b in (("肩", "腕"), ("腕", "ひじ"), ("ひじ", "手首"), ("足", "ひざ"), ("ひざ", "足首"), ("足首", "つま先")):
            rests[s + a] = H[s + b] - H[s + a]  # MMD units and axes
    for bone, rule in bmap.bones.items():
        rest = rests[bone]
        got = Q.rotate(glob[bone], np.broadcast_to(rest, (F, 3)))
        src = P[:, [sk.index(n) for n in rule.src_to]].mean(1) - P[:, [sk.index(n) for n in rule.src_from]].mean(1)
        src = src * [1, 1, -1]  # the source direction in MMD's axes
        cos = np.sum(got * src, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(src, axis=1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).mean() < 0.1, bone
    # The centre moves the way the performer walks: forward (+z here) is -z in MMD.
    _, pos, _, _ = out["vmd"].bone_track("センター")
    walk = motion.positions[-1, 1] - motion.positions[0, 1]
    assert np.sign(pos[-1, 2] - pos[0, 2]) == -np.sign(walk[2]) and abs(walk[2]) > 100


def test_kinect_export(tmp_path):
    from csgn_core.io.kinect.msr import read_msr

    path = next(iter(sorted(_need(MSR).glob("a0*_skeleton3D.txt"))))
    motion = read_msr(path)
    out = _check_export(motion, tmp_path, "kinect")
    assert max(out["errors"].values()) < 0.1


def test_leg_ik_keys_and_import_solves_them(tmp_path):
    motion = _bandai()
    vmd = motion_to_vmd(motion, leg_ik="keys", recenter=False)
    assert "左足ＩＫ" in vmd.bone_names() and "右つま先ＩＫ" in vmd.bone_names()
    assert vmd.ik_enabled("左足ＩＫ") and vmd.ik[0].states == [(n, True) for n in IK_BONES]
    fk = vmd_pose(vmd, solve_ik=False)
    ik = vmd_pose(vmd, solve_ik=True)
    assert ik["ik_solved"] == ["左足ＩＫ", "右足ＩＫ"]
    rig = ik["rig"]
    for bone in ("左ひざ", "左足首", "右足首", "右つま先"):
        b = rig.index(bone)
        assert np.abs(ik["positions"][:, b] - fk["positions"][:, b]).max() < 0.5  # cm
    # With IK off the file's leg rotations are what plays.
    off = motion_to_vmd(motion, leg_ik="off")
    assert not off.ik_enabled("左足ＩＫ") and vmd_pose(off)["ik_solved"] == []
    with pytest.raises(ValueError):
        motion_to_vmd(motion, leg_ik="on")


def test_import_round_trip_keeps_bone_directions(tmp_path):
    motion = _bandai()
    path = tmp_path / "walk.vmd"
    write_vmd(motion_to_vmd(motion), path)
    back = vmd_to_motion(read_vmd(path), "bandai22")
    assert back.skeleton.name == "bandai22" and back.fps == 30 and back.n_frames == motion.n_frames
    P, S = motion.positions, back.positions
    sk = motion.skeleton
    for p, c in sk.bones:
        if sk.joints[p] == "joint_Root":
            continue  # the ground node is put under the hips on the floor
        a, b = P[:, c] - P[:, p], S[:, c] - S[:, p]
        cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).mean() < 2.0, sk.joints[c]
    # Every bone but the ground node's keeps the target skeleton's rest length.
    rest = back.skeleton.bone_lengths[[c for _, c in sk.bones]]
    np.testing.assert_allclose(back.bone_lengths()[:, 1:], np.broadcast_to(rest[1:], (back.n_frames, len(rest) - 1)), atol=1e-6)
    rot = vmd_to_motion(read_vmd(path), "tang23", rotations=True)
    assert rot.has_rotations and rot.skeleton.joints == load_named("tang23").joints and np.isfinite(rot.positions).all()


def test_export_rejects_bad_input():
    sk = load_named("tang23")
    bad = Motion(sk, 25, joint_positions=np.full((4, 23, 3), np.nan))
    with pytest.raises(CSGNError, match="NaN"):
        motion_to_vmd(bad)
    with pytest.raises(ValueError):
        motion_to_vmd(Motion(sk, 25, joint_positions=np.zeros((4, 23, 3))), reduce_error=-1)
    with pytest.raises(CSGNError, match="no bone keys"):
        vmd_to_motion(VmdMotion(), "tang23")


def test_tabulated_bezier_weights_match_the_solved_ones():
    """Sparse keys read their curves from a table (import cost follows the keys, not the frames)."""
    from csgn_core.io.mmd.vmd_import import key_weights

    rng = np.random.default_rng(3)
    interp = rng.integers(0, 128, size=(6, 64)).astype(np.uint8)
    k1 = rng.integers(0, 6, size=2000)
    t = rng.random(2000)
    t[:3] = [0.0, 1.0, 0.5]
    solved = key_weights(interp, k1, t, tabulate=False)
    table = key_weights(interp, k1, t, tabulate=True)
    assert np.abs(solved - table).max() < 3e-3
    assert np.abs(solved - table).mean() < 1e-5
