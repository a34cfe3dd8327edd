"""VMD files: exact byte round trips, Shift-JIS names, old layouts, malformed files, an independent reader."""
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.vmd import (
    BONE_DTYPE,
    CAMERA_DTYPE,
    IK_BONES,
    LIGHT_DTYPE,
    LINEAR,
    SHADOW_DTYPE,
    IkKey,
    VmdMotion,
    bezier_points,
    encode_name,
    ik_off_key,
    parse_vmd,
    read_vmd,
    vmd_bytes,
    write_vmd,
)

NAMES = ["全ての親", "センター", "グルーブ", "下半身", "上半身", "上半身2", "首", "頭", "左肩", "右腕", "左ひじ",
         "右手首", "左足", "右ひざ", "左足首", "右つま先", "左足ＩＫ", "右つま先ＩＫ", "左人指１"]


def _sample_vmd(seed: int = 0) -> VmdMotion:
    rng = np.random.default_rng(seed)
    vmd = VmdMotion(model_name="初音ミク")
    for k, name in enumerate(NAMES):
        n = 1 + k % 3
        rot = rng.normal(size=(n, 4))
        rot /= np.linalg.norm(rot, axis=1, keepdims=True)
        vmd.add_bone_keys(name, np.sort(rng.choice(100, n, replace=False)), rng.normal(size=(n, 3)), rot)
    vmd.add_morph_keys("まばたき", [0, 10], [0.0, 1.0])
    cams = np.zeros(2, CAMERA_DTYPE)
    cams["frame"], cams["distance"], cams["fov"], cams["perspective"] = [0, 30], -45.0, 30, 0
    cams["interpolation"] = 20
    lights = np.zeros(1, LIGHT_DTYPE)
    lights["color"], lights["direction"] = 0.6, (-0.5, -1.0, 0.5)
    shadows = np.zeros(1, SHADOW_DTYPE)
    shadows["mode"], shadows["distance"] = 1, 0.01
    vmd.cameras, vmd.lights, vmd.shadows = cams, lights, shadows
    vmd.ik = [ik_off_key(0), IkKey(50, False, [("左足ＩＫ", True)])]
    return vmd


def test_write_then_read_is_exact_to_the_byte(tmp_path):
    vmd = _sample_vmd()
    path = tmp_path / "ダンス モーション.vmd"  # non-ASCII path
    write_vmd(vmd, path)
    data = path.read_bytes()
    back = read_vmd(path)
    assert vmd_bytes(back) == data
    assert back.model_name == "初音ミク" and back.version == 2
    assert back.bone_names() == NAMES
    assert back.morph_names() == ["まばたき"]
    assert back.ik[0].states == [(n, False) for n in IK_BONES] and back.ik[1] == IkKey(50, False, [("左足ＩＫ", True)])
    np.testing.assert_array_equal(back.bones, vmd.bones)
    for arr in ("cameras", "lights", "shadows", "morphs"):
        assert getattr(back, arr).tobytes() == getattr(vmd, arr).tobytes()
    # Names are Shift-JIS to the byte, NUL-padded, in 15-byte fields of 111-byte records.
    assert data[:30] == b"Vocaloid Motion Data 0002" + bytes(5)
    assert data[30:50] == "初音ミク".encode("cp932") + bytes(12)
    n = struct.unpack_from("<I", data, 50)[0]
    assert n == len(vmd.bones)
    first = data[54 : 54 + 111]
    assert first[:15] == "全ての親".encode("cp932") + bytes(7)
    fields = {data[54 + 111 * r : 54 + 111 * r + 15] for r in range(n)}
    assert "左足ＩＫ".encode("cp932") + bytes(7) in fields  # full-width ＩＫ, 8 bytes
    assert "上半身2".encode("cp932") + bytes(8) in fields  # ASCII 2
    # Writing again gives the same bytes.
    write_vmd(back, tmp_path / "again.vmd")
    assert (tmp_path / "again.vmd").read_bytes() == data


def test_linear_interpolation_bytes():
    rows = LINEAR.reshape(4, 16)
    assert rows[0].tolist() == [20] * 8 + [107] * 8
    for k in range(1, 4):
        assert rows[k].tolist() == rows[0].tolist()[k:] + [0] * k
    assert bezier_points(LINEAR).tolist() == [[20, 20, 107, 107]] * 4


