"""Import BVH files into Blender (the `bpy` module) and compare its joints with ours.

    # once: pip install --target /tmp/bpysite bpy   (Blender as a Python module, about 1 GB)
    python3 scripts/blender_import_check.py OUT_DIR CLIP [CLIP ...]    # this project's side
    PYTHONPATH=/tmp/bpysite python3 scripts/blender_import_check.py --blender OUT_DIR

The first form exports each clip (any file `csgn` reads; zip paths work) to OUT_DIR/NAME.bvh the way
the editor's Export does, and writes the joint positions our forward kinematics gives at a few
frames to NAME.json. The second form runs inside Blender's Python: it imports every BVH with
Blender's own importer (File > Import > Motion Capture), poses the armature at the same frames and
prints, per file, the largest and RMS distance between Blender's bone heads and our joints (cm,
converted back to y-up). The two forms run in separate processes because bpy brings its own numpy.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def export_side(out: Path, clips: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import numpy as np

    from csgn_core.io import load_motion, save_motion

    out.mkdir(parents=True, exist_ok=True)
    for i, clip in enumerate(clips):
        m = load_motion(clip)
        name = f"clip{i:02d}"
        save_motion(m, out / f"{name}.bvh")
        frames = np.unique(np.linspace(0, m.n_frames - 1, 6).astype(int)).tolist()
        pos = m.positions[frames]  # (k, J, 3) cm
        (out / f"{name}.json").write_text(json.dumps({
            "source": clip, "joints": list(m.skeleton.joints), "frames": frames, "fps": m.fps,
            "positions": pos.round(4).tolist()}), encoding="utf-8")
        print(f"{out / name}.bvh: {m.n_frames} frames, {m.skeleton.n_joints} joints from {clip}")
    return 0


def blender_side(out: Path) -> int:
    import bpy  # noqa: F401  (only inside Blender's Python)

    worst_all = 0.0
    for bvh in sorted(out.glob("*.bvh")):
        ref = json.loads(bvh.with_suffix(".json").read_text(encoding="utf-8"))
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_anim.bvh(filepath=str(bvh), axis_forward="-Z", axis_up="Y", rotate_mode="NATIVE",
                                update_scene_fps=True, update_scene_duration=True)
        arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
        scene = bpy.context.scene
        errs, missing = [], [j for j in ref["joints"] if j not in arm.pose.bones]
        for f, frame_pos in zip(ref["frames"], ref["positions"]):
            scene.frame_set(scene.frame_start + f)
            for j, p in zip(ref["joints"], frame_pos):
                if j in missing:
                    continue
                h = arm.matrix_world @ arm.pose.bones[j].head  # Blender z-up
                ours = (h.x, h.z, -h.y)  # back to y-up
                errs.append(sum((a - b) ** 2 for a, b in zip(ours, p)) ** 0.5)
        worst = max(errs) if errs else float("nan")
        rms = (sum(e * e for e in errs) / len(errs)) ** 0.5 if errs else float("nan")
        worst_all = max(worst_all, worst)
        print(f"{bvh.name}: Blender {bpy.app.version_string} imported {len(arm.pose.bones)} bones, frames "
              f"{scene.frame_start}-{scene.frame_end} at {scene.render.fps} fps; joints vs ours over "
              f"{len(ref['frames'])} frames: max {worst:.4f} cm, RMS {rms:.4f} cm; missing bones {missing}")
    return 0 if worst_all < 0.5 else 1


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--blender":
        raise SystemExit(blender_side(Path(sys.argv[2])))
    if len(sys.argv) < 3:
        print(__doc__)
        raise SystemExit(2)
    raise SystemExit(export_side(Path(sys.argv[1]), sys.argv[2:]))
