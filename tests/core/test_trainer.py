import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from csgn_core.cli.train import train_main
from csgn_core.errors import CSGNError
from csgn_core.model.inference import generate, load_model
from csgn_core.model.train.checkpoint import latest_checkpoint, read_checkpoint
from csgn_core.model.train.trainer import Trainer
from csgn_core.model.train.windows import WindowSampler

from .helpers import toy_dataset, toy_trainer

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_torch_thread")




def state(tr: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in tr.model_tensors().items()}


def test_sampler_windows_are_real_data():
    ds = toy_dataset()
    s = WindowSampler(ds, 16)
    x = s.sample(5, np.random.default_rng(0), yaw=False)
    assert x.shape == (5, 9, 16, 9)
    assert s.frames == int(ds.clip_start[3])  # only the generator split
    assert np.all(np.abs(x.numpy()) <= 1.0)


def test_training_steps_move_losses_and_weights():
    tr = toy_trainer()
    before = state(tr)
    logs = [tr.train_step() for _ in range(4)]
    assert tr.step == 4
    assert all(np.isfinite(v) for m in logs for v in m.values())
    assert len({round(m["loss_d"], 6) for m in logs}) > 1 and len({round(m["cycle_z"], 6) for m in logs}) > 1
    after = tr.model_tensors()
    for net in "GDH":
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net + ".")), net


def test_z_cycle_reaches_g_only_when_asked():
    from csgn_core.model.train.trainer import _scale_grad
    x = torch.ones(3, requires_grad=True)
    (_scale_grad(x, 0.25) * 2.0).sum().backward()
    assert torch.equal(_scale_grad(x, 0.25), x) and torch.allclose(x.grad, torch.full((3,), 0.5))
    plain, through = toy_trainer(), toy_trainer()
    plain.tcfg.cycle_z_g, through.tcfg.cycle_z_g = 0.0, 1.0
    for tr in (plain, through):
        tr.train_step()
    a, b = plain.model_tensors(), through.model_tensors()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("D."))  # the critic step comes first
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("G.")), "no z-cycle gradient reached G"


def test_checkpoint_reload_is_bit_identical_and_resume_continues_exactly(tmp_path):
    a = toy_trainer(seed=3)
    for _ in range(2):
        a.train_step()
    folder = a.save(tmp_path)
    assert folder.name == "step-00000002" and latest_checkpoint(tmp_path) == folder
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "optim.safetensors"}
    b = toy_trainer(seed=99)
    b.load(folder)
    assert b.step == 2
    sa, sb = a.model_tensors(), b.model_tensors()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    for name in "GDH":
        oa, ob = a.opt[name].state_dict(), b.opt[name].state_dict()
        for i in oa["state"]:
            for key, v in oa["state"][i].items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(ob["state"][i][key])), (name, i, key)
    # Continuing both gives the same weights: optimiser and RNG state came back too.
    ma = [a.train_step() for _ in range(2)]
    mb = [b.train_step() for _ in range(2)]
    assert ma[-1]["loss_d"] == mb[-1]["loss_d"]
    for k, v in a.model_tensors().items():
        assert torch.equal(v, b.model_tensors()[k]), k
    assert b.step == 4


def test_a_resumed_run_takes_its_changed_learning_rate(tmp_path):
    a = toy_trainer(seed=3)
    a.train_step()
    folder = a.save(tmp_path)
    b = toy_trainer(seed=3)
    b.tcfg.lr = a.tcfg.lr / 4  # as `csgn train --resume --train-set lr=...` builds it
    b.opt["G"] = torch.optim.Adam(b.G.parameters(), lr=b.tcfg.lr, betas=(0.0, 0.9))
    b.load(folder)
    assert b.opt["G"].param_groups[0]["lr"] == a.tcfg.lr / 4 and b.opt["G"].param_groups[0]["betas"] == (0.0, 0.9)
    assert b.opt["D"].param_groups[0]["lr"] == a.opt["D"].param_groups[0]["lr"]
    assert torch.equal(b.opt["G"].state_dict()["state"][0]["exp_avg"], a.opt["G"].state_dict()["state"][0]["exp_avg"])