def test_names_that_do_not_fit_are_errors_not_cut():
    vmd = VmdMotion()
    with pytest.raises(CSGNError, match="16 bytes"):
        vmd.add_bone_keys("左つま先ＩＫＩＫ", [0])  # 16 bytes: cutting would split a character
    with pytest.raises(CSGNError, match="cannot encode"):
        vmd.add_bone_keys("bone\u00e9\u4e02x", [0])
    assert encode_name("上半身2", 15) == "上半身2".encode("cp932")
    vmd.model_name = "a very long model name that does not fit"
    with pytest.raises(CSGNError, match="VMD allows 20"):
        vmd_bytes(vmd)
    with pytest.raises(CSGNError, match="VMD allows 20"):
        vmd_bytes(VmdMotion(ik=[IkKey(0, True, [("x" * 21, False)])]))


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "keep.vmd"
    write_vmd(_sample_vmd(), path)
    before = path.read_bytes()
    bad = _sample_vmd()
    bad.model_name = "x" * 30
    with pytest.raises(CSGNError):
        write_vmd(bad, path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_foreign_names_cut_inside_a_character_and_garbage_padding():
    vmd = VmdMotion()
    recs = np.zeros(2, BONE_DTYPE)
    # 7 two-byte characters and a dangling lead byte, as tools that cut at 15 bytes write them;
    # the second record has garbage after its NUL, as MMD itself sometimes leaves.
    recs["name"][0] = "左人差し指先端ＩＫ".encode("cp932")[:15]
    recs["name"][1] = "首".encode("cp932") + b"\x00\xfd\xfd\x12"
    recs["rotation"] = (0, 0, 0, 1)
    vmd.bones = recs
    data = vmd_bytes(vmd)
    back = parse_vmd(data)
    assert back.bone_names() == ["左人差し指先端", "首"]
    assert vmd_bytes(back) == data
    assert list(back.bone_tracks()) == ["左人差し指先端", "首"]


def test_old_layouts_and_files_that_end_after_a_section():
    v1 = b"Vocaloid Motion Data file".ljust(30, b"\0") + "ミク".encode("cp932").ljust(10, b"\0")
    rec = np.zeros(1, BONE_DTYPE)
    rec["name"], rec["frame"], rec["rotation"] = "頭".encode("cp932"), 7, (0, 0, 0, 1)
    data = v1 + struct.pack("<I", 1) + rec.tobytes()
    vmd = parse_vmd(data)
    assert vmd.version == 1 and vmd.model_name == "ミク" and vmd.bone_names() == ["頭"] and vmd.n_frames == 8
    assert vmd_bytes(vmd)[: len(data)] == data  # written back with the (empty) later sections
    # Cameras only, as camera files are; ends after the camera section.
    head = b"Vocaloid Motion Data 0002".ljust(30, b"\0") + "カメラ・照明".encode("cp932").ljust(20, b"\0")
    cam = np.zeros(1, CAMERA_DTYPE)
    data = head + struct.pack("<II", 0, 0) + struct.pack("<I", 1) + cam.tobytes()
    vmd = parse_vmd(data)
    assert len(vmd.cameras) == 1 and len(vmd.bones) == 0 and vmd.ik == []
    assert parse_vmd(head).n_frames == 0  # nothing but the header


def _valid_bytes() -> bytes:
    return vmd_bytes(_sample_vmd())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"", "empty file"),
        (lambda d: b"Vocaloid Motion Data 0003" + d[25:], "not a VMD file"),
        (lambda d: b"PK\x03\x04" + d[4:], "byte 0: not a VMD file"),
        (lambda d: d[:40], "byte 30: file ends inside the model name"),
        (lambda d: d[:52], "byte 50: file ends inside the bone key count"),
        (lambda d: d[:50] + struct.pack("<I", 0xFFFFFFFF) + d[54:], "byte 50: the bone key count says 4294967295 keys"),
        (lambda d: d[:50] + struct.pack("<I", 10_000) + d[54:], "only"),
        (lambda d: d[:-30], "IK"),
        (lambda d: d[:54 + 19] + struct.pack("<f", float("nan")) + d[54 + 23 :], "byte 73: bone key 0 has a non-finite position"),
    ],
)
def test_malformed_files_give_one_line_with_the_byte_offset(tmp_path, mutate, message):
    path = tmp_path / "bad.vmd"
    path.write_bytes(mutate(_valid_bytes()))
    with pytest.raises(MotionFileError) as e:
        read_vmd(path)
    text = str(e.value)
    assert message in text and "\n" not in text and str(path) in text


