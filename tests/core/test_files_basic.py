import zipfile

import numpy as np
import pytest

from csgn_core.errors import MotionFileError
from csgn_core.io import load_motion, save_motion
from csgn_core.io.archive import iter_files, read_bytes
from csgn_core.io.atomic import write_atomic
from csgn_core.io.npz import read_npz, write_npz
from csgn_core.motion.clip import Motion

from .helpers import random_motion, toy_skeleton


def test_npz_round_trip_in_non_ascii_folder(tmp_path):
    m = random_motion(toy_skeleton())
    m.meta["title"] = "ダンス"
    path = tmp_path / "モーション dir" / "take 1.npz"
    write_npz(m, path)
    back = read_npz(path)
    assert back.skeleton.same_topology(m.skeleton) and back.fps == m.fps
    np.testing.assert_allclose(back.positions, m.positions, atol=1e-9)
    assert back.meta["title"] == "ダンス"
    pm = Motion.from_positions(m.skeleton, m.positions, 30)
    save_motion(pm, tmp_path / "p.npz")
    np.testing.assert_allclose(load_motion(tmp_path / "p.npz").positions, m.positions)


def test_npz_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(MotionFileError, match="x.npz"):
        read_npz(tmp_path / "x.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(MotionFileError, match="junk.npz"):
        read_npz(tmp_path / "junk.npz")
    with pytest.raises(MotionFileError, match="no such file"):
        load_motion(tmp_path / "missing.npz")
    with pytest.raises(MotionFileError, match="unknown motion file type"):
        load_motion(tmp_path / "x.abc")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "doc.bin"
    target.write_bytes(b"old")

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        write_atomic(target, boom)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.bin"]


def test_a_killed_save_leaves_the_old_file_and_the_next_save_clears_its_temp(tmp_path):
    import subprocess
    import sys
    import time

    target = tmp_path / "[take] 1.csgnproj"  # glob characters in the name are names, not patterns
    target.write_bytes(b"old")
    other = tmp_path / ".other.csgnproj.abcdefgh.tmp"
    other.write_bytes(b"another file's")
    code = ("import sys, time; from csgn_core.io.atomic import write_atomic\n"
            "def slow(f):\n    f.write(b'partial'); f.flush(); print('writing', flush=True); time.sleep(60)\n"
            f"write_atomic({str(target)!r}, slow)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()  # as a power cut or the task manager would
    proc.wait(timeout=10)
    from csgn_core.io.atomic import stale_temps

    left = stale_temps(target)
    assert len(left) == 1 and left[0].read_bytes() == b"partial"
    assert target.read_bytes() == b"old"
    time.sleep(0.01)
    write_atomic(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new" and stale_temps(target) == []
    assert other.exists()


def test_reading_through_zip(tmp_path):
    m = random_motion(toy_skeleton())
    write_npz(m, tmp_path / "a.npz")
    z = tmp_path / "set.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(tmp_path / "a.npz", "inner/a.npz")
    files = list(iter_files(z, "*.npz"))
    assert files == [z / "inner" / "a.npz"]
    np.testing.assert_allclose(load_motion(files[0]).positions, m.positions, atol=1e-9)
    with pytest.raises(MotionFileError, match="no member"):
        read_bytes(z / "inner" / "b.npz")


@pytest.mark.parametrize("compression", ["none", "fast", "best"])
def test_npz_compression_levels_read_back_the_same(tmp_path, compression):
    m = random_motion(toy_skeleton(), 50, seed=3)
    path = write_npz(m, tmp_path / f"take_{compression}.npz", compression)
    back = read_npz(path)
    np.testing.assert_array_equal(back.rotations, m.rotations)
    np.testing.assert_array_equal(back.root, m.root)
    with zipfile.ZipFile(path) as zf:
        methods = {i.compress_type for i in zf.infolist()}
    assert methods == {zipfile.ZIP_STORED if compression == "none" else zipfile.ZIP_DEFLATED}
    assert sorted(np.load(path).files) == sorted(["format", "version", "skeleton", "fps", "meta", "rotations", "root"])
    with pytest.raises(ValueError):
        write_npz(m, tmp_path / "x.npz", "zstd")
