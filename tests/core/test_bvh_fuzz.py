"""Mutated BVH files: the reader either succeeds or raises MotionFileError with a real diagnosis."""
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csgn_core.errors import MotionFileError
from csgn_core.io.bvh.read import parse_bvh

VALID = """HIERARCHY
ROOT Hips
{
  OFFSET 0 90 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 20 1e-05
      CHANNELS 0
      End Site
      {
        OFFSET 0 5 0
      }
    }
  }
  JOINT Leg_L
  {
    OFFSET 10 -40 0
    CHANNELS 2 Xrotation Zrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
  JOINT Leg_R
  {
    OFFSET -10 -40 0
    CHANNELS 3 Yrotation Xrotation Zrotation
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
0 90 0 0 0 0 0 10 0 1 2 3 10 20 5 6 7
1 91 2 5 -5 5 0 10 0 -1 2 -3 -10 20 5 6 7
2 92 4 10 -10 10 0.5 10 0 2.5e+01 2 3 10 -20 -5 -6 -7
"""

_PIECES = re.findall(r"\S+|\s+", VALID)
_WORDS = [p for p in _PIECES if not p.isspace()]
_SPECIAL = ["{", "}", "ROOT", "JOINT", "End", "Site", "OFFSET", "CHANNELS", "MOTION", "HIERARCHY", "Frames:",
            "Frame", "Time:", "0", "-1", "6", "7", "3", "1e309", "nan", "-inf", "1e12", "1000000000000", "0.0",
            "Xposition", "Wrotation", "Hips", "abc", "", "\n", "\r\n", "\t", "#", "1,5", "0x10", "\x00", "１"]

_mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(_PIECES) - 1)),
    st.tuples(st.just("duplicate"), st.integers(0, len(_PIECES) - 1)),
    st.tuples(st.just("replace"), st.integers(0, len(_PIECES) - 1), st.sampled_from(_SPECIAL + _WORDS)),
    st.tuples(st.just("insert"), st.integers(0, len(_PIECES)), st.sampled_from(_SPECIAL)),
    st.tuples(st.just("truncate"), st.integers(0, len(VALID))),
    st.tuples(st.just("garbage"), st.integers(0, len(VALID)), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("text"), st.integers(0, len(VALID)), st.text(min_size=1, max_size=8)),
)


def _apply(mutations) -> str:
    pieces = list(_PIECES)
    for m in mutations:
        kind = m[0]
        if kind in ("delete", "duplicate", "replace", "insert") and pieces:
            i = min(m[1], len(pieces) - 1) if kind != "insert" else min(m[1], len(pieces))
            if kind == "delete":
                del pieces[i]
            elif kind == "duplicate":
                pieces.insert(i, pieces[i] + " ")
            elif kind == "replace":
                pieces[i] = m[2]
            else:
                pieces[i:i] = [" ", m[2], " "]
        else:
            text = "".join(pieces)
            k = min(m[1], len(text))
            if kind == "truncate":
                text = text[:k]
            elif kind == "garbage":
                text = text[:k] + m[2].decode("latin-1") + text[k:]
            elif kind == "text":
                text = text[:k] + m[2] + text[k:]
            pieces = [text]
    return "".join(pieces)


def test_valid_base_parses():
    m = parse_bvh(VALID)
    assert m.n_frames == 3 and m.skeleton.n_joints == 5


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_files_fail_cleanly(mutations):
    text = _apply(mutations)
    try:
        m = parse_bvh(text, source="fuzz.bvh")
    except MotionFileError as e:
        assert str(e).startswith("fuzz.bvh"), e
        # The reader's safety net catches its own slips; a mutation must never need it.
        assert "unexpected parser failure" not in e.reason, (e, text)
        return
    assert m.n_frames >= 1 and np.all(np.isfinite(m.positions))
