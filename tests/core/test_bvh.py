import zipfile
from pathlib import Path

import numpy as np
import pytest

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.io.archive import iter_files, read_text
from csgn_core.io.bvh.read import parse_bvh, read_bvh
from csgn_core.io.bvh.write import write_bvh
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import load_named

from ..conftest import DATA
from ..conftest import need as _need
from .helpers import random_motion, toy_skeleton

CMU_ZIP = DATA / "cmu-iclone" / "bvh.zip"
BANDAI1 = DATA / "bandai-namco" / "dataset-1.zip"
BANDAI2 = DATA / "bandai-namco" / "dataset-2.zip"



def _spread(paths: list[Path], n: int) -> list[Path]:
    if len(paths) <= n:
        return paths
    return [paths[i] for i in np.linspace(0, len(paths) - 1, n).round().astype(int)]


def _bandai_files(n: int) -> list[Path]:
    files = list(iter_files(_need(BANDAI1), "*.bvh"))
    picked = _spread(files, n)
    # Cyclic clips whose ground node moves with the character, when the set has any.
    picked += [p for p in files if "dash" in p.name][:1]
    return picked


# --- a reference evaluator that applies the raw channels, written separately from the reader ----
def _rot(axis: str, deg: np.ndarray) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    m = {
        "X": [[o, z, z], [z, c, -s], [z, s, c]],
        "Y": [[c, z, s], [z, o, z], [-s, z, c]],
        "Z": [[c, -s, z], [s, c, z], [z, z, o]],
    }[axis]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))  # (F, 3, 3)


