"""One training run of CSGN: build or resume the trainer, step it, write logs, samples, checkpoints
and the exported model folder. ``csgn train`` (``cli/train.py``) fills a ``TrainRun`` and calls ``train``.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from csgn_core.errors import CSGNError
from csgn_core.model.config import ModelConfig, TrainConfig, preset
from csgn_core.model.features import FeatureCodec
from csgn_core.model.inference import CSGNModel, generate, measure_inverse_fidelity
from csgn_core.model.networks import count_parameters
from csgn_core.model.train.checkpoint import read_checkpoint, resume_point
from csgn_core.model.train.trainer import Dist, Trainer
from csgn_core.model.train.windows import WindowSampler, measure_diff_gain, resolve_dataset
from csgn_core.motion.contacts import contact_point_indices
from csgn_core.motion.skeleton import Skeleton


# Model settings a resumed run may change: foot contacts (G's spare channels), and H's shape
# (H is then trained from new weights).
@dataclass
class TrainRun:
    """What one run trains on and for how long; ``None`` keeps the preset's (or checkpoint's) value.
    ``set``/``train_set`` are ``NAME=VALUE`` overrides of the model and training settings."""

    data: str
    out: str
    preset: str = "cpu"
    resume: bool = False
    seed: int = 0
    device: str = "auto"
    steps: int | None = None
    minutes: float | None = None
    gp_target: float | None = None
    batch: int | None = None
    n_critic: int | None = None
    cycle_x_g: float | None = None
    cycle_z_g: float | None = None
    sigma_bar: float | None = None
    set: list[str] = field(default_factory=list)
    train_set: list[str] = field(default_factory=list)
    checkpoint_minutes: float | None = None
    sample_minutes: float | None = None
    threads: int | None = None
    no_progress: bool = False


RESUMABLE_SETTINGS = ("foot_contacts", "h_width", "h_min_width", "h_kt", "h_varying", "h_graph")


def _feet_known(skeleton: Skeleton, say: bool) -> bool:
    """Whether the skeleton has a foot table (``footclean.FEET``); without one the run trains
    without foot contacts, and says so."""
    from csgn_core.motion.contacts import feet_for

    try:
        feet_for(skeleton)
        return True
    except CSGNError as e:
        if say:
            print(f"csgn train: foot contacts off ({e})", file=sys.stderr)
        return False


# --- plots ---------------------------------------------------------------------------------------------------
def plot_sample(model: CSGNModel, path: Path, seconds: float | None = None, seed: int = 0) -> Path:
    """PNG of a generated sample: joint heights and root path over time, and bone lengths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = 2 * model.cfg.window / model.fps if seconds is None else seconds
    m = generate(model, seconds, seed)
    pos = m.positions  # (F, J, 3)
    t = np.arange(m.n_frames) / m.fps
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    ax[0].plot(t, pos[:, :, 1], lw=0.8)
    ax[0].set(title="joint heights (cm)", xlabel="s")
    rel = pos - pos[:, :1]
    ax[1].plot(t, rel[:, :, 0], lw=0.6)
    ax[1].plot(t, rel[:, :, 2], lw=0.6, ls="--")
    ax[1].set(title="joint x (solid) / z (dashed) relative to root (cm)", xlabel="s")
    bl = m.bone_lengths()
    ax[2].plot(t, bl, lw=0.8)
    ax[2].set(title="bone lengths (cm)", xlabel="s")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _log_quality(trainer: Trainer, log, writer) -> float:
    from csgn_core.model.train.quality import quick_fd

    fd = quick_fd(trainer.G, trainer.prior, trainer.codec, trainer.sampler, device=trainer.device)
    with torch.no_grad():
        fidelity = measure_inverse_fidelity(trainer.inference_model())
    log.write(json.dumps({"step": trainer.step, "fd": fd, "inverse_fidelity": round(fidelity, 4),
                          "time_s": round(trainer.elapsed, 3)}) + "\n")
    log.flush()
    if writer is not None:
        writer.add_scalar("quality/window_fd", fd, trainer.step)
    return fd


