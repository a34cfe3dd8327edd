"""MikuMikuDance: the standard MMD skeleton (``rig``), bone maps (``bonemaps``), project motion to VMD
keys (``export``, through the shared ``retarget`` core) and VMD keys back to project motion (``vmd_import``). The VMD bytes themselves are
``csgn_core.io.vmd``."""
from csgn_core.io.mmd.rig import FPS, STANDARD_HEADS, UNIT_CM, MmdRig, standard_rig  # noqa: I001 (rig first)
from csgn_core.io.mmd.bonemaps import BoneMap, bone_map_for, load_bone_map, named_bone_maps
from csgn_core.io.mmd.export import export_vmd, motion_to_vmd, reduce_keys
from csgn_core.io.mmd.vmd_import import direction_errors, import_vmd, sample_track, vmd_pose, vmd_to_motion

__all__ = ["FPS", "STANDARD_HEADS", "UNIT_CM", "BoneMap", "MmdRig", "bone_map_for", "direction_errors", "export_vmd",
           "import_vmd", "load_bone_map", "motion_to_vmd", "named_bone_maps", "reduce_keys", "sample_track",
           "standard_rig", "vmd_pose", "vmd_to_motion"]
