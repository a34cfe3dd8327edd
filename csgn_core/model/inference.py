"""A trained CSGN model for inference: load, generate, encode and decode.

A model folder holds ``config.json`` (``{"format": "csgn-model", "model": ModelConfig, ...}``) and
``model.safetensors`` with the generator (``G.*``) and inverse network (``H.*``) weights, optionally
fp16; training checkpoints have the same two files (plus the critic and optimiser state), so either
kind of folder loads. No pickles anywhere.

Time alignment: one latent step covers S = 2^K frames (latent step t -> frames [S t, S t + S - 1]).
``generate`` draws the next multiple of S frames in one forward pass and crops.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from csgn_core.errors import CSGNError
from csgn_core.io.safejson import is_number, loads_bounded
from csgn_core.model.config import ModelConfig
from csgn_core.model.features import FeatureCodec
from csgn_core.model.gp.prior import GPPrior
from csgn_core.model.networks import Generator, Inverse, build_networks
from csgn_core.motion.clip import Motion
from csgn_core.motion.skeleton import Skeleton

MODEL_FORMAT = "csgn-model"
CHECKPOINT_FORMAT = "csgn-checkpoint"


class CSGNModel(nn.Module):
    """Generator, inverse network, feature codec and latent prior of one trained model."""

    def __init__(self, cfg: ModelConfig, G: Generator, H: Inverse):
        super().__init__()
        self.cfg = cfg
        self.skeleton = Skeleton.from_dict(cfg.skeleton)
        self.G, self.H = G, H
        self.codec = FeatureCodec(self.skeleton, cfg.stats, world_velocity=cfg.critic_world_velocity)
        self.prior = GPPrior(cfg.prior_config())
        self.pin_prior = GPPrior(cfg.pin_prior_config())  # conditioned on H's latents of pins
        self._tempo_priors: dict[float, GPPrior] = {}
        self.pin_latents: OrderedDict = OrderedDict()  # H's latents of pins (editing.completion._encode_pin)
        self.first_passes: OrderedDict = OrderedDict()  # partial pins' first passes (editing.completion._first_pass)
        self._inverse_fidelity: float | None = None
        # The completion path measured to fill better on held-out gaps ("inverse" or "prior"), from the
        # model's config.json ("completion_condition"); None: decide by the inverse fidelity.
        self.completion_condition: str | None = None

    def prior_for(self, tempo: float = 1.0) -> GPPrior:
        """The GP prior with its length scales divided by ``tempo`` (the last 8 tempos' priors kept)."""
        if tempo == 1.0:
            return self.prior
        if tempo not in self._tempo_priors:
            if len(self._tempo_priors) >= 8:
                self._tempo_priors.pop(next(iter(self._tempo_priors)))
            self._tempo_priors[tempo] = GPPrior(self.prior.config.with_tempo(tempo))
        return self._tempo_priors[tempo]

    @property
    def fps(self) -> float:
        return self.cfg.fps

    @property
    def step_frames(self) -> int:
        return self.cfg.step_frames

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def inverse_fidelity(self) -> float:
        """How well H inverts G: the correlation of H(G(z)) with z over 8 prior windows (fixed seed),
        1 for a perfect inverse, about 0 for an H that ignores its input. Read from config.json
        when the exporter measured it, else measured once here (about 0.1 s on a CPU)."""
        if self._inverse_fidelity is None:
            self._inverse_fidelity = measure_inverse_fidelity(self)
        return self._inverse_fidelity

    def set_inverse_fidelity(self, value: float) -> None:
        """Record a measured ``inverse_fidelity`` (from a model's config.json) so it is not measured again."""
        self._inverse_fidelity = float(value)

    @classmethod
    def new(cls, cfg: ModelConfig) -> "CSGNModel":
        """Untrained networks for a config (tests, benchmarks)."""
        G, _, H = build_networks(cfg, Skeleton.from_dict(cfg.skeleton))
        return cls(cfg, G, H).eval()


# --- files ---------------------------------------------------------------------------------------------
def resolve_model_dir(path: str | Path) -> Path:
    """A folder with config.json + model.safetensors: the folder itself, a run's ``model/``, a
    run's newest checkpoint, or a bundled model's name (``dance``) where no such path exists."""
    p = Path(path)
    if not p.exists():
        from csgn_core.paths import model_location
        p = model_location(path)
    if (p / "config.json").is_file() and (p / "model.safetensors").is_file():
        return p
    if (p / "model" / "config.json").is_file():
        return p / "model"
    ck = p / "checkpoints" if (p / "checkpoints").is_dir() else p
    latest = ck / "latest"
    if latest.is_file():
        d = ck / latest.read_text(encoding="utf-8").strip()
        if (d / "config.json").is_file():
            return d
    raise CSGNError(f"{p}: no CSGN model here (expected config.json and model.safetensors)")


def read_config(folder: Path) -> dict:
    try:
        d = loads_bounded((folder / "config.json").read_text(encoding="utf-8"), 64, 1 << 22)
    except (OSError, ValueError) as e:
        raise CSGNError(f"{folder / 'config.json'}: unreadable model config ({e})".replace("\n", " ")) from None
    if not isinstance(d, dict) or d.get("format") not in (MODEL_FORMAT, CHECKPOINT_FORMAT) or "model" not in d:
        raise CSGNError(f"{folder / 'config.json'}: not a CSGN model config")
    return d


def load_state(module: nn.Module, tensors: dict[str, torch.Tensor], prefix: str, where: Path) -> None:
    own = module.state_dict()
    sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(set(own) - set(sub))
    unexpected = sorted(set(sub) - set(own))
    bad = [k for k in own if k in sub and tuple(own[k].shape) != tuple(sub[k].shape)]
    if missing or unexpected or bad:
        raise CSGNError(f"{where}: weights do not fit the configured {prefix[:-1]} network "
                        f"(missing {missing[:3]}, unexpected {unexpected[:3]}, wrong shape {bad[:3]})")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in sub.items()})


