"""Motion as arrays and pure functions on it: skeletons and graph pyramids, quaternions, ``Motion``
(``clip``), ops, heading, the positions-to-rotations solve, retargeting, in-betweens, foot contacts
and foot clean-up."""
from csgn_core.motion.clip import Motion

__all__ = ["Motion"]