def naive_positions(text: str, add_root_offset: bool = False) -> tuple[list[str], np.ndarray]:
    """Joint names and (F, J, 3) positions, straight from the file: position channels replace OFFSET."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    m = next(i for i, ln in enumerate(lines) if ln.strip() == "MOTION")
    toks = " ".join(lines[:m]).split()
    joints, stack, i = [], [], 0
    while i < len(toks):
        t = toks[i]
        if t in ("ROOT", "JOINT"):
            joints.append({"name": toks[i + 1], "parent": stack[-1] if stack else -1, "ch": []})
            i += 2
        elif t == "End":
            joints.append({"name": None, "parent": stack[-1], "ch": []})
            i += 2
        elif t == "{":
            stack.append(len(joints) - 1)
            i += 1
        elif t == "}":
            stack.pop()
            i += 1
        elif t == "OFFSET":
            joints[-1]["off"] = np.array(toks[i + 1:i + 4], float)
            i += 4
        elif t == "CHANNELS":
            n = int(toks[i + 1])
            joints[-1]["ch"] = toks[i + 2:i + 2 + n]
            i += 2 + n
        else:
            i += 1
    ft = next(i for i in range(m, len(lines)) if lines[i].strip().startswith("Frame Time"))
    data = np.array([ln.split() for ln in lines[ft + 1:] if ln.strip()], float)
    F = len(data)
    G, P, col = [], [], 0
    for jt in joints:
        t = np.tile(jt["off"], (F, 1))
        R = np.tile(np.eye(3), (F, 1, 1))
        for ch in jt["ch"]:
            v = data[:, col]
            col += 1
            if ch.endswith("position"):
                ax = "XYZ".index(ch[0])
                t[:, ax] = v + (jt["off"][ax] if add_root_offset and jt["parent"] < 0 else 0.0)
            else:
                R = R @ _rot(ch[0], v)
        if jt["parent"] < 0:
            G.append(R)
            P.append(t)
        else:
            p = jt["parent"]
            P.append(P[p] + np.einsum("fij,fj->fi", G[p], t))
            G.append(G[p] @ R)
    keep = [k for k, jt in enumerate(joints) if jt["name"] is not None]
    return [joints[k]["name"] for k in keep], np.stack([P[k] for k in keep], axis=1)


def _by_name(motion: Motion, names: list[str]) -> np.ndarray:
    return motion.positions[:, [motion.skeleton.index(n) for n in names]]


# --- real data ------------------------------------------------------------------------------------
def test_bandai_positions_match_the_raw_channels():
    for path in _bandai_files(4):
        m = read_bvh(path)
        names, ref = naive_positions(read_text(path))
        assert m.skeleton.n_joints == 22 and list(m.skeleton.joints) == names
        assert m.fps == 30.0 and m.meta["up"] == "y" and m.meta["source"] == str(path)
        assert m.meta["root_carries_translation_of"] == "Hips"
        # Every joint but the ground node joint_Root is exact.
        np.testing.assert_allclose(m.positions[:, 1:], ref[:, 1:], atol=1e-6, err_msg=str(path))
        moving_root = np.ptp(ref[:, 0], axis=0).max() > 1e-6
        assert bool(m.meta["warnings"]) == moving_root, m.meta["warnings"]


def test_bandai_skeleton_is_the_named_bandai22():
    named = load_named("bandai22")
    assert named.n_joints == 22 and len(named.lr_pairs) == 8
    paths = _bandai_files(3)
    if BANDAI2.is_file():
        paths += _spread(list(iter_files(BANDAI2, "*.bvh")), 3)
    for path in paths:
        sk = read_bvh(path).skeleton
        assert sk.same_topology(named), path
        assert sk.lr_pairs == named.lr_pairs
        # Bone offsets agree (Hips, whose offset is the clip's first hip position, aside).
        np.testing.assert_allclose(np.delete(sk.offsets, 1, axis=0), np.delete(named.offsets, 1, axis=0), atol=0.05)


def test_cmu_iclone_reads_standing_on_the_floor():
    files = list(iter_files(_need(CMU_ZIP), "*.bvh"))
    seen_roots = set()
    for path in files:
        head = read_text(path)[:200]
        root = head.split("ROOT", 1)[1].split()[0]
        if root in seen_roots:
            continue
        seen_roots.add(root)
        m = read_bvh(path)
        assert m.meta["up"] == "y", "the posed CMU iClone body is y up even where its rest pose lies on z"
        names, ref = naive_positions(read_text(path), add_root_offset="root_offset" in m.meta)
        np.testing.assert_allclose(_by_name(m, names), ref, atol=1e-6, err_msg=str(path))
        assert m.skeleton.n_joints >= 99 and len(m.skeleton.end_sites) == 41
        pairs = {(m.skeleton.joints[a], m.skeleton.joints[b]) for a, b in m.skeleton.lr_pairs}
        assert ("CC_Base_L_Thigh", "CC_Base_R_Thigh") in pairs and len(pairs) >= 20
        low = m.positions[:, 1:, 1].min()
        assert -5 < low < 30, f"{path}: lowest joint at {low:.1f} cm"
        if "root_offset" in m.meta:  # the CC_Base_Hip files keep the hip height in the root OFFSET
            assert m.meta["root_offset"]["applied"].startswith("added")
            replaced = read_bvh(path, root_offset="replace")
            assert replaced.positions[:, 1:, 1].min() < -80
    assert len(seen_roots) >= 1


@pytest.mark.parametrize("which", ["cmu", "bandai"])
def test_real_round_trip_is_exact(tmp_path, which):
    path = (_spread(list(iter_files(_need(CMU_ZIP), "*.bvh")), 2)[0] if which == "cmu"
            else _bandai_files(1)[0])
    m = read_bvh(path)
    for up, order in [("y", "ZXY"), ("z", "XYZ")]:
        out = tmp_path / f"{which} {up}.bvh"
        write_bvh(m, out, up=up, order=order)
        back = read_bvh(out)
        assert back.meta["up"] == up and back.fps == m.fps and back.n_frames == m.n_frames
        assert back.skeleton.same_topology(m.skeleton)
        assert back.skeleton.end_sites.keys() == m.skeleton.end_sites.keys()
        np.testing.assert_allclose(back.positions, m.positions, atol=1e-4)


# --- synthetic files ---------------------------------------------------------------------------------
ODD = """HIERARCHY
ROOT\tPelvis
{
\tOFFSET\t1 2 3
\tCHANNELS 6 Zrotation Xposition Yrotation Yposition Xrotation Zposition
\tJOINT Chest
\t{
\t\tOFFSET 0 1.5e+01 0
\t\tCHANNELS 3 Xrotation Zrotation Yrotation
\t\tJOINT Head
\t\t{
\t\t\tOFFSET 0 10 1E-05
\t\t\tCHANNELS 0
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0 5 0
\t\t\t}
\t\t}
\t\tJOINT L_Arm
\t\t{
\t\t\tOFFSET 8 0 0
\t\t\tCHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 20 0 0
\t\t\t}
\t\t}
\t\tJOINT R_Arm
\t\t{
\t\t\tOFFSET -8 0 0
\t\t\tCHANNELS 2 Zrotation Yrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET -20 0 0
\t\t\t}
\t\t}
\t}
\tJOINT Leg
\t{
\t\tOFFSET 0 -40 0
\t\tCHANNELS 1 Xrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 0 -40 0
\t\t}
\t}
}
MOTION
Frames:\t3
Frame Time:\t0.0333333

