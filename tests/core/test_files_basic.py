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