def _device(name: str, dist: Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise CSGNError("--device cuda: no CUDA device available")
        return torch.device("cuda", dist.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def train(opts: "TrainRun") -> int:
    """Run ``opts`` in this process (one rank of a torchrun group when launched by one)."""
    dist = Dist()
    device = _device(opts.device, dist)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    dist.init(device)
    try:
        rc = _train(opts, dist, device)
        # Leave together: rank 0 still writes the model folder when the others are done, and a gloo
        # rank that tears its group down under a busy peer was seen to abort ("terminate called").
        dist.barrier()
        return rc
    finally:
        # The trainer's DDP wrappers hold the process group; left to the cycle collector they were
        # freed at interpreter exit, after the group was torn down, and a gloo rank aborted there
        # once more (session 19, under load). Collect them while the group still stands.
        import gc

        gc.collect()
        dist.close()


def fit_to_data(mcfg: ModelConfig, ds, seed: int = 0, say: bool = True) -> WindowSampler:
    """A new run's data side: foot contacts where the skeleton's feet are known, the window sampler,
    and the feature statistics (with the measured difference gains) filled into ``mcfg``."""
    if mcfg.foot_contacts:  # before the sampler is built: it fills the contact channels
        mcfg.foot_contacts = _feet_known(ds.skeleton, say)
        if mcfg.foot_contacts:
            mcfg.stats = {"contact_joints": contact_point_indices(ds.skeleton)}
    sampler = WindowSampler(ds, mcfg.window, stats=None, contact_joints=mcfg.stats.get("contact_joints"))
    stats = dict(sampler.stats)
    stats["diff_gain"] = measure_diff_gain(sampler, np.random.default_rng(seed))
    sampler.stats = stats
    sampler.codec = FeatureCodec(ds.skeleton, stats)
    mcfg.stats, mcfg.skeleton, mcfg.fps = stats, ds.skeleton.to_dict(), float(ds.fps)
    return sampler


def _stop_signals_interrupt():
    """Make SIGTERM (``kill``, a container or service stop) and SIGINT stop training as Ctrl+C does:
    save a checkpoint, then stop. A job started in the background by a shell ignores SIGINT, and
    SIGTERM's default ends the process without saving. Returns a function that puts them back."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = {}
    for name in ("SIGTERM", "SIGINT"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, interrupt)
        except ValueError:  # not the main thread: leave the process's handlers alone
            pass

    def restore():
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return restore


def _train(args: "TrainRun", dist: Dist, device: torch.device) -> int:
    out = Path(args.out)
    lead = dist.rank == 0
    ds = resolve_dataset(args.data)
    ck = resume_point(out, args.resume, check_new=lead)
    fresh: tuple[str, ...] = ()
    if ck is not None:
        doc, _, _ = read_checkpoint(ck)
        mcfg, tcfg = ModelConfig.from_dict(doc["model"]), TrainConfig.from_dict(doc["train"])
        if not Skeleton.from_dict(mcfg.skeleton).same_topology(ds.skeleton):
            raise CSGNError(f"--resume: {args.data} has a different skeleton than the checkpoint in {out}")
        # A resumed run may switch foot contacts on, and rebuild H (which then starts afresh).
        h_before = (mcfg.h_width, mcfg.h_min_width, mcfg.h_kt, mcfg.h_varying, mcfg.h_graph)
        for text in args.set:
            if text.replace("-", "_").split("=")[0] in RESUMABLE_SETTINGS:
                mcfg.override(text)
            else:
                raise CSGNError(f"--set {text!r} with --resume: only {', '.join(RESUMABLE_SETTINGS)} can change "
                                "in a resumed run")
        if (mcfg.h_width, mcfg.h_min_width, mcfg.h_kt, mcfg.h_varying, mcfg.h_graph) != h_before:
            fresh = ("H",)
        if mcfg.foot_contacts and "contact_joints" not in mcfg.stats:
            mcfg.stats = dict(mcfg.stats, contact_joints=contact_point_indices(ds.skeleton))
        sampler = WindowSampler(ds, mcfg.window, stats=mcfg.stats)
    else:
        mcfg, tcfg = preset(args.preset)
        if args.sigma_bar is not None:
            mcfg.gp_sigma_bar = args.sigma_bar
        for text in args.set:
            mcfg.override(text)
        mcfg.prior_config()  # a bad GP setting fails here, before any data work
        sampler = fit_to_data(mcfg, ds, args.seed, say=lead)
    for name, value in (("gp_target", args.gp_target), ("batch", args.batch), ("n_critic", args.n_critic),
                        ("checkpoint_minutes", args.checkpoint_minutes), ("sample_minutes", args.sample_minutes),
                        ("cycle_x_g", args.cycle_x_g), ("cycle_z_g", args.cycle_z_g)):
        if value is not None:
            setattr(tcfg, name, value)
    for text in args.train_set:
        tcfg.override(text)
    trainer = Trainer(mcfg, tcfg, sampler, seed=args.seed, device=device, dist=dist, data_name=str(args.data))
    if ck is not None:
        trainer.load(ck, fresh=fresh)
    if args.steps is not None and trainer.step >= args.steps:
        if lead:
            print(f"already at step {trainer.step} >= --steps {args.steps}; nothing to do", file=sys.stderr)
        return 0
    writer = None
    log = None
    if lead:
        out.mkdir(parents=True, exist_ok=True)
        log = open(out / "metrics.jsonl", "a", encoding="utf-8")
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(out / "tb"))
        except Exception:  # tensorboard is optional
            writer = None
        params = {n: count_parameters(m) for n, m in (("G", trainer.G), ("D", trainer.D), ("H", trainer.H))}
        print(f"csgn train: {ds.name} ({sampler.frames} frames, {ds.skeleton.name}), preset {args.preset}, "
              f"params {params}, device {device}, world {dist.world}, from step {trainer.step}", file=sys.stderr)
    bar = None
    if lead and not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=args.steps, initial=trainer.step, unit="step", dynamic_ncols=True)
    t0 = time.monotonic()
    last_ck = last_sample = t0
    window_count = 0
    interrupted = False
    restore = _stop_signals_interrupt()
    try:
        while True:
            now = time.monotonic()
            stop = (args.steps is not None and trainer.step >= args.steps) or \
                   (args.minutes is not None and now - t0 >= args.minutes * 60)
            if dist.any_flag(stop, device):
                break
            m = trainer.train_step()
            window_count += tcfg.batch * (tcfg.n_critic + 1) * dist.world
            if not lead:
                continue
            if not all(math.isfinite(v) for v in m.values()):
                raise CSGNError(f"training diverged at step {trainer.step}: {m}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(W=f"{m['wasserstein']:.3f}", gp=f"{m['penalty']:.3f}", cz=f"{m['cycle_z']:.3f}")
            if trainer.step % tcfg.log_every == 0 or trainer.step == 1:
                m["time_s"] = round(trainer.elapsed, 3)
                m["windows_per_s"] = window_count / max(time.monotonic() - t0, 1e-9)
                log.write(json.dumps(m) + "\n")
                log.flush()
                if writer is not None:
                    for k, v in m.items():
                        if k != "step":
                            writer.add_scalar(f"train/{k}", v, trainer.step)
            now = time.monotonic()
            if now - last_sample >= tcfg.sample_minutes * 60:
                plot_sample(trainer.inference_model(), out / "samples" / f"step-{trainer.step:08d}.png")
                last_sample = now
            if now - last_ck >= tcfg.checkpoint_minutes * 60:
                trainer.save(out)
                _log_quality(trainer, log, writer)
                last_ck = now
    except KeyboardInterrupt:
        interrupted = True  # keep what was learned: save below, then report the interrupt
    finally:
        restore()
        if bar is not None:
            bar.close()
    trainer.ranks_in_sync = dist.in_sync([trainer.G, trainer.D, trainer.H])
    if lead:
        trainer.save(out)
        _log_quality(trainer, log, writer)
        plot_sample(trainer.inference_model(), out / "samples" / f"step-{trainer.step:08d}.png")
        if writer is not None:
            writer.close()
        log.close()
        print(f"csgn train: stopped at step {trainer.step}; model in {out / 'model'}", file=sys.stderr)
    if interrupted:
        raise KeyboardInterrupt
    return 0
