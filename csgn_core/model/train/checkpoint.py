"""Training checkpoints: safetensors weights and optimiser state plus a JSON config, written atomically.

A run folder holds ``checkpoints/step-XXXXXXXX/`` folders and a ``checkpoints/latest`` pointer:

- ``config.json``: format, model and train configs, step, seconds trained, the data it used, the
  numpy RNG state and each optimiser's param_groups (plain JSON);
- ``model.safetensors``: ``G.*``, ``D.*`` and ``H.*`` (parameters and batch-norm buffers);
- ``optim.safetensors``: every optimiser's per-parameter tensors, ``OPT.INDEX.KEY`` (e.g.
  ``G.0.exp_avg``).

A checkpoint is written into a hidden temporary folder, renamed into place in one step, and only
then is ``latest`` replaced (itself atomically), so a crash at any point leaves the previous
checkpoint readable. Nothing is pickled; loading never runs code from the files.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from csgn_core.errors import CSGNError
from csgn_core.io.atomic import write_text_atomic
from csgn_core.model.inference import CHECKPOINT_FORMAT

VERSION = 1


def jsonable_groups(opt: torch.optim.Optimizer) -> list[dict]:
    """The optimiser's parameter groups (settings, no tensors) as JSON-safe dicts for a checkpoint."""
    out = []
    for g in opt.state_dict()["param_groups"]:
        d = {}
        for k, v in g.items():
            if isinstance(v, tuple):
                v = list(v)
            if isinstance(v, (bool, int, float, str, list)) or v is None:
                d[k] = v
        out.append(d)
    return out


def optimiser_tensors(name: str, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for idx, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            out[f"{name}.{idx}.{k}"] = t.detach().cpu().contiguous()
    return out


def load_optimiser(name: str, opt: torch.optim.Optimizer, groups: list[dict], tensors: dict[str, torch.Tensor]) -> None:
    state: dict[int, dict] = {}
    prefix = name + "."
    for key, v in tensors.items():
        if not key.startswith(prefix):
            continue
        idx, k = key[len(prefix):].split(".", 1)
        state.setdefault(int(idx), {})[k] = v
    own = opt.state_dict()
    if len(groups) != len(own["param_groups"]):
        raise CSGNError(f"optimiser {name}: checkpoint has {len(groups)} parameter groups, expected {len(own['param_groups'])}")
    merged = []
    for g_own, g in zip(own["param_groups"], groups):
        g2 = dict(g_own)
        # The learning rate and betas are the run's settings (the checkpoint's own, or what the resumed
        # run's --train-set changed): a checkpoint's copy of them would undo a changed lr silently.
        g2.update({k: (tuple(v) if k == "betas" else v) for k, v in g.items() if k not in ("params", "lr", "betas")})
        g2["params"] = g_own["params"]
        merged.append(g2)
    opt.load_state_dict({"state": state, "param_groups": merged})


def save_checkpoint(run_dir: str | Path, step: int, doc: dict, model_tensors: dict[str, torch.Tensor],
                    optim_tensors: dict[str, torch.Tensor], keep: int = 2) -> Path:
    """Write checkpoints/step-XXXXXXXX atomically and point ``latest`` at it; keep the newest ``keep``."""
    ck = Path(run_dir) / "checkpoints"
    ck.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    final = ck / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=ck))
    try:
        save_file({k: v.contiguous() for k, v in model_tensors.items()}, str(tmp / "model.safetensors"))
        save_file({k: v.contiguous() for k, v in optim_tensors.items()}, str(tmp / "optim.safetensors"))
        (tmp / "config.json").write_text(json.dumps({"format": CHECKPOINT_FORMAT, "version": VERSION, **doc}, indent=1),
                                         encoding="utf-8")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if final.exists():  # the same step saved twice (e.g. a final save right after a timed one)
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_text_atomic(ck / "latest", name + "\n")
    old = sorted(p for p in ck.glob("step-*") if p.is_dir() and p.name != name)
    for p in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def resume_point(run_dir: str | Path, resume: bool, check_new: bool = True) -> Path | None:
    """The checkpoint a run continues from (``--resume``), or None for a new run.

    A clear error when ``--resume`` finds no checkpoint, and (with ``check_new``: the lead process)
    when a new run would start over one that is already there.
    """
    from csgn_core.errors import CSGNError

    out = Path(run_dir)
    if resume:
        ck = latest_checkpoint(out)
        if ck is None:
            raise CSGNError(f"--resume: no checkpoint in {out / 'checkpoints'}")
        return ck
    if check_new and (out / "checkpoints" / "latest").exists():
        raise CSGNError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    return None


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    ck = Path(run_dir) / "checkpoints"
    latest = ck / "latest"
    if not latest.is_file():
        return None
    d = ck / latest.read_text(encoding="utf-8").strip()
    return d if (d / "config.json").is_file() else None


def read_checkpoint(folder: str | Path) -> tuple[dict, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(config doc, model tensors, optimiser tensors) of one checkpoint folder."""
    folder = Path(folder)
    try:
        doc = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if doc.get("format") != CHECKPOINT_FORMAT:
            raise CSGNError(f"{folder}: not a CSGN training checkpoint")
        model = load_file(str(folder / "model.safetensors"))
        optim = load_file(str(folder / "optim.safetensors"))
    except CSGNError:
        raise
    except Exception as e:  # safetensors raises its own error type; any failure is a bad checkpoint
        raise CSGNError(f"{folder}: unreadable checkpoint ({e})") from None
    return doc, model, optim
