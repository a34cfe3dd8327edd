"""Motion file formats. ``load_motion`` and ``save_motion`` pick the format from the file name."""
from __future__ import annotations

from pathlib import Path

from csgn_core.errors import CSGNError, MotionFileError
from csgn_core.motion.clip import Motion

READABLE = (".bvh", ".npz", ".json", ".txt", ".vmd")
WRITABLE = (".bvh", ".npz", ".json", ".vmd")


def _suffix(path: str | Path) -> str:
    return Path(path).suffix.lower()


def load_motion(path: str | Path, *, skeleton="tang23", **vmd_options) -> Motion:
    """Read a motion file (.bvh, .npz, Tang skeletons .json, MSR or UTKinect .txt, .vmd), also inside a zip.

    A VMD file holds MMD bones only: ``skeleton`` names the project skeleton it is retargeted onto
    (``vmd_options`` go to ``mmd.vmd_to_motion``: bone_map, target_rest, rotations).
    """
    suffix = _suffix(path)
    name = Path(path).name.lower()
    if suffix == ".bvh":
        from csgn_core.io.bvh.read import read_bvh

        return read_bvh(path)
    if suffix == ".npz":
        from csgn_core.io.npz import read_npz

        return read_npz(path)
    if suffix == ".json":
        from csgn_core.io.tang import read_tang

        return read_tang(path)
    if suffix == ".vmd":
        from csgn_core.io.mmd.vmd_import import import_vmd

        return import_vmd(path, skeleton, **vmd_options)
    if suffix == ".txt":
        from csgn_core.io.kinect.msr import read_msr
        from csgn_core.io.kinect.utkinect import read_utkinect

        if name.endswith("_skeleton3d.txt"):
            return read_msr(path)
        if name.startswith("joints_"):
            return read_utkinect(path)
        raise MotionFileError(path, "unknown .txt motion (expected MSR *_skeleton3D.txt or UTKinect joints_*.txt)")
    raise MotionFileError(path, f"unknown motion file type {suffix or '(no extension)'}; readable: {', '.join(READABLE)}")


def save_motion(motion: Motion, path: str | Path, npz_compression: str = "best", **vmd_options) -> Path:
    """Write a motion; position motions are solved to rotations first when the format needs them.

    ``npz_compression`` ("none", "fast", "best") is the zlib level of an .npz (``io.npz.COMPRESSION``).
    ``vmd_options`` go to ``mmd.motion_to_vmd`` for .vmd (bone_map, leg_ik, reduce_error, target_rest).
    """
    suffix = _suffix(path)
    if suffix == ".vmd":
        from csgn_core.io.mmd.export import export_vmd

        return export_vmd(motion, path, **vmd_options)
    if suffix == ".npz":
        from csgn_core.io.npz import write_npz

        return write_npz(motion, path, npz_compression)
    if suffix == ".bvh":
        from csgn_core.io.bvh.write import write_bvh

        if not motion.has_rotations:
            from csgn_core.motion.solve import positions_to_rotations

            motion = positions_to_rotations(motion)
        write_bvh(motion, path)
        return Path(path)
    if suffix == ".json":
        from csgn_core.io.tang import write_tang

        write_tang(motion, path)
        return Path(path)
    raise CSGNError(f"{path}: cannot write {suffix or '(no extension)'}; writable: {', '.join(WRITABLE)}")
