"""Posing a key by hand: the pose the document shows at a frame with one joint turned, held as a
one-frame pin (what an animator's key is), so the fill around it follows it."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from csgn_core.editing.timeline import Pin, Timeline, TimelineError
from csgn_core.motion import quaternion as Q
from csgn_core.motion.clip import Motion

KEY_LABEL = "key"


def posed_frame(motion: Motion, frame: int, joint: int, euler_deg: Sequence[float], order: str = "XYZ") -> Motion:
    """One frame of ``motion`` with ``joint``'s local rotation turned further by Euler angles (degrees,
    about the joint's own axes, ``order`` as BVH reads it): a (1, J, 4) rotation motion."""
    if not motion.has_rotations:
        raise TimelineError("only a rotation motion can be posed (solve positions to rotations first)")
    if not 0 <= frame < motion.n_frames:
        raise TimelineError(f"frame {frame} is outside the motion (0-{motion.n_frames - 1})")
    if not 0 <= joint < motion.skeleton.n_joints:
        raise TimelineError(f"joint {joint} is not in the skeleton ({motion.skeleton.n_joints} joints)")
    rot = motion.rotations[frame:frame + 1].copy()  # (1, J, 4)
    turn = Q.from_euler(np.asarray(euler_deg, dtype=float), order)
    rot[0, joint] = Q.normalize(Q.multiply(rot[0, joint], turn))
    return Motion(motion.skeleton, motion.fps, rotations=rot, root=motion.root[frame:frame + 1].copy(),
                  meta={"keyed": True})


def keyed(doc: Timeline, frame: int, pose: Motion) -> tuple[Pin | None, Pin]:
    """The pin that holds ``pose`` (one frame) at ``frame``: a new one, or the key already there with
    its pose replaced (same id, next version). A longer pin over the frame refuses: its frames are a
    clip's, edited through its source, not keyed over."""
    if pose.n_frames != 1:
        raise TimelineError(f"a key holds one frame, got {pose.n_frames}")
    if not 0 <= frame < doc.length:
        raise TimelineError(f"frame {frame} is outside the timeline (0-{doc.length - 1})")
    here = doc.pin_at(frame)
    if here is None:
        return None, Pin(pose, 0, 1, frame, label=KEY_LABEL)
    if here.length != 1:
        raise TimelineError(f"frame {frame} is inside pin {here.label or here.id} ({here.at}-{here.stop - 1}); "
                            "key a frame in a gap, or unpin that range first")
    return here, Pin(pose, 0, 1, frame, id=here.id, label=here.label, version=here.version + 1)
