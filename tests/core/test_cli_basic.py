import json
from pathlib import Path

import numpy as np

from csgn_core.cli import main
from csgn_core.io.npz import read_npz, write_npz

from .helpers import random_motion, toy_skeleton


def test_info_json_and_text(tmp_path, capsys):
    m = random_motion(toy_skeleton(), frames=45, fps=30)
    write_npz(m, tmp_path / "m.npz")
    assert main(["info", str(tmp_path / "m.npz"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 45 and info["fps"] == 30 and info["duration_s"] == 1.5
    assert info["joints"] == 9 and len(info["bones"]) == 8
    assert abs(info["bones"][0]["mean_cm"] - 20.0) < 1e-6
    assert main(["info", str(tmp_path / "m.npz")]) == 0
    assert "45 frames at 30 fps" in capsys.readouterr().out


def test_convert_with_fps(tmp_path, capsys):
    m = random_motion(toy_skeleton(), frames=61, fps=60)
    write_npz(m, tmp_path / "in.npz")
    assert main(["convert", str(tmp_path / "in.npz"), str(tmp_path / "out.npz"), "--fps", "30"]) == 0
    out = read_npz(tmp_path / "out.npz")
    assert out.fps == 30 and out.n_frames == 31
    np.testing.assert_allclose(out.positions, m.positions[::2], atol=1e-6)


def test_errors_are_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(b"\x00garbage")
    for argv in (["info", str(tmp_path / "bad.npz")], ["info", str(tmp_path / "nope.bvh")],
                 ["convert", str(tmp_path / "bad.npz"), str(tmp_path / "o.npz")], ["info", "--skeleton", "nope"],
                 ["data", "build", "no-such-set"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("csgn: error:") and "\n" not in err and "Traceback" not in err, err



def test_skeleton_info_prints_pyramid(capsys):
    assert main(["info", "--skeleton", "tang23"]) == 0
    out = capsys.readouterr().out
    assert "23 joints" in out and "graph pyramid: 23 -> " in out and out.rstrip().endswith(tuple("abcdefghijklmnopqrstuvwxyz"))


def test_convert_bvh_to_vmd_and_back(tmp_path, capsys):
    from ..conftest import require_data

    src = require_data("bandai-namco", "dataset-1.zip") / "dataset-1" / "data" / "dataset-1_walk_normal_001.bvh"
    vmd = tmp_path / "歩き.vmd"
    assert main(["convert", str(src), str(vmd), "--clean-feet", "--reduce", "1"]) == 0
    assert "foot skating" in capsys.readouterr().out and vmd.stat().st_size > 1000
    assert main(["convert", str(vmd), str(tmp_path / "back.bvh"), "--skeleton", "bandai22"]) == 0
    assert main(["info", str(tmp_path / "back.bvh"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert info["joints"] == 22 and info["fps"] == 30


def test_export_project_to_bvh_and_vmd(tmp_path, capsys):
    from csgn_core.editing.project import save_project
    from csgn_core.editing.timeline import Fill, Timeline
    from csgn_core.io import load_motion
    from csgn_core.motion.skeleton import load_named

    sk = load_named("tang23")
    doc = Timeline(50, 25.0, "dance", sk)
    assert main(["export", str(save_project(doc, tmp_path / "empty.csgnproj")), str(tmp_path / "x.bvh")]) == 2
    assert "fill the timeline first" in capsys.readouterr().err
    motion = random_motion(sk, frames=50, fps=25.0)
    doc.set_fill(Fill(motion, {(0, 50): 1}, frozenset(g.signature() for g in doc.gaps())))
    proj = save_project(doc, tmp_path / "ダンス.csgnproj")
    assert main(["export", str(proj), str(tmp_path / "out.bvh"), "--no-clean-feet"]) == 0
    back = load_motion(tmp_path / "out.bvh")
    rms = np.sqrt(np.mean(np.sum((back.positions - motion.positions) ** 2, -1)))
    assert rms < 0.5, rms  # the timeline's own joint positions come back
    assert main(["export", str(proj), str(tmp_path / "out.vmd"), "--reduce", "1"]) == 0
    assert (tmp_path / "out.vmd").read_bytes().startswith(b"Vocaloid Motion Data 0002")


def test_every_command_reaches_its_engine(capsys):
    """Each subcommand's --help runs through csgn's dispatch (a moved engine module fails here)."""
    import pytest

    for argv in (["train", "--help"], ["predict", "--help"], ["complete", "--help"], ["eval", "infill", "--help"],
                 ["eval", "fid", "--help"], ["eval", "motion", "--help"], ["generate", "--help"],
                 ["export", "--help"], ["convert", "--help"], ["info", "--help"], ["data", "build", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0, argv
        assert "usage:" in capsys.readouterr().out, argv


def test_exporting_a_project_that_was_never_filled_names_it(tmp_path, capsys):
    from csgn_core.editing.project import save_project
    from csgn_core.editing.timeline import Timeline

    path = save_project(Timeline(30, 30.0, "dance", toy_skeleton()), tmp_path / "empty.csgnproj")
    assert main(["export", str(path), str(tmp_path / "o.bvh")]) == 2
    err = capsys.readouterr().err.strip()
    assert "empty.csgnproj" in err and "fill the timeline first" in err and "\n" not in err


def test_info_names_the_hierarchy_reads_projects_and_help_lists_vmd(tmp_path, capsys):
    """Issue 15: `csgn info` named the skeleton after the file, failed on a .csgnproj; --help omitted .vmd."""
    import pytest

    from csgn_core.editing.project import save_project
    from csgn_core.editing.timeline import Pin, Timeline
    from csgn_core.io.bvh import write_bvh
    from csgn_core.motion.skeleton import load_named

    sk = load_named("tang23")
    write_bvh(random_motion(sk, 20), tmp_path / "my take.bvh")
    assert main(["info", str(tmp_path / "my take.bvh"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skeleton"] == "tang23"
    write_bvh(random_motion(toy_skeleton(), 20), tmp_path / "toy.bvh")
    assert main(["info", str(tmp_path / "toy.bvh")]) == 0
    assert "skeleton the file's own" in capsys.readouterr().out
    doc = Timeline(90, 30.0, "dance", sk)
    doc.pins = [Pin(random_motion(sk, 30, seed=1), 0, 30, 10, label="step")]
    save_project(doc, tmp_path / "p.csgnproj")
    assert main(["info", str(tmp_path / "p.csgnproj"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 90 and info["pins"][0]["label"] == "step" and info["gaps"] == 2 and not info["filled"]
    assert main(["info", str(tmp_path / "p.csgnproj")]) == 0
    assert "1 pins, 2 gaps, not filled" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert ".vmd" in out and "project" in out


def test_generate_takes_tempo_and_energy_and_refuses_out_of_range(tmp_path):
    model = Path(__file__).resolve().parents[2] / "resources" / "models" / "dance"
    out = tmp_path / "quick.npz"
    assert main(["generate", "--model", str(model), "--seconds", "2", "--tempo", "0.75", "--energy", "1.2",
                 "-o", str(out)]) == 0
    from csgn_core.io import load_motion

    m = load_motion(out)
    assert m.n_frames == 50 and m.meta["tempo"] == 0.75 and m.meta["energy"] == 1.2
    assert main(["generate", "--model", str(model), "--seconds", "2", "--tempo", "5", "-o", str(out)]) == 2


def test_output_piped_into_a_closed_reader_is_not_an_error(tmp_path, monkeypatch, capsys):
    """`csgn info ... | head` closing early raises BrokenPipeError (an OSError): exit 0, no error line."""
    class Closed:
        def write(self, _):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    write_npz(random_motion(toy_skeleton(), frames=10, fps=30), tmp_path / "m.npz")
    monkeypatch.setattr("sys.stdout", Closed())
    assert main(["info", str(tmp_path / "m.npz")]) == 0
    assert "error" not in capsys.readouterr().err
