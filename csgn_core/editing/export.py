"""Export a timeline document's filled motion to BVH or VMD: the command line and the editor share this."""
from __future__ import annotations

from pathlib import Path

from csgn_core.editing.timeline import Timeline
from csgn_core.errors import CSGNError
from csgn_core.io import save_motion
from csgn_core.motion.ops import resample


def export_timeline(doc: Timeline, path: str | Path, *, fps: float | None = None, clean_feet: bool = False,
                    **format_options) -> dict:
    """Write the document's filled motion; returns a small report (frames, fps, foot skating if cleaned).

    Refuses a document that has never been filled, and says so when parts of it are out of date.
    """
    motion = doc.current_motion()
    if motion is None:
        raise CSGNError("nothing to export yet: fill the timeline first")
    report: dict = {"stale_gaps": len(doc.stale_gaps())}
    if Path(path).suffix.lower() == ".vmd":
        from csgn_core.io.mmd import FPS as VMD_FPS

        fps = VMD_FPS  # VMD keys are 30 fps frames: resample here, so the report says what the file holds
    if fps and abs(fps - motion.fps) > 1e-9:
        motion = resample(motion, fps)
    if clean_feet:
        from csgn_core.motion.footclean import clean_for_export

        motion, feet = clean_for_export(motion)
        report.update(skating_before=feet["skating_before"], skating_after=feet["skating_after"])
    save_motion(motion, path, **format_options)
    report.update(path=str(path), frames=motion.n_frames, fps=motion.fps)
    return report