10 1 20 90 -5 3   5 6 7   8 0 0 10 20 30   1 2   30
-10 2 25 91 5 1e-05   -5 6 -7   8 0 0 -10 0 30   3 4   -30

0 3.5 -1.5e+02 92 45 -2   15 16 17   8 0 0 0 0 90   5 6   60
"""


def test_odd_layouts_tabs_crlf_exponents_and_end_sites():
    for text in (ODD, ODD.replace("\n", "\r\n"), "  \n" + ODD.replace("\n", "  \n"), ODD.replace("\n", "\r")):
        m = parse_bvh(text, source="odd.bvh")
        names, ref = naive_positions(text)
        assert list(m.skeleton.joints) == names == ["Pelvis", "Chest", "Head", "L_Arm", "R_Arm", "Leg"]
        np.testing.assert_allclose(m.positions, ref, atol=1e-9)
        assert m.skeleton.name == "odd" and m.fps == 30.0 and m.n_frames == 3
        layout = ["Zrotation", "Xposition", "Yrotation", "Yposition", "Xrotation", "Zposition"]
        assert m.meta["channels"][0] == ["Pelvis", layout]
        ends = {2: (0.0, 5.0, 0.0), 3: (20.0, 0.0, 0.0), 4: (-20.0, 0.0, 0.0), 5: (0.0, -40.0, 0.0)}
        assert m.skeleton.end_sites == ends
        assert m.skeleton.lr_pairs == ((3, 4),)
        assert m.meta["warnings"] == []
        # The root OFFSET (1, 2, 3) is replaced by its channels: the body reaches no floor either way.
        assert m.meta["root_offset"]["applied"].startswith("replaced")


def test_round_trip_of_odd_file_and_of_names(tmp_path):
    m = parse_bvh(ODD.replace("Head", "Kopf_äß"), name="Körper")
    path = tmp_path / "ünïcode dir" / "my take.bvh"
    write_bvh(m, path)
    back = read_bvh(path)
    assert back.skeleton.name == "my take" and back.skeleton.joints == m.skeleton.joints
    assert "Kopf_äß" in back.skeleton.joints
    np.testing.assert_allclose(back.positions, m.positions, atol=1e-5)
    assert back.skeleton.end_sites == m.skeleton.end_sites
    assert sorted(p.name for p in path.parent.iterdir()) == ["my take.bvh"]  # no temp files left
    # A leaf without an End Site gets a short one along its bone.
    sk = toy_skeleton()
    write_bvh(random_motion(sk, frames=3), tmp_path / "toy.bvh")
    toy = read_bvh(tmp_path / "toy.bvh")
    np.testing.assert_allclose(toy.skeleton.end_sites[2], 0.25 * sk.offsets[2], atol=1e-6)


def test_random_rotations_round_trip_near_gimbal_lock(tmp_path):
    sk = toy_skeleton()
    rng = np.random.default_rng(7)
    F = 120
    for order in ["ZXY", "XYZ", "ZYX", "YZX"]:
        ang = rng.uniform(-180, 180, (F, sk.n_joints, 3))
        # The middle angle at and within 1e-9 to 1 degree of +-90: gimbal lock and its neighbourhood.
        ang[:60, :, 1] = rng.choice([-90.0, 90.0], (60, sk.n_joints)) + rng.choice(
            [0.0, 1e-9, -1e-7, 1e-5, -1e-3, 1e-1, 1.0], (60, sk.n_joints))
        rot = Q.from_euler(ang, order)
        root = rng.normal(scale=100, size=(F, 3))
        m = Motion(sk, 60, rotations=rot, root=root)
        write_bvh(m, tmp_path / "r.bvh", order=order)
        back = read_bvh(tmp_path / "r.bvh", up="y")
        np.testing.assert_allclose(back.positions, m.positions, atol=1e-4)
        err = np.degrees(Q.angle(Q.multiply(Q.conjugate(rot), back.rotations))).max()
        assert err < 1e-5, (order, err)


def test_up_axis_detection_and_writing_back(tmp_path):
    m = random_motion(toy_skeleton(), frames=30)
    m.root[:] = [0, 95, 0]
    write_bvh(m, tmp_path / "z.bvh", up="z")
    text = (tmp_path / "z.bvh").read_text()
    z = parse_bvh(text)
    assert z.meta["up"] == "z" and z.meta["up_detected"]
    np.testing.assert_allclose(z.positions, m.positions, atol=1e-4)
    # Forcing y on a z-up file keeps the file's axes: the body then lies along z.
    flat = parse_bvh(text, up="y")
    assert np.ptp(flat.positions[0, :, 2]) > np.ptp(flat.positions[0, :, 1])
    np.testing.assert_allclose(flat.positions[..., 2], m.positions[..., 1], atol=1e-4)
    # Writing back with the recorded axis reproduces the z-up numbers.
    write_bvh(z, tmp_path / "z2.bvh", up=z.meta["up"])
    np.testing.assert_allclose(naive_positions((tmp_path / "z2.bvh").read_text())[1],
                               naive_positions(text)[1], atol=1e-4)


def test_scale_and_resampling_on_write(tmp_path):
    m = random_motion(toy_skeleton(), frames=61, fps=60)
    write_bvh(m, tmp_path / "m.bvh", scale=0.01)  # metres
    metres = read_bvh(tmp_path / "m.bvh")
    np.testing.assert_allclose(metres.positions * 100, m.positions, atol=1e-4)
    cm = read_bvh(tmp_path / "m.bvh", scale=100)
    np.testing.assert_allclose(cm.positions, m.positions, atol=1e-4)
    assert cm.meta["scale"] == 100
    write_bvh(m, tmp_path / "m30.bvh", fps=30)
    half = read_bvh(tmp_path / "m30.bvh")
    assert half.fps == 30 and half.n_frames == 31
    np.testing.assert_allclose(half.positions, m.positions[::2], atol=1e-4)


def test_position_motions_are_refused(tmp_path):
    m = random_motion(toy_skeleton())
    pm = Motion.from_positions(m.skeleton, m.positions, m.fps)
    with pytest.raises(CSGNError, match="solve rotations first"):
        write_bvh(pm, tmp_path / "p.bvh")
    assert not (tmp_path / "p.bvh").exists()


def test_reading_through_a_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("takes/odd one.bvh", ODD)
    m = read_bvh(tmp_path / "set.zip" / "takes" / "odd one.bvh")
    assert m.skeleton.name == "odd one" and m.n_frames == 3
    with pytest.raises(MotionFileError, match="no member"):
        read_bvh(tmp_path / "set.zip" / "takes" / "missing.bvh")


def test_animated_translation_below_the_root_uses_the_mean_and_warns():
    text = ODD.replace("8 0 0 10 20 30", "9 0 0 10 20 30", 1)  # L_Arm's Xposition now moves
    m = parse_bvh(text)
    assert any("L_Arm" in w and "mean" in w for w in m.meta["warnings"])
    np.testing.assert_allclose(m.skeleton.offsets[3], [8 + 1 / 3, 0, 0])
    names, ref = naive_positions(text)
    np.testing.assert_allclose(m.positions[:, :3], ref[:, :3], atol=1e-9)  # joints above it are exact


def test_extra_frame_lines_are_ignored_with_a_warning():
    m = parse_bvh(ODD + "1 2 3\n")
    assert m.n_frames == 3 and any("more lines than frames" in w for w in m.meta["warnings"])


# --- bad input: one case each, with the line that is wrong ---------------------------------------------
SMALL = [
    "HIERARCHY",                                        # 1
    "ROOT Hips",                                        # 2
    "{",                                                # 3
    "  OFFSET 0 0 0",                                   # 4
    "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",  # 5
    "  JOINT Spine",                                    # 6
    "  {",                                              # 7
    "    OFFSET 0 10 0",                                # 8
    "    CHANNELS 3 Zrotation Xrotation Yrotation",    # 9
    "    End Site",                                     # 10
    "    {",                                            # 11
    "      OFFSET 0 5 0",                               # 12
    "    }",                                            # 13
    "  }",                                              # 14
    "}",                                                # 15
    "MOTION",                                           # 16
    "Frames: 2",                                        # 17
    "Frame Time: 0.04",                                 # 18
    "0 90 0 0 0 0 10 20 30",                            # 19
    "1 90 0 0 0 0 10 20 30",                            # 20
]


def _edit(**changes) -> str:
    lines = list(SMALL)
    for k, v in changes.items():
        lines[int(k[1:]) - 1] = v
    return "\n".join(line for line in lines if line is not None) + "\n"


def test_small_file_is_valid():
    m = parse_bvh(_edit())
    assert m.n_frames == 2 and m.fps == 25.0


BAD = {
    "no hierarchy": ("ROOT Hips\n{\n}\n", "expected HIERARCHY", 1),
    "motion first": ("MOTION\nFrames: 1\n", "no HIERARCHY", 1),
    "no motion": ("\n".join(SMALL[:15]) + "\n", "no MOTION", 15),
    "value count": (_edit(l20="1 90 0 0 0 0 10 20"), "frame 2 has 8 values, expected 9", 20),
    "nan": (_edit(l19="0 90 0 nan 0 0 10 20 30"), "Zrotation of joint 'Hips' is not finite", 19),
    "inf": (_edit(l20="1 90 0 0 0 0 10 20 -inf"), "not finite", 20),
    "huge": (_edit(l20="1 90 0 0 0 0 10 20 1e300"), "beyond", 20),
    "text in number": (_edit(l20="1 90 0 0 0 0 10 2O 30"), "'2O' is not a number", 20),
    "fewer frames": (_edit(l17="Frames: 3"), "only 2 frame lines follow (fewer lines than frames)", 17),
    "zero frame time": (_edit(l18="Frame Time: 0"), "Frame Time must be positive", 18),
    "negative frame time": (_edit(l18="Frame Time: -0.04"), "Frame Time must be positive", 18),
    "frame time text": (_edit(l18="Frame Time: fast"), "is not a number", 18),
    "missing brace": (_edit(l14=None), "unbalanced braces", 15),
    "extra brace": (_edit(l15="}\n}"), "'}' closes nothing", 16),
    "unknown channel": (_edit(l9="    CHANNELS 3 Zrotation Wrotation Yrotation"), "unknown channel name 'Wrotation'",
                        9),
    "short channels": (_edit(l9="    CHANNELS 4 Zrotation Xrotation Yrotation"), "lists only 3 channel names", 9),
    "duplicate joint": (_edit(l6="  JOINT Hips"), "duplicate joint name 'Hips'", 6),
    "offset text": (_edit(l8="    OFFSET 0 ten 0"), "OFFSET: 'ten' is not a number", 8),
    "absurd frames": (_edit(l17="Frames: 1000000000000"), "beyond the limit", 17),
    "frames text": (_edit(l17="Frames: many"), "not a whole number", 17),
    "no frames line": (_edit(l17="Frame Count 2"), "expected 'Frames: N'", 17),
    "zero frames": (_edit(l17="Frames: 0"), "no motion", 17),
    "empty": ("", "empty file", None),
    "blank": ("  \n\n\t\n", "empty file", None),
    "second root": (_edit(l15="}\nROOT Other\n{\nOFFSET 0 0 0\n}"), "a second ROOT", 16),
    "no name": (_edit(l6="  JOINT"), "without a name", 6),
    "channels in end site": (_edit(l12="      CHANNELS 0"), "End Site cannot have CHANNELS", 12),
    "too many channels": (_edit(l5="  CHANNELS 7 Xposition"), "between 0 and 6", 5),
    "missing offset": (_edit(l8=None), "has no OFFSET", 6),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_file_and_line(case):
    text, message, line = BAD[case]
    with pytest.raises(MotionFileError) as info:
        parse_bvh(text, source="bad.bvh")
    err = info.value
    assert message in err.reason, err
    assert err.line == line, (err, err.line)
    assert str(err).startswith(f"bad.bvh:{line}:" if line else "bad.bvh:")


def test_too_many_joints():
    parts = ["HIERARCHY", "ROOT j0", "{", "OFFSET 0 0 0", "CHANNELS 3 Xrotation Yrotation Zrotation"]
    for k in range(1, 1001):
        parts += [f"JOINT j{k}", "{", "OFFSET 0 1 0"]
    parts += ["}"] * 1001 + ["MOTION", "Frames: 1", "Frame Time: 0.1", "0 0 0"]
    with pytest.raises(MotionFileError, match="more than 1000 joints") as info:
        parse_bvh("\n".join(parts))
    assert info.value.line == 5 + 3 * 999 + 1  # the JOINT line of the 1001st joint


def test_missing_file_and_garbage_bytes(tmp_path):
    with pytest.raises(MotionFileError, match="no such file"):
        read_bvh(tmp_path / "nope.bvh")
    (tmp_path / "junk.bvh").write_bytes(b"\x00\xff\xfe garbage \x89PNG")
    with pytest.raises(MotionFileError, match="junk.bvh:1: not a BVH file"):
        read_bvh(tmp_path / "junk.bvh")