def test_g_takes_its_own_rate_and_momentum_and_keeps_them_on_resume(tmp_path):
    """lr_g / beta1_g set G's optimiser apart from the critic's (an autoencoder phase at 1e-3 resumed with
    the critic at the WGAN-GP rate); a resumed run with other values takes them, with G's Adam state."""
    a = toy_trainer(seed=4)
    a.tcfg.override("lr_g=0.001")
    a.tcfg.override("beta1_g=0.9")
    a = type(a)(a.mcfg, a.tcfg, a.sampler, seed=4)
    assert a.opt["G"].param_groups[0]["lr"] == 0.001 and a.opt["G"].param_groups[0]["betas"][0] == 0.9
    assert a.opt["D"].param_groups[0]["lr"] == a.tcfg.lr and a.opt["D"].param_groups[0]["betas"][0] == a.tcfg.beta1
    a.train_step()
    folder = a.save(tmp_path)
    b = toy_trainer(seed=4)
    b.tcfg.override("lr_g=0.0005")
    b = type(b)(b.mcfg, b.tcfg, b.sampler, seed=4)
    b.load(folder)
    assert b.opt["G"].param_groups[0]["lr"] == 0.0005 and b.opt["G"].param_groups[0]["betas"][0] == b.tcfg.beta1
    assert torch.equal(b.opt["G"].state_dict()["state"][0]["exp_avg"], a.opt["G"].state_dict()["state"][0]["exp_avg"])
    assert b.tcfg.from_dict(b.tcfg.to_dict()).lr_g == 0.0005  # saved in the checkpoint's config


def test_train_main_writes_run_and_resumes(tmp_path):
    data = tmp_path / "toy.npz"
    toy_dataset().save(data)
    out = tmp_path / "run"
    base = ["--data", str(data), "--preset", "tiny", "--out", str(out), "--no-progress", "--device", "cpu"]
    assert train_main(base + ["--steps", "3"]) == 0
    ck = latest_checkpoint(out)
    doc, _, _ = read_checkpoint(ck)
    assert doc["state"]["step"] == 3
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["step"] == 1 and {"loss_d", "wasserstein", "penalty", "cycle_z", "cycle_x"} <= set(lines[0])
    assert list((out / "samples").glob("*.png"))
    model = load_model(out)
    assert generate(model, 0.5, seed=1).n_frames == 15
    with pytest.raises(CSGNError):
        train_main(base + ["--steps", "4"])  # the folder holds a run: --resume or another --out
    assert train_main(base + ["--steps", "5", "--resume"]) == 0
    assert read_checkpoint(latest_checkpoint(out))[0]["state"]["step"] == 5
    assert len(list((out / "checkpoints").glob("step-*"))) == 2  # older ones are pruned


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_data_parallel_two_processes_with_gloo(tmp_path):
    data = tmp_path / "toy.npz"
    toy_dataset().save(data)
    out = tmp_path / "ddp"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    cmd = ["torchrun", "--nproc_per_node=2", "--standalone", "-m", "csgn_core.cli.train", "--data", str(data),
           "--preset", "tiny", "--out", str(out), "--steps", "3", "--device", "cpu", "--no-progress"]
    # A session of its own, so a hang can be killed with all of torchrun's workers (no orphans).
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        pytest.fail("torchrun with 2 gloo processes did not finish within 180 s")
    r = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if r.returncode != 0 and ("rendezvous" in r.stderr.lower() or "address already in use" in r.stderr.lower()):
        pytest.skip(f"torchrun could not set up its process group here: {r.stderr[-300:]}")
    assert r.returncode == 0, r.stderr[-3000:]
    doc, _, _ = read_checkpoint(latest_checkpoint(out))
    assert doc["state"]["step"] == 3 and doc["state"]["world"] == 2
    assert doc["state"]["ranks_in_sync"]  # gradients were averaged: both processes hold the same weights


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.communicate()


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no catchable SIGTERM (terminate() ends the process)")
def test_sigterm_saves_a_checkpoint_and_stops(tmp_path):
    import signal
    import time

    data = tmp_path / "toy.npz"
    toy_dataset().save(data)
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "csgn_core.cli.train", "--data", str(data), "--preset", "tiny", "--out", str(out),
           "--minutes", "10", "--device", "cpu", "--no-progress", "--threads", "1"]
    # As a shell's background job starts it: SIGINT ignored, so only the handler can catch the stop.
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 120
        log = out / "metrics.jsonl"
        while time.monotonic() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 3):
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped at step" in stderr, stderr[-2000:]
    step = read_checkpoint(latest_checkpoint(out))[0]["state"]["step"]
    assert step >= 3 and step == json.loads(log.read_text().splitlines()[-1])["step"]


def test_fitting_h_to_a_frozen_g_moves_only_h_and_reloads(tmp_path):
    from csgn_core.model.train.invert import fit_inverse

    tr = toy_trainer()
    tr.train_step()
    before = state(tr)
    logs = fit_inverse(tr, steps=6, lr=1e-3, job=True)
    assert len(logs) == 6 and all(np.isfinite(v) for m in logs for v in m.values())
    after = tr.model_tensors()
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("H.")), "G and D stay frozen"
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("H."))
    assert all(p.requires_grad for p in tr.G.parameters()) and tr.opt["H"].param_groups[0]["lr"] == (tr.tcfg.lr_h or tr.tcfg.lr)
    tr.train_step()  # joint training goes on from the fitted H with its new optimiser
    path = tr.save(tmp_path)
    tr2 = toy_trainer()
    tr2.load(path)
    assert all(torch.equal(tr.model_tensors()[k], v) for k, v in tr2.model_tensors().items())
