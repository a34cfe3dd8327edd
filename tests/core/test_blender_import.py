"""Blender's own BVH importer reads our files and poses every joint where our FK puts it.

Needs Blender as a Python module (`pip install --target DIR bpy`, about 1 GB, so it is not a test
dependency): set CSGN_BPY_SITE=DIR. The check runs in a subprocess because bpy brings its own numpy.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csgn_core.io import save_motion

from .helpers import random_motion, toy_skeleton

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "blender_import_check.py"


def test_blender_imports_our_bvh_with_the_same_joint_positions(tmp_path):
    site = os.environ.get("CSGN_BPY_SITE")
    if not site or not (Path(site) / "bpy").is_dir():
        pytest.skip("Blender's bpy module not available (set CSGN_BPY_SITE to a folder with bpy installed)")
    m = random_motion(toy_skeleton(), 90, seed=4)
    src = tmp_path / "src.npz"
    save_motion(m, src)
    out = tmp_path / "bl"
    r = subprocess.run([sys.executable, str(SCRIPT), str(out), str(src)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    env = {**os.environ, "PYTHONPATH": site}
    r = subprocess.run([sys.executable, str(SCRIPT), "--blender", str(out)], capture_output=True, text=True,
                       env=env, cwd=tmp_path, check=False, timeout=300)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("clip00.bvh")]
    assert r.returncode == 0 and lines, r.stdout + r.stderr
    assert "imported 9 bones" in lines[0] and "missing bones []" in lines[0]
