import zipfile

import numpy as np
import pytest

from csgn_core.editing.project import ProjectFileError, load_project, save_project
from csgn_core.editing.timeline import Fill, Pin, Timeline, TimelineError

from .helpers import random_motion, toy_skeleton


def _doc():
    sk = toy_skeleton()
    doc = Timeline(200, 30.0, "toy", sk)
    src = random_motion(sk, frames=60)
    return doc, src


def test_gaps_between_pins_and_edges():
    doc, src = _doc()
    assert [(g.start, g.stop) for g in doc.gaps()] == [(0, 200)]
    a = doc.add_pin(Pin(src, 0, 20, 50, label="a"))
    b = doc.add_pin(Pin(src, 30, 31, 120, label="key"))  # a single-frame keyframe pin
    assert [(g.start, g.stop) for g in doc.gaps()] == [(0, 50), (70, 120), (121, 200)]
    g = doc.gap_at(80)
    assert g.left is a and g.right is b
    assert doc.pinned_mask().sum() == 21
    doc.move_pin(a.id, 0)  # touching the start
    assert [(g.start, g.stop) for g in doc.gaps()] == [(20, 120), (121, 200)]


def test_edits_validate():
    doc, src = _doc()
    doc.add_pin(Pin(src, 0, 20, 50))
    with pytest.raises(TimelineError, match="overlap"):
        doc.add_pin(Pin(src, 0, 10, 60))
    with pytest.raises(TimelineError, match="outside the timeline"):
        doc.add_pin(Pin(src, 0, 10, 195))
    with pytest.raises(TimelineError, match="outside its source"):
        Pin(src, 50, 70, 0)
    with pytest.raises(TimelineError):
        doc.set_length(60)
    assert doc.length == 200 and len(doc.pins) == 1


def test_staleness_follows_edits():
    doc, src = _doc()
    a = doc.add_pin(Pin(src, 0, 20, 50))
    doc.add_pin(Pin(src, 20, 40, 150))
    assert doc.is_stale() and len(doc.stale_gaps()) == 3
    fill = Fill(random_motion(doc.skeleton, frames=200), {(g.start, g.stop): 7 for g in doc.gaps()},
                frozenset(g.signature() for g in doc.gaps()))
    doc.set_fill(fill)
    assert not doc.is_stale()
    doc.move_pin(a.id, 40)
    stale = [(g.start, g.stop) for g in doc.stale_gaps()]
    assert stale == [(0, 40), (60, 150)]  # the gap after the second pin is untouched


def test_events_reach_views():
    doc, src = _doc()
    seen = []
    doc.events.connect(lambda kind, payload: seen.append(kind))
    p = doc.add_pin(Pin(src, 0, 10, 0))
    doc.move_pin(p.id, 5)
    doc.remove_pin(p.id)
    assert seen == ["pin_added", "pin_changed", "pin_removed"]


def test_project_round_trip_non_ascii(tmp_path):
    doc, src = _doc()
    doc.add_pin(Pin(src, 5, 25, 10, label="ステップ"))
    doc.add_pin(Pin(src, 40, 41, 100))
    gaps = doc.gaps()
    doc.set_fill(Fill(random_motion(doc.skeleton, frames=200, seed=3), {(g.start, g.stop): i for i, g in enumerate(gaps)},
                      frozenset(g.signature() for g in gaps)))
    path = tmp_path / "踊り project" / "take 1.csgnproj"
    save_project(doc, path)
    back = load_project(path)
    assert back.length == 200 and back.fps == 30 and back.model == "toy"
    assert [(p.id, p.label, p.src_start, p.src_stop, p.at) for p in back.pins] == \
        [(p.id, p.label, p.src_start, p.src_stop, p.at) for p in doc.pins]
    np.testing.assert_allclose(back.pins[0].source.positions, src.positions, atol=1e-9)
    np.testing.assert_allclose(back.fill.motion.positions, doc.fill.motion.positions, atol=1e-9)
    assert back.fill.seeds == doc.fill.seeds and not back.is_stale()


def test_project_load_errors(tmp_path):
    doc, src = _doc()
    doc.add_pin(Pin(src, 0, 10, 0))
    good = save_project(doc, tmp_path / "good.csgnproj")
    (tmp_path / "junk.csgnproj").write_bytes(b"junk")
    with pytest.raises(ProjectFileError, match="not a CSGN project"):
        load_project(tmp_path / "junk.csgnproj")
    # a project whose pin motion is missing
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "broken.csgnproj", "w") as zout:
        zout.writestr("project.json", zin.read("project.json"))
    with pytest.raises(ProjectFileError, match="missing pins/"):
        load_project(tmp_path / "broken.csgnproj")
    # overlapping pins written by hand
    import json
    meta = json.loads(zipfile.ZipFile(good).read("project.json"))
    meta["pins"].append(dict(meta["pins"][0], id="other"))
    with zipfile.ZipFile(tmp_path / "overlap.csgnproj", "w") as zout, zipfile.ZipFile(good) as zin:
        zout.writestr("project.json", json.dumps(meta))
        for n in zin.namelist():
            if n != "project.json":
                zout.writestr(n, zin.read(n))
    with pytest.raises(ProjectFileError, match="overlap"):
        load_project(tmp_path / "overlap.csgnproj")


def test_documents_pickle_without_their_listeners():
    import pickle

    doc = Timeline(10, 25.0)
    doc.events.connect(lambda kind, payload: None)
    copy = pickle.loads(pickle.dumps(doc))
    assert copy.length == 10 and copy.pins == [] and copy.pins is not doc.pins
    assert copy.events is not doc.events


def test_the_timeline_answers_the_editors_questions():
    sk = toy_skeleton()
    doc = Timeline(100, 30.0, "dance", sk)
    a = Pin(random_motion(sk, 30, seed=1), 0, 20, 10, label="a")
    b = Pin(random_motion(sk, 30, seed=2), 5, 25, 60, label="b")
    doc.pins = doc.check_pins([b, a])
    assert [p.label for p in doc.pins] == ["a", "b"]
    assert doc.pin_at(10) is doc.pins[0] and doc.pin_at(29) is doc.pins[0] and doc.pin_at(30) is None
    assert all(doc.is_gap_stale(g) for g in doc.gaps())  # nothing filled yet
    assert doc.snap_targets(playhead=42, exclude=a.id) == [0, 100, 42, 60, 80]
    new, pins = doc.moved(a.id, 35)
    assert new.at == 35 and [p.at for p in pins] == [35, 60] and doc.pin(a.id).at == 10  # the document is untouched
    with pytest.raises(TimelineError):
        doc.moved(a.id, 50)  # would overlap b
    new, _ = doc.trimmed(a.id, 4, 20)
    assert (new.src_start, new.src_stop, new.at) == (4, 20, 14)  # frame 4 of the source stays at timeline 14
    with pytest.raises(TimelineError):
        doc.trimmed(a.id, 4, 31)  # past the source
