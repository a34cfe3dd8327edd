"""Mutated BVH, Tang JSON, VMD, MSR / UTKinect and safetensors files: only the project's own one-line
errors, in bounded time and memory (the harness of test_fuzz_files.py). Seeded; CSGN_FUZZ_CASES
raises the count per format (default 150)."""
import json
import re

import numpy as np
import pytest

from csgn_core.errors import CSGNError
from csgn_core.io.bvh import parse_bvh, write_bvh
from csgn_core.io.kinect.common import kinect_skeleton
from csgn_core.io.kinect.msr import read_msr
from csgn_core.io.kinect.utkinect import read_utkinect
from csgn_core.io.mmd import export_vmd, import_vmd
from csgn_core.io.tang import read_tang, write_tang
from csgn_core.io.vmd import parse_vmd
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import load_named

from .helpers import random_motion, toy_skeleton
from .test_fuzz_files import CASES, _damage, _flip, _run

NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
ODD_NUMBERS = [b"1e400", b"-1e400", b"nan", b"NaN", b"-0", b"99999999999999999999", b"-7", b"0", b"1e-320",
               b"2147483648", b"x", b""]


def mutate_text(rng, data: bytes) -> bytes:
    """Byte flips (often not UTF-8), truncation, a number swapped for an odd one, a line dropped or
    repeated, or deep nesting."""
    kind = rng.integers(6)
    if kind < 2:
        return _damage(rng, data, kind)
    if kind == 2:
        nums = list(NUMBER.finditer(data))
        out = data
        for _ in range(int(rng.integers(1, 4))):
            m = nums[rng.integers(len(nums))]
            out = out[: m.start()] + ODD_NUMBERS[rng.integers(len(ODD_NUMBERS))] + out[m.end():]
            nums = list(NUMBER.finditer(out))
        return out
    lines = data.split(b"\n")
    i = int(rng.integers(len(lines)))
    if kind == 3:
        return b"\n".join(lines[:i] + lines[i + 1:])
    if kind == 4:
        return b"\n".join(lines[:i] + [lines[i]] * int(rng.integers(2, 50)) + lines[i:])
    return data.replace(b"[", b"[" * 5000, 1) if b"[" in data else data.replace(b"{", b"{" * 5000, 1)


def _cases(rng, good: bytes, mutate=mutate_text):
    return (mutate(rng, good) for _ in range(CASES))


def test_mutated_bvh_files_give_one_line_errors(tmp_path):
    good = write_bvh(random_motion(toy_skeleton(), 30, seed=2), tmp_path / "a.bvh").read_bytes()
    rng = np.random.default_rng(21)
    _run(lambda d: parse_bvh(d.decode("latin-1"), source="fuzz.bvh"), _cases(rng, good), "fuzz.bvh")


def _tang_dance(tmp_path):
    sk = load_named("tang23")
    m = random_motion(sk, 24, seed=4, fps=25.0)
    pos = Motion(sk, 25.0, joint_positions=m.positions)
    return write_tang(pos, tmp_path / "C_1" / "skeletons.json").read_bytes()


def test_mutated_tang_dances_give_one_line_errors(tmp_path):
    good = _tang_dance(tmp_path)
    target = tmp_path / "fuzz" / "skeletons.json"
    target.parent.mkdir()
    rng = np.random.default_rng(23)

    def read(data: bytes):
        target.write_bytes(data)
        read_tang(target)

    def json_mutate(rng, data):
        if rng.random() < 0.5:
            return mutate_text(rng, data)
        doc = json.loads(data)
        key = ["length", "center", "skeletons"][rng.integers(3)]
        doc[key] = [None, "x", -1, 2**70, 1e308, {"a": []}, [[[]]], True, [[1, 2]], []][rng.integers(10)]
        return json.dumps(doc).encode()

    _run(read, _cases(rng, good, json_mutate), "skeletons.json")


def _vmd_good(tmp_path) -> bytes:
    sk = load_named("tang23")
    return export_vmd(random_motion(sk, 20, seed=5), tmp_path / "a.vmd").read_bytes()