def load_model(path: str | Path, device: str | torch.device = "cpu") -> CSGNModel:
    """Load G and H from a model folder (or a training run / checkpoint folder) in eval mode, fp32."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = resolve_model_dir(path)
    doc = read_config(folder)
    where = folder / "config.json"
    try:
        cfg = ModelConfig.from_dict(doc["model"])
        cfg.prior_config()  # a bad GP setting fails here
        Skeleton.from_dict(cfg.skeleton)
        for key in ("vel_scale", "height_mean", "height_scale", "pos_scale"):
            v = cfg.stats[key]
            if not is_number(v) or (key != "height_mean" and v <= 0):
                raise ValueError(f"feature statistic {key} = {v!r}")
    except CSGNError as e:
        raise CSGNError(f"{where}: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise CSGNError(f"{where}: damaged model config ({type(e).__name__}: {e})") from None
    try:
        tensors = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError) as e:
        raise CSGNError(f"{folder / 'model.safetensors'}: unreadable weights ({e})") from None
    try:
        model = CSGNModel.new(cfg)
    except CSGNError as e:
        raise CSGNError(f"{where}: {e}") from None
    except (ValueError, TypeError, RuntimeError, IndexError, KeyError, ZeroDivisionError, AssertionError) as e:
        raise CSGNError(f"{where}: the configured networks cannot be built ({type(e).__name__}: {e})") from None
    load_state(model.G, tensors, "G.", folder)
    load_state(model.H, tensors, "H.", folder)
    fidelity = doc.get("inverse_fidelity")
    if isinstance(fidelity, (int, float)) and math.isfinite(fidelity):
        model.set_inverse_fidelity(float(fidelity))
    cond = doc.get("completion_condition")
    if cond is not None:
        if cond not in ("inverse", "prior"):
            raise CSGNError(f"{where}: completion_condition must be \"inverse\" or \"prior\", got {cond!r}")
        model.completion_condition = cond
    return model.to(device).eval()


@torch.no_grad()
def measure_inverse_fidelity(model: CSGNModel, n: int = 8, seed: int = 0) -> float:
    """Correlation of H(G(z)) with z for n prior windows of ``cfg.window`` frames."""
    model.eval()
    T0 = model.cfg.window // model.step_frames
    z = torch.from_numpy(model.prior.sample(T0, n, np.random.default_rng(seed))).float().to(model.device)
    zh = model.H(model.codec.critic_input(model.G(z))).float()
    a, b = (z - z.mean()).flatten(), (zh - zh.mean()).flatten()
    den = float(a.norm() * b.norm())
    return float(a @ b) / den if den > 0 else 0.0


def export_model(model: CSGNModel, folder: str | Path, fp16: bool = False, extra: dict | None = None) -> Path:
    """Write a model folder (config.json + model.safetensors with G and H); fp16 halves its size."""
    from safetensors.torch import save

    from csgn_core.io.atomic import write_bytes_atomic, write_text_atomic

    folder = Path(folder)
    tensors = {}
    for name, mod in (("G", model.G), ("H", model.H)):
        for k, v in mod.state_dict().items():
            v = v.detach().cpu()
            if fp16 and v.is_floating_point():
                v = v.half()
            tensors[f"{name}.{k}"] = v.contiguous()
    write_bytes_atomic(folder / "model.safetensors", save(tensors))
    doc = {"format": MODEL_FORMAT, "version": 1, "model": model.cfg.to_dict(), "fp16": fp16,
           "inverse_fidelity": round(model.inverse_fidelity, 4), **(extra or {})}
    write_text_atomic(folder / "config.json", json.dumps(doc, indent=1))
    return folder


# --- inference ------------------------------------------------------------------------------------------
def latent_steps(model: CSGNModel, frames: int) -> int:
    return max(1, math.ceil(frames / model.step_frames))


# The tempo and energy a user may ask for: beyond these the generator sees latents far from its training.
TEMPO_RANGE = (0.25, 4.0)
ENERGY_RANGE = (0.0, 2.0)


def check_tempo_energy(tempo: float, energy: float) -> None:
    for name, v, (lo, hi) in (("tempo", tempo, TEMPO_RANGE), ("energy", energy, ENERGY_RANGE)):
        if not (math.isfinite(v) and lo <= v <= hi):
            raise CSGNError(f"{name} must be between {lo:g} and {hi:g}, got {v:g}")


def sample_latent(model: CSGNModel, steps: int, seed: int | np.random.Generator | None, tempo: float = 1.0,
                  energy: float = 1.0) -> torch.Tensor:
    """(C0, steps) float32 latent drawn from the model's GP prior; the same seed gives the same latent.

    ``tempo`` divides the prior's length scales (quicker or slower changes of move), ``energy``
    scales the latent's amplitude (the generator's inputs, and so how far the poses and steps reach).
    """
    check_tempo_energy(tempo, energy)
    z = model.prior_for(tempo).sample(steps, 1, seed)[0]
    return torch.from_numpy(z * energy if energy != 1.0 else z).float()


BATCH_STEPS = 320  # latent steps per generator call when several latents are decoded together


@torch.no_grad()
def decode_features(model: CSGNModel, z: torch.Tensor, tile_steps: int | None = 128,
                    keep: tuple[int, int] | None = None) -> torch.Tensor:
    """(C0, T0) latent -> (9, T0 * S, J) features of the whole sequence, or with ``keep`` = (a, b)
    of its frames a .. b - 1 only (``Generator.forward``'s crop; for a latent of one tile).
    (n, C0, T0) latents -> (n, 9, frames, J), in one generator pass where they fit one tile.

    The generator is convolutional and, in eval mode, batch norm is a fixed affine map, so every
    output frame depends only on the latent steps within ``G.latent_radius()`` of it. Long latents
    are therefore decoded in tiles of ``tile_steps`` steps, each read with that radius of context
    on both sides and cropped back: the result equals one pass over the whole latent (to float
    rounding, ~1e-6) while every intermediate tensor stays small enough to be reused from the
    allocator's cache instead of being faulted in afresh (a 300 s pass ran 1.3 s instead of 2.4 s;
    in torch 2.13 on 2 cores 73-76 ms in tiles of 128 steps, 86 in 64, 134 in one pass, and slower
    again when the tiles share one batched call).
    ``tile_steps=None`` runs a single pass.
    """
    model.eval()
    z = torch.as_tensor(z, dtype=torch.float32, device=model.device)
    T0, S = z.shape[-1], model.step_frames
    if z.ndim == 3:  # (n, C0, T0): several latents of one length -> (n, 9, frames, J)
        if tile_steps is None or T0 <= tile_steps:
            a, b = (0, T0 * S) if keep is None else keep
            pad = int(math.ceil(4.0 * float(model.cfg.output_smoothing or 0.0)))  # the smoothing's reach
            lo, hi = max(0, a - pad), min(T0 * S, b + pad)
            # Batched while the batch is small: 12 latents of 20 steps ran 23 ms at once against 29 one
            # by one, 4 of 140 steps 96 against 66 (2 cores, torch 2.13).
            calls = -(-len(z) * T0 // BATCH_STEPS)
            per = -(-len(z) // calls)  # the draws split evenly over the calls
            f = torch.cat([model.G(z[i:i + per], keep=(lo, hi)).float().cpu() for i in range(0, len(z), per)])
            return torch.stack([smooth_features(model, x)[:, a - lo:b - lo] for x in f])
        return torch.stack([decode_features(model, x, tile_steps, keep) for x in z])
    if tile_steps is None or T0 <= tile_steps:  # one tile: the batched pass of one latent
        return decode_features(model, z[None], tile_steps, keep)[0]
    r = model.G.latent_radius()
    out = []
    for a in range(0, T0, tile_steps):
        b = min(a + tile_steps, T0)
        lo, hi = max(0, a - r), min(T0, b + r)
        f = model.G(z[None, :, lo:hi])[0]  # (9, (hi - lo) * S, J)
        out.append(f[:, (a - lo) * S:(b - lo) * S].float().cpu())
    f = smooth_features(model, torch.cat(out, dim=1))
    return f if keep is None else f[:, keep[0]:keep[1]]


def smooth_features(model: CSGNModel, feat: torch.Tensor) -> torch.Tensor:
    """(9, T, J) features low-passed over time by the model's ``output_smoothing`` (a Gaussian of
    that many frames; edges held), or unchanged when it is 0."""
    sigma = float(model.cfg.output_smoothing or 0.0)
    if sigma <= 0:
        return feat
    from scipy.ndimage import gaussian_filter1d

    return torch.from_numpy(gaussian_filter1d(feat.numpy(), sigma, axis=1, mode="nearest")).float()


def pad_latent(model: CSGNModel, z: torch.Tensor | np.ndarray, margin: int, seed=None) -> torch.Tensor:
    """(C0, T0) -> (C0, T0 + 2 margin): new steps on both sides drawn from the GP conditioned on z,
    so a decoded latent does not end at the generator's zero-padded borders (see ``decode``)."""
    z = np.asarray(z.detach().cpu().numpy() if torch.is_tensor(z) else z, dtype=np.float64)
    if margin <= 0:
        return torch.from_numpy(z).float()
    T0 = z.shape[1]
    full = model.prior.condition(z, np.arange(margin, margin + T0), T0 + 2 * margin, 1, seed)[0]
    return torch.from_numpy(full).float()


