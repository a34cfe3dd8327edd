"""Model and training configurations (dataclasses that round-trip through JSON) and presets.

``ModelConfig`` is everything needed to rebuild the networks and decode their output; it is saved
in every checkpoint and model folder. ``TrainConfig`` holds the optimisation settings. A preset
fills both; ``--preset`` on the command line picks one.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from csgn_core.errors import CSGNError
from csgn_core.io.safejson import is_number

# Bounds a config's numbers must keep before any network is built from them (a latent of a
# billion channels is a damaged file, not a model).
MAX_INT_SETTING = 1 << 16


def _from_dict(cls, d: dict):
    if not isinstance(d, dict):
        raise CSGNError(f"{cls.__name__}: expected an object of settings, got {type(d).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = set(d) - set(known)
    if unknown:
        raise CSGNError(f"{cls.__name__}: unknown settings {sorted(unknown)}")
    for name, v in d.items():
        default = known[name].default if known[name].default is not dataclasses.MISSING else known[name].default_factory()
        _check_setting(cls.__name__, name, v, default)
        lo, hi = SIZE_BOUNDS.get(name, (None, None))
        if lo is not None and not lo <= v <= hi:
            raise CSGNError(f"{cls.__name__}: setting {name} = {v!r} is outside [{lo}, {hi}]")
    return cls(**d)


# Network sizes a model file may ask for (the paper's preset is 1024 / 512 / 128 frames / K = 4).
SIZE_BOUNDS = {
    "latent_channels": (1, 4096), "n_temporal_up": (0, 6), "window": (1, 4096), "g_width": (1, 4096),
    "g_min_width": (1, 4096), "d_width": (1, 4096), "d_min_width": (1, 4096), "h_width": (1, 4096),
    "h_min_width": (1, 4096), "g_kt": (1, 15), "d_kt": (1, 15), "h_kt": (1, 15), "batch": (1, 4096),
    "n_critic": (0, 100), "gp_sigma_bar": (0.0, 1e6), "pin_latent_noise": (1e-9, 10.0), "gap_spread": (0.0, 1.0),
    "output_smoothing": (0.0, 100.0), "fps": (1e-3, 10000.0),
}


def _check_setting(owner: str, name: str, v, default) -> None:
    """The value has the default's type (ints for ints, numbers for floats, None where the default
    is None) and a sane size."""
    bad = CSGNError(f"{owner}: setting {name} = {str(v)[:40]!r} is not valid")
    if default is None:
        if v is not None and not is_number(v):
            raise bad
    elif isinstance(default, bool):
        if not isinstance(v, bool):
            raise bad
    elif isinstance(default, int):
        if isinstance(v, bool) or not isinstance(v, int) or not -1 <= v <= MAX_INT_SETTING:
            raise bad
    elif isinstance(default, float):
        if not is_number(v, -1e9, 1e9):
            raise bad
    elif isinstance(default, str):
        if not isinstance(v, str):
            raise bad
    elif isinstance(default, dict) and not isinstance(v, dict):
        raise bad


@dataclass
class ModelConfig:
    """Network shapes, latent prior and the feature scaling the networks were trained with."""

    latent_channels: int = 1024  # C0 of the latent (C0, 1, T0)
    n_temporal_up: int = 4  # K: one latent step covers 2^K frames
    window: int = 128  # training window in frames (a multiple of 2^K); the critic's input length
    g_width: int = 512  # width of the first generator block; it halves every block
    g_min_width: int = 32
    g_kt: int = 3  # temporal kernel of the generator's graph convolutions
    g_sv_from: int = 0  # first generator block with spatially-varying convolutions (>= blocks: none)
    d_width: int = 512  # width of the critic's last (coarsest) block; it halves towards the input
    d_min_width: int = 32
    d_kt: int = 3
    h_width: int = 512  # same rule for the inverse network
    h_min_width: int = 32
    h_kt: int = 3
    # H's graph convolutions with weights of their own at every vertex, as G's: with shared weights
    # and mean pooling H tells the limbs of a pooled group apart less well (on a fixed linear code of
    # z, 1,000 steps: correlation 0.59 shared, 0.69 varying; docs/model.md).
    h_varying: bool = False
    h_graph: str = "graph"  # or "dense": H as temporal convolutions over all joints' features at once
    leaky: float = 0.2
    temporal_up: str = "linear"  # or "nearest"
    gp_sigma_bar: float = 100.0  # base length scale of the GP prior, in latent steps
    gp_mode: str = "spectrum"  # or single / range / white / constant (Table 3's ablations, see gp.py)
    gp_sigma: float | None = None  # mode "single"
    gp_sigma_min: float | None = None  # mode "range"
    gp_sigma_max: float | None = None
    # Observation noise (variance) of H's latents of the pins when completion conditions the GP on
    # them (GPPriorConfig.jitter, for that conditioning only). H's latents of real motion are rougher
    # than the prior's draws (lag-1 correlation 0.67 against 0.93); taken as exact, the spectrum
    # prior's long length scales overshoot between them, and a 120-frame gap's latent reached a spread
    # of 15 where the prior's is 1: the gap froze (session 17, docs/results/infill.md).
    pin_latent_noise: float = 1e-6
    # How far a gap between two pins strays from the GP's conditional mean given the pins' latents when
    # nothing else is asked (completion's ``spread``; a morph's own spread replaces it; 1: a draw). A
    # sampler setting measured per model: the bundled dance model's fills at 0.25 score L2P 0.97x / 1.00x
    # interpolation's at 30 / 60 frames and NPSS below it, against 1.00x / 1.04x at 1 (session 23,
    # docs/results/infill.md), within 30 frames of a pin (completion.GAP_SPREAD_HOLD); gaps open at one end
    # (continuation) always draw at 1.
    gap_spread: float = 1.0
    # Table 4's ablations of G: "pyramid" upsamples through the graph pyramid (CSGN), "direct" jumps
    # from the one-vertex latent to the full skeleton in the first block (ST-GCN / ST-SGCN);
    # g_graph "none" keeps G on one vertex and ends in a dense layer to every joint (Temp-Conv).
    g_upsampling: str = "pyramid"
    g_graph: str = "graph"
    # Gaussian low-pass over time (sigma in frames) on the decoded features, for a model whose
    # output jitters more than its data (set per bundled model from measurements; 0: off).
    output_smoothing: float = 0.0
    rotation: str = "6d"  # per-joint rotation channels (first two columns of the rotation matrix)
    # The critic and H also see every joint's velocity over the floor (features.py). Off in models
    # trained before it existed, so their configs still load; every preset turns it on.
    critic_world_velocity: bool = False
    # Foot contacts: channel 6 of every heel and toe joint (unused by rotations, zero in older models)
    # carries +1 in contact, -1 off the floor, learnt from labels of the real data (features.py).
    foot_contacts: bool = False
    # Filled from the training data: skeleton, frame rate and feature scales (see features.py).
    skeleton: dict = field(default_factory=dict)
    fps: float = 30.0
    stats: dict = field(default_factory=dict)

    def prior_config(self):
        from csgn_core.model.gp.config import GPPriorConfig

        return GPPriorConfig(channels=self.latent_channels, sigma_bar=self.gp_sigma_bar, mode=self.gp_mode,
                             sigma=self.gp_sigma, sigma_min=self.gp_sigma_min, sigma_max=self.gp_sigma_max)

    def pin_prior_config(self):
        """``prior_config`` with the observation noise of H's latents of pins (``pin_latent_noise``)."""
        from dataclasses import replace

        return replace(self.prior_config(), jitter=self.pin_latent_noise)

    def override(self, text: str) -> None:
        """Apply one ``name=value`` setting (value in JSON; bare words are strings), as ``--set`` does."""
        import json

        name, sep, value = text.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in {f.name for f in fields(self)} or name in ("skeleton", "stats", "fps"):
            raise CSGNError(f"--set {text!r}: expected NAME=VALUE with NAME a model setting "
                            f"(for example gp_mode=single, gp_sigma=4, g_upsampling=direct, g_sv_from=99)")
        try:
            v = json.loads(value)
        except ValueError:
            v = value
        setattr(self, name, v)
        if self.g_upsampling not in ("pyramid", "direct") or self.g_graph not in ("graph", "none") or \
                self.h_graph not in ("graph", "dense"):
            raise CSGNError(f"--set {text!r}: g_upsampling is pyramid or direct, g_graph is graph or none")

    @property
    def step_frames(self) -> int:
        """Frames covered by one latent step (2^K)."""
        return 2 ** self.n_temporal_up

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return _from_dict(cls, dict(d))


