"""Mutated motion (.npz) and project (.csgnproj) files: only the project's own one-line errors,
in bounded time and memory. Seeded; CSGN_FUZZ_CASES raises the count per format (default 150)."""
import io
import json
import os
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from csgn_core.editing.project import load_project, save_project
from csgn_core.editing.timeline import Pin, Timeline
from csgn_core.errors import CSGNError
from csgn_core.io.npz import motion_from_npz_bytes, npz_bytes

from .helpers import random_motion, toy_skeleton

CASES = int(os.environ.get("CSGN_FUZZ_CASES", "150"))


def _rezip(data: bytes, edit) -> bytes:
    """The zip with one member's uncompressed bytes passed through ``edit(name, raw) -> raw``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info.filename)))
    return out.getvalue()


def _flip(rng, raw: bytes, n: int) -> bytes:
    b = bytearray(raw)
    for _ in range(n):
        if b:
            b[rng.integers(len(b))] = rng.integers(256)
    return bytes(b)


def _header_edit(rng, raw: bytes) -> bytes:
    """A .npy member whose header declares another shape or dtype."""
    if not raw.startswith(b"\x93NUMPY"):
        return _flip(rng, raw, 3)
    end = raw.index(b"\n") + 1
    header = raw[10:end].decode("latin1")
    choice = rng.integers(4)
    if choice == 0:
        header = header.replace("(", f"({int(rng.integers(1, 2**40))}, ", 1)
    elif choice == 1:
        header = header.replace("'descr': '", "'descr': '|O", 1)
    elif choice == 2:
        header = header.replace("(", "(-3, ", 1)
    else:
        header = header.replace("}", "'x': " + "[" * 500 + "]" * 500 + "}", 1)
    h = header.encode("latin1")
    return raw[:8] + len(h).to_bytes(2, "little") + h + raw[end:]


def _json_edit(rng, raw: bytes) -> bytes:
    doc = json.loads(raw)
    keys = list(doc)
    k = keys[rng.integers(len(keys))]
    doc[k] = [None, "x", -1, 2**70, 1e308, {"a": []}, [[[]]], True][rng.integers(8)]
    text = json.dumps(doc)
    if rng.random() < 0.2:
        text = text.replace("[", "[" * 3000, 1)
    if rng.random() < 0.2:
        text = text.replace("1", "NaN", 1)
    return text.encode("utf-8")


def _damage(rng, data: bytes, kind: int) -> bytes:
    """The two mutations every format gets: kind 0 flips 1-19 bytes, kind 1 truncates."""
    if kind == 0:
        return _flip(rng, data, int(rng.integers(1, 20)))
    return data[: int(rng.integers(len(data)))]


def _mutate(rng, data: bytes, json_member: str | None) -> bytes:
    kind = rng.integers(5)
    if kind < 2:
        return _damage(rng, data, kind)
    if kind == 2:
        return _rezip(data, lambda name, raw: _flip(rng, raw, int(rng.integers(1, 8))) if rng.random() < 0.5 else raw)
    if kind == 3 or json_member is None:
        return _rezip(data, lambda name, raw: _header_edit(rng, raw) if name.endswith(".npy") and rng.random() < 0.5 else raw)
    return _rezip(data, lambda name, raw: _json_edit(rng, raw) if name == json_member else raw)


def mutate_project(rng, data: bytes) -> bytes:
    """A project's mutations: its members are npz files, mutated inside too, and its manifest JSON."""
    if rng.random() < 0.3:
        return _rezip(data, lambda name, raw: _mutate(rng, raw, None) if name.endswith(".npz") else raw)
    return _mutate(rng, data, "project.json")


def _run(read, cases, name: str | None = None):
    """Every case either reads or raises the project's error: one line (naming ``name``, the file,
    when given), under 5 s and 300 MB."""
    tracemalloc.start()
    try:
        for i, data in enumerate(cases):
            t = time.perf_counter()
            tracemalloc.reset_peak()
            try:
                read(data)
            except CSGNError as e:
                msg = str(e)
                assert "\n" not in msg and msg, (i, msg)
                assert name is None or name in msg, (i, msg)
            dt = time.perf_counter() - t
            assert dt < 5.0, (i, dt)
            assert tracemalloc.get_traced_memory()[1] < 300 << 20, i
    finally:
        tracemalloc.stop()


