"""A whole Kinect set (a folder or archive of MSR or UTKinect files) read at once.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from csgn_core.errors import MotionFileError
from csgn_core.io.archive import iter_files
from csgn_core.io.kinect.common import KinectParameterError, check_kind
from csgn_core.io.kinect.msr import MSR_NAME, read_msr
from csgn_core.io.kinect.utkinect import UT_NAME, find_utkinect_labels, read_utkinect, read_utkinect_labels
from csgn_core.motion.clip import Motion


# --- whole sets -----------------------------------------------------------------------------------
def load_kinect_set(root: str | Path, kind: str, **options) -> tuple[list[Motion], list[str]]:
    """Every file of an MSR ("msr") or UTKinect ("utkinect") set below a folder or inside a zip.

    Files are found by globbing (the sets have gaps). A file that cannot be read is skipped and
    reported as one line ``path[:line]: reason`` in the second list; the rest load. ``options`` go to
    read_utkinect (labels, duplicates, resample, max_step, fps, ids_per_second); MSR takes none.
    """
    check_kind(kind)
    root = Path(root)
    if not root.exists():
        raise MotionFileError(root, "no such folder or archive")
    if kind == "msr" and options:
        raise KinectParameterError(f"read_msr takes no options, got {', '.join(options)}")
    pattern, name_re = ("**/*.txt", MSR_NAME if kind == "msr" else UT_NAME)
    paths = [p for p in iter_files(root, pattern) if name_re.match(p.name)]
    if not paths:
        expected = "aXX_sYY_eZZ_skeleton3D.txt" if kind == "msr" else "joints_sXX_eYY.txt"
        return [], [f"{root}: no {kind} files ({expected}) found"]
    motions: list[Motion] = []
    errors: list[str] = []
    found = None
    if kind == "utkinect" and "labels" not in options:
        # Parse the label file once, not once per sequence.
        found = find_utkinect_labels(paths[0])
        if found is not None:
            try:
                options["labels"] = read_utkinect_labels(found)
            except MotionFileError as e:
                errors.append(f"{e} (labels not used)")
                options["labels"] = False
    for p in paths:
        try:
            m = read_msr(p) if kind == "msr" else read_utkinect(p, **options)
        except MotionFileError as e:
            errors.append(str(e))
            continue
        if kind == "utkinect" and isinstance(options.get("labels"), Mapping) and found is not None:
            m.meta.setdefault("label_file", str(found))
        motions.append(m)
    return motions, errors