@dataclass
class TrainConfig:
    """WGAN-GP and cycle-consistency settings (paper section 6, implementation detail)."""

    batch: int = 32
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # H is a regressor, not an adversary: it may learn faster and with more momentum than G and D
    # (0: the same as theirs).
    lr_h: float = 0.0
    beta1_h: float = 0.0
    # G's own rate and momentum (0: lr and beta1): an autoencoder-first run trains G and H at 1e-3 on the
    # reconstruction, and the critic added later wants the WGAN-GP rate (session 23).
    lr_g: float = 0.0
    beta1_g: float = 0.0
    gp_weight: float = 10.0
    gp_target: float = 0.1  # the paper pulls the critic's gradient norm towards 0.1 (1.0 in WGAN-GP)
    n_critic: int = 5  # critic updates per generator update
    # The gradient penalty on D's own input (the codec's critic features of real and generated windows,
    # interpolated) rather than on the 9-channel features: the codec then runs once per window without
    # a graph and stays out of the penalty's double backward (a third of the step's time; issue 18).
    # Off for checkpoints written before it existed, so a resumed old run keeps its penalty.
    gp_critic_input: bool = False
    cycle_z: float = 1.0  # weight of ||H(G(z)) - z|| (trains H)
    cycle_x: float = 1.0  # weight of ||G(H(x)) - x|| for H
    cycle_x_g: float = 0.0  # how much of the x-cycle gradient also reaches G
    cycle_z_g: float = 0.0  # how much of the z-cycle gradient also reaches G (as in CycleGAN, both ways)
    # Squared rather than absolute z-cycle error: its gradient grows with H's error where L1's is a
    # sign of fixed size, which a strong adversary drowns (docs/model.md).
    cycle_z_mse: bool = False
    # The z-cycle through G in inference mode (batch norm with running statistics), as the x-cycle,
    # completion and inference run it: in training mode G(z_i) also depends on the rest of the batch.
    cycle_z_eval: bool = False
    adversarial: float = 1.0  # weight of the critic's score in G's losses (free takes and completion)
    yaw_augment: bool = True  # rotate every real window by a random heading
    mirror: bool = False  # swap left and right in a random half of the real windows
    # Beyond the paper (train/completion.py): H's latents of real windows pulled to the GP prior's
    # moments, and part of every step run through the editor's completion path.
    latent_moments: float = 0.0  # weight of the moment term on H(x)
    latent_decorrelate: float = 0.0  # within it, the weight of the channels' cross-correlations (the prior's are 0)
    foot_still: float = 0.0  # weight of the speed over the floor of heel and toe points G marks in contact
    # Weight of the squared log-ratio of free samples' mean speeds (every joint relative to the root, and the
    # root over the floor) to the data's: the recipe's reconstruction terms pull G towards a still average
    # body (session 6: root 0.06-0.24x, joints 0.3-0.55x real), which the critic alone did not undo.
    motion_stats: float = 0.0
    # Weight of the squared difference between free samples' contact fraction per heel and toe point
    # and the data's: without it G can meet foot_still by marking no contacts (session 8: planted 0.02x).
    contact_rate: float = 0.0
    # Free samples drawn as inference draws them: the latent has the generator's receptive radius of
    # extra steps on both sides and the window is the middle of G's output. Without it the critic and
    # the floor and speed terms judge G on windows whose every edge frame reads zero padding, which
    # inference never decodes (session 9: a G that matched the data's speed on such windows moved at
    # 0.62x in 60 s takes). Off for checkpoints written before it existed.
    fake_margin: bool = False
    # The completion path and the x-cycle decoded with the same margins: the pins' and the window's
    # latents sit in a latent that reaches G's receptive radius beyond them on both sides (the margin
    # steps drawn from the GP conditioned on the known ones, as the editor's sampler draws them), and
    # the window is cropped from the middle. Without it a pin's outer frames read zero padding in
    # training and a conditioned latent at the editor's (session 10).
    complete_margin: bool = False
    # Weight of the squared log-ratio of free samples' mean net root travel over travel_frames (the
    # distance between the root's first and last positions) to the data's. Windows of 64 frames
    # match it already; over 10 s the withheld dances come back (1.5 m net at 250 frames, 2.2 m at 750;
    # the generator split 1.0 and 1.4) where G's keep going (2.3-3.7 m, 5.6-9.9 m): a long decode of
    # travel_batch latents.
    travel_match: float = 0.0
    # Weight of the same log-ratio for the root's speed over the floor alone (one of motion_stats' J + 1
    # entries): with travel_match alone G met it by slowing the root (0.73x -> 0.39x in 260 steps).
    root_speed: float = 0.0
    travel_frames: int = 256
    travel_batch: int = 4
    complete: float = 0.0  # weight of the completion losses (pins, gap, path, critic)
    complete_batch: int = 8  # windows per step through the completion path
    complete_window: int = 128  # their length in frames: a pin, a gap of up to complete_max_gap, a pin
    complete_max_gap: int = 72
    complete_recon: float = 0.5  # share of them decoded at the GP's conditional mean and compared with the real gap
    amp: bool = True  # bf16 autocast on CUDA
    # bf16 autocast on a CPU with native bf16 (AVX512-BF16 or AMX; elsewhere emulated and slower, so off):
    # the cpu preset's step 0.74 -> 0.57 s on the development machine (docs/benchmarks.md).
    cpu_bf16: bool = False
    checkpoint_minutes: float = 5.0
    sample_minutes: float = 5.0
    log_every: int = 10
    keep_checkpoints: int = 2

    def override(self, text: str) -> None:
        """Apply one ``name=value`` setting (value in JSON), as ``--train-set`` does."""
        import json

        name, sep, value = text.partition("=")
        name = name.strip().replace("-", "_")
        known = {f.name: f for f in fields(self)}
        if not sep or name not in known:
            raise CSGNError(f"--train-set {text!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(known))}")
        try:
            v = json.loads(value)
        except ValueError:
            raise CSGNError(f"--train-set {text!r}: the value must be JSON (a number, true or false)") from None
        current = getattr(self, name)
        if isinstance(current, bool) != isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CSGNError(f"--train-set {text!r}: {name} takes a {type(current).__name__}")
        setattr(self, name, type(current)(v))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return _from_dict(cls, dict(d))