def mutate_binary(rng, data: bytes) -> bytes:
    """Byte flips, truncation, or a 4-byte field (a count or a frame number) set to an extreme."""
    kind = rng.integers(3)
    if kind == 0:
        return _flip(rng, data, int(rng.integers(1, 30)))
    if kind == 1:
        return data[: int(rng.integers(len(data)))]
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(max(1, len(b) - 4)))
        b[i:i + 4] = int([2**31 - 1, 2**32 - 1, 131_076, 10**6, 0][rng.integers(5)]).to_bytes(4, "little")
    return bytes(b)


def mutate_weights(rng, data: bytes) -> bytes:
    """A safetensors file's mutations: its JSON header (under a consistent length prefix) or its bytes."""
    if rng.random() < 0.3:
        n = int.from_bytes(data[:8], "little")
        head = mutate_text(rng, data[8:8 + n])
        return len(head).to_bytes(8, "little") + head + data[8 + n:]
    return mutate_binary(rng, data)


def test_mutated_vmd_files_give_one_line_errors(tmp_path):
    good = _vmd_good(tmp_path)
    target = tmp_path / "fuzz.vmd"
    rng = np.random.default_rng(29)

    def read(data: bytes):
        parse_vmd(data, source="fuzz.vmd")
        target.write_bytes(data)
        import_vmd(target)

    _run(read, _cases(rng, good, mutate_binary), "fuzz.vmd")


def _msr_text(rng, frames: int = 12) -> bytes:
    rows = []
    for _ in range(frames):
        for j in range(20):
            x, y, z = rng.normal(0, 0.3, 3) + [0, 0.2 * (j % 5), 2.5]
            rows.append(f"{x:.6f} {y:.6f} {z:.6f} 1")
    return ("\n".join(rows) + "\n").encode()


def _ut_text(rng, samples: int = 12) -> bytes:
    rows = []
    for i in range(samples):
        pts = (rng.normal(0, 0.3, (20, 3)) + [0, 0, 2.5]).ravel()
        rows.append(f"{2 * 4 * i + 100} " + " ".join(f"{v:.6f}" for v in pts))
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("kind", ["msr", "utkinect"])
def test_mutated_kinect_files_give_one_line_errors(tmp_path, kind):
    rng = np.random.default_rng(31)
    good = _msr_text(rng) if kind == "msr" else _ut_text(rng)
    name = "a01_s01_e01_skeleton3D.txt" if kind == "msr" else "joints_s01_e01.txt"
    target = tmp_path / name
    target.write_bytes(good)
    reader = read_msr if kind == "msr" else read_utkinect
    assert reader(target).skeleton.same_topology(kinect_skeleton())

    def read(data: bytes):
        target.write_bytes(data)
        reader(target)

    _run(read, _cases(rng, good), name)


def test_mutated_weights_give_one_line_errors(tmp_path):
    import shutil

    from csgn_core.model.inference import export_model, load_model

    from .helpers import toy_model

    src = export_model(toy_model(), tmp_path / "good")
    good = (src / "model.safetensors").read_bytes()
    folder = tmp_path / "fuzz"
    shutil.copytree(src, folder)
    rng = np.random.default_rng(37)

    def read(data: bytes):
        (folder / "model.safetensors").write_bytes(data)
        load_model(folder)

    _run(read, _cases(rng, good, mutate_weights), "fuzz")


def test_a_vmd_key_at_a_huge_frame_imports_fast_or_is_refused(tmp_path):
    """One key at frame 131,076 (the issue's case): import time must not grow with the frame number."""
    import time

    from csgn_core.io.vmd import vmd_bytes

    vmd = parse_vmd(_vmd_good(tmp_path))
    vmd.bones["frame"][-1] = 131_076
    path = tmp_path / "late.vmd"
    path.write_bytes(vmd_bytes(vmd))
    t = time.perf_counter()
    try:
        m = import_vmd(path)
        assert m.n_frames == 131_077
    except CSGNError as e:
        assert "\n" not in str(e) and "frame" in str(e)
    assert time.perf_counter() - t < 1.0