def test_missing_file_and_zip_member(tmp_path):
    with pytest.raises(MotionFileError, match="no such file"):
        read_vmd(tmp_path / "nothing.vmd")


_DATA = _valid_bytes()
_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(_DATA) - 1), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, len(_DATA)), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(_DATA)), st.integers(0, 255)),
    st.tuples(st.just("count"), st.sampled_from([50, 50 + 4 + 111 * 30]), st.integers(0, 2**32 - 1)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_fuzzed_files_raise_only_motion_file_error(mutations):
    data = bytearray(_DATA)
    for kind, at, value in mutations:
        at = min(at, len(data))
        if kind == "flip" and at < len(data):
            data[at] ^= value
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = bytes([value])
        elif kind == "count" and at + 4 <= len(data):
            data[at : at + 4] = struct.pack("<I", value)
    try:
        vmd = parse_vmd(bytes(data), source="fuzz.vmd")
    except MotionFileError as e:
        assert "\n" not in str(e) and str(e).startswith("fuzz.vmd: ")
        return
    # Whatever parsed is usable and writes back.
    vmd.bone_tracks()
    assert len(vmd_bytes(vmd)) >= 50


def test_independent_reader_sees_the_same_keys(tmp_path):
    mbt = pytest.importorskip("mmd_bone_tools.vmd", reason="mmd-bone-tools (test extra) is not installed")
    vmd = _sample_vmd(3)
    path = tmp_path / "sample.vmd"
    write_vmd(vmd, path)
    other = mbt.load_vmd(path)
    assert other.model_name == vmd.model_name
    assert len(other.bones) == len(vmd.bones)
    for rec, frame in zip(vmd.bones, other.bones):
        assert frame.name == rec["name"].decode("cp932") and frame.frame == rec["frame"]
        np.testing.assert_array_equal(frame.position, rec["position"])
        np.testing.assert_array_equal(frame.rotation, rec["rotation"])
        assert frame.interpolation == rec["interpolation"].tobytes()
    assert [(m.name, m.frame, m.weight) for m in other.morphs] == [("まばたき", 0, 0.0), ("まばたき", 10, 1.0)]
    assert [(k.frame, k.visible, [(s.name, s.enabled) for s in k.states]) for k in other.ik] == [
        (k.frame, k.show, k.states) for k in vmd.ik
    ]
    # And the other way: a file the other tool writes reads the same with ours.
    other.bones[0].position = (1.5, -2.0, 3.25)
    mbt.save_vmd(other, tmp_path / "theirs.vmd")
    ours = read_vmd(tmp_path / "theirs.vmd")
    assert ours.bone_names() == vmd.bone_names()
    assert tuple(ours.bones["position"][0]) == (1.5, -2.0, 3.25)


def test_exporting_a_25_fps_timeline_as_vmd_reports_what_the_file_holds(tmp_path):
    """Issue 15: the report said "750 frames at 25 fps" for a file of 899 frames at 30 fps."""
    from csgn_core.editing.export import export_timeline
    from csgn_core.editing.timeline import Fill, Timeline
    from csgn_core.io.vmd import read_vmd
    from csgn_core.motion.skeleton import load_named

    from .helpers import random_motion

    sk = load_named("tang23")
    doc = Timeline(100, 25.0, "dance", sk)
    doc.set_fill(Fill(random_motion(sk, 100, seed=1, fps=25.0), {}, frozenset()))
    report = export_timeline(doc, tmp_path / "a.vmd")
    assert report["fps"] == 30.0 and report["frames"] == read_vmd(tmp_path / "a.vmd").n_frames