def decode(model: CSGNModel, z: torch.Tensor | np.ndarray, frames: int | None = None, margin: int | None = 0,
           seed=None) -> Motion:
    """Rotation motion (on the model's skeleton) for a latent (C0, T0), cropped to ``frames``.

    The generator pads with zeros in time, so the first and last few latent steps decode less
    well than the middle (the critic judged 64-frame windows whose borders were such edges too).
    ``margin`` extra steps on each side (``None``: the generator's receptive radius), drawn from
    the GP conditioned on z, move those edges out of the result; the frames of z are unchanged
    otherwise. ``seed`` seeds that draw.
    """
    z = torch.as_tensor(np.asarray(z) if not torch.is_tensor(z) else z)
    m = model.G.latent_radius() if margin is None else margin
    if m > 0:
        z = pad_latent(model, z, m, seed)
    S = model.step_frames
    total = z.shape[-1] * S
    feat = decode_features(model, z, keep=(m * S, total - m * S if frames is None else min(total, m * S + frames)))
    return model.codec.to_motion(feat, model.fps, generator="csgn")


def generate(model: CSGNModel, seconds: float, seed: int | None = 0, tempo: float = 1.0,
             energy: float = 1.0) -> Motion:
    """A new motion of ``seconds`` seconds in one generator pass; the same seed gives the same motion.

    Draws a GP latent of the next multiple of the latent step plus the generator's receptive radius
    on both sides (the prior is stationary, so the middle of a longer draw is a draw of the shorter
    length), decodes it, and crops the frames between the margins. ``tempo`` and ``energy``: see
    ``sample_latent`` (measured in ``docs/results/tempo-energy.md``).
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CSGNError(f"seconds must be positive, got {seconds}")
    frames = max(1, int(round(seconds * model.fps)))
    steps = latent_steps(model, frames)
    m = model.G.latent_radius()
    z = sample_latent(model, steps + 2 * m, seed, tempo, energy)
    S = model.step_frames
    feat = decode_features(model, z, keep=(m * S, m * S + frames))
    extra = {} if (tempo, energy) == (1.0, 1.0) else {"tempo": tempo, "energy": energy}
    motion = model.codec.to_motion(feat, model.fps, generator="csgn", seed=seed, latent_steps=steps, **extra)
    return motion


@torch.no_grad()
def encode(model: CSGNModel, motion: Motion) -> torch.Tensor:
    """(C0, T0) latent of a rotation motion via H; the motion is padded (last frame held) to a
    multiple of the latent step. Step t describes frames [S t, S t + S - 1]."""
    if not motion.skeleton.same_topology(model.skeleton):
        raise CSGNError(f"motion skeleton {motion.skeleton.name!r} does not match the model's {model.skeleton.name!r}")
    if abs(motion.fps - model.fps) > 1e-6:
        raise CSGNError(f"motion is at {motion.fps:g} fps but the model at {model.fps:g}; resample it first")
    feat = model.codec.encode_motion(motion)  # (9, F, J)
    F_ = feat.shape[1]
    T = latent_steps(model, F_) * model.step_frames
    if T > F_:
        feat = np.concatenate([feat, np.repeat(feat[:, -1:], T - F_, axis=1)], axis=1)
        # A held pose does not move: zero the padded root velocity.
        feat[6:8, F_:, 0] = 0.0
    model.eval()
    x = torch.from_numpy(feat)[None].to(model.device)
    return model.H(model.codec.critic_input(x))[0].float().cpu()