# The recipe that makes H invert G and trains the completion path (docs/model.md), on in every preset.
_RECIPE = dict(cycle_x_g=1.0, cycle_z_g=1.0, mirror=True, latent_moments=1.0, complete=1.0, foot_still=1.0,
               gp_critic_input=True, contact_rate=1.0, fake_margin=True,
               complete_margin=True)

# H's latents of pins are noisy observations in every new model: 0.2 measured best of 0.01-1 on the
# step-12,542 dance model (docs/results/infill.md, session 17).
_PIN_NOISE = dict(pin_latent_noise=0.2)

# Table 1 widths (1024 latent, 512 .. 32 in the generator), narrow halves them; cpu learns in about
# an hour on two cores; tiny exists for tests.
PRESETS: dict[str, tuple[dict, dict]] = {
    "paper": (
        dict(latent_channels=1024, n_temporal_up=4, window=128, g_width=512, g_min_width=32, d_width=512,
             d_min_width=32, h_width=512, h_min_width=32, gp_sigma_bar=100.0, critic_world_velocity=True,
             foot_contacts=True, h_varying=True, h_graph="dense", **_PIN_NOISE),
        dict(batch=32, n_critic=5, cpu_bf16=True, **_RECIPE),
    ),
    "narrow": (
        dict(latent_channels=512, n_temporal_up=4, window=128, g_width=256, g_min_width=16, d_width=256,
             d_min_width=16, h_width=256, h_min_width=16, gp_sigma_bar=100.0, critic_world_velocity=True,
             foot_contacts=True, h_varying=True, h_graph="dense", **_PIN_NOISE),
        dict(batch=32, n_critic=5, cpu_bf16=True, **_RECIPE),
    ),
    "cpu": (
        dict(latent_channels=96, n_temporal_up=3, window=64, g_width=128, g_min_width=32, d_width=128,
             d_min_width=32, h_width=256, h_min_width=24, gp_sigma_bar=16.0, critic_world_velocity=True,
             foot_contacts=True, h_varying=True, h_graph="dense", **_PIN_NOISE),
        dict(batch=16, n_critic=2, checkpoint_minutes=5.0, sample_minutes=5.0, cpu_bf16=True, **_RECIPE),
    ),
    "tiny": (
        dict(latent_channels=8, n_temporal_up=2, window=16, g_width=16, g_min_width=8, d_width=16, d_min_width=8,
             h_width=16, h_min_width=8, gp_sigma_bar=4.0, critic_world_velocity=True, foot_contacts=True,
             h_varying=True, **_PIN_NOISE),
        dict(batch=4, n_critic=1, log_every=1, **dict(_RECIPE, complete_batch=2, complete_window=32,
                                                       complete_max_gap=8)),
    ),
}


def preset(name: str) -> tuple[ModelConfig, TrainConfig]:
    if name not in PRESETS:
        raise CSGNError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    m, t = PRESETS[name]
    return ModelConfig(**m), TrainConfig(**t)