def test_mutated_motion_files_give_one_line_errors():
    good = npz_bytes(random_motion(toy_skeleton(), 60, seed=0))
    assert motion_from_npz_bytes(good, "x.npz").n_frames == 60
    rng = np.random.default_rng(7)
    _run(lambda d: motion_from_npz_bytes(d, "fuzz.npz"), (_mutate(rng, good, None) for _ in range(CASES)), "fuzz.npz")


def test_mutated_project_files_give_one_line_errors(tmp_path):
    sk = toy_skeleton()
    doc = Timeline(90, 30.0, "dance", sk)
    doc.pins = [Pin(random_motion(sk, 30, seed=1), 0, 30, 10, label="a")]
    path = save_project(doc, tmp_path / "p.csgnproj")
    good = path.read_bytes()
    rng = np.random.default_rng(11)
    target = tmp_path / "fuzz.csgnproj"

    def read(data: bytes):
        target.write_bytes(data)
        load_project(target)

    _run(read, (mutate_project(rng, good) for _ in range(CASES)), "fuzz.csgnproj")


@pytest.mark.parametrize("declared", [2**33, 2**45])
def test_a_huge_declared_array_is_refused_before_allocation(declared):
    good = npz_bytes(random_motion(toy_skeleton(), 20, seed=0))

    def grow(name, raw):
        if not name.startswith("rotations"):
            return raw
        end = raw.index(b"\n") + 1
        h = raw[10:end].decode("latin1").replace("(20,", f"({declared},").encode("latin1")
        return raw[:8] + len(h).to_bytes(2, "little") + h + raw[end:]

    with pytest.raises(CSGNError, match="declares"):
        motion_from_npz_bytes(_rezip(good, grow), "big.npz")


def test_mutated_plans_give_one_line_errors(tmp_path):
    from csgn_core.editing.plan import read_plan

    good = {"format": "csgn-plan", "model": "dance", "seconds": 4, "seed": 1,
            "pins": [{"file": "a.npz", "start": 0, "end": 29, "at": 10}]}
    rng = np.random.default_rng(5)
    plan = tmp_path / "plan.json"

    def read(data: bytes):
        plan.write_bytes(data)
        read_plan(plan)

    def cases():
        base = json.dumps(good).encode()
        for _ in range(CASES):
            k = rng.integers(3)
            if k == 0:
                yield _flip(rng, base, int(rng.integers(1, 10)))
            elif k == 1:
                yield _json_edit(rng, base)
            else:
                doc = json.loads(base)
                doc["pins"][0][["file", "start", "end", "at"][rng.integers(4)]] = [None, "x", -5, 1e400, 2**80, [[]]][rng.integers(6)]
                yield json.dumps(doc).replace("Infinity", "1e400").encode()

    _run(read, cases(), "plan.json")


def test_mutated_model_configs_give_one_line_errors(tmp_path):
    import shutil

    from csgn_core.model.inference import export_model, load_model

    from .helpers import toy_trainer

    src = export_model(toy_trainer().inference_model(), tmp_path / "good")
    good = json.loads((src / "config.json").read_text())
    load_model(src)
    rng = np.random.default_rng(3)
    folder = tmp_path / "fuzz"
    shutil.copytree(src, folder)
    values = [None, "x", -7, 0, 2**31, 1e300, float("nan"), [], {"a": 1}, True, 3.5]

    def read(data: bytes):
        (folder / "config.json").write_bytes(data)
        load_model(folder)

    def cases():
        for _ in range(min(CASES, 120)):
            doc = json.loads(json.dumps(good))
            m = doc["model"]
            for _ in range(int(rng.integers(1, 3))):
                key = list(m)[rng.integers(len(m))]
                m[key] = values[rng.integers(len(values))]
            if rng.random() < 0.2:
                m["stats"] = {"vel_scale": values[rng.integers(len(values))]}
            text = json.dumps(doc, allow_nan=True)
            yield (_flip(rng, text.encode(), 3) if rng.random() < 0.2 else text.encode())

    _run(read, cases(), "fuzz")
