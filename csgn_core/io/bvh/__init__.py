"""BVH motion files: the file's text (``syntax``), reading into a rotation Motion (``read``) and writing
one back (``write``)."""
from csgn_core.io.bvh.read import parse_bvh, read_bvh
from csgn_core.io.bvh.syntax import MAX_ABS_VALUE, MAX_CHANNELS_PER_JOINT, MAX_FRAMES, MAX_JOINTS
from csgn_core.io.bvh.write import write_bvh

__all__ = ["MAX_ABS_VALUE", "MAX_CHANNELS_PER_JOINT", "MAX_FRAMES", "MAX_JOINTS", "parse_bvh", "read_bvh", "write_bvh"]
