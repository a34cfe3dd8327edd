"""The CSGN generator G, critic D and inverse network H, built from any skeleton's graph pyramid.

G (Table 1): the latent (N, C0, T0) becomes (N, C0, T0, 1) on the pyramid's one-vertex top level;
every block is Up (spatial level and/or time x2, see ``block_schedule``), then Conv_st, batch norm
and LeakyReLU; the output layer is tanh(Conv_st) at the full skeleton with 9 feature channels.

D (equation 3): blocks Conv_st -> Coar_st -> LeakyReLU that retrace G's schedule backwards, from
the full graph and T frames down to one vertex and T0 steps, then a fully connected layer to one
score. WGAN-GP critics must not use batch norm (the gradient penalty is per sample), so D has none.

H mirrors G the same way and ends in a linear Conv_st to the latent's C0 channels at one vertex.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from csgn_core.model.config import ModelConfig
from csgn_core.model.features import N_FEAT, n_critic_channels
from csgn_core.model.graph_ops import (
    GraphCoarsen,
    GraphConvST,
    GraphUpsample,
    VertexBatchNorm,
    block_schedule,
    level_partitions,
    level_roots,
    to_channel_major,
    to_vertex_major,
)
from csgn_core.motion.pyramid import GraphPyramid, Level, build_pyramid
from csgn_core.motion.skeleton import Skeleton


def _widths(first: int, minimum: int, n: int) -> list[int]:
    return [max(first >> b, minimum) for b in range(n)]


class Plan:
    """Which pyramid level and frame rate every generator block works at."""

    def __init__(self, pyramid: GraphPyramid, n_temporal: int, spatial: bool = True):
        self.pyramid = pyramid
        self.roots = level_roots(pyramid)
        self.top = len(pyramid.levels) - 1
        self.schedule = block_schedule(self.top if spatial else 0, n_temporal)
        # levels[b]: pyramid level at the output of generator block b.
        self.levels, lv = [], self.top
        for up_s, _ in self.schedule:
            lv -= int(up_s)
            self.levels.append(lv)
        assert self.levels[-1] == (0 if spatial else self.top)

    def partitions(self, level: int):
        return level_partitions(self.pyramid.levels[level], self.roots[level])

    def n(self, level: int) -> int:
        return self.pyramid.levels[level].n


def flat_pyramid(pyramid: GraphPyramid) -> GraphPyramid:
    """The full graph under a single vertex that upsamples straight onto every joint (no pyramid)."""
    n = pyramid.levels[0].n
    top = Level(n=1, edges=(), keep=(0,), up_sources=tuple((0,) for _ in range(n)), assign=(0,) * n)
    return GraphPyramid(levels=(pyramid.levels[0], top))


class DenseOut(nn.Module):
    """Temp-Conv's output: a temporal convolution from one vertex's channels to every joint's features."""

    def __init__(self, cin: int, n_joints: int, kt: int):
        super().__init__()
        self.kt, self.n_joints = kt, n_joints
        self.conv = nn.Conv1d(cin, N_FEAT * n_joints, kt, padding=kt // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C, T) -> (N, J, 9, T)
        y = self.conv(x[:, 0])  # (N, 9 J, T)
        return y.view(y.shape[0], self.n_joints, N_FEAT, y.shape[-1])


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig, plan: Plan):
        super().__init__()
        self.cfg = cfg
        B = len(plan.schedule)
        widths = _widths(cfg.g_width, cfg.g_min_width, B)
        self.widths = widths
        self.ups = nn.ModuleList()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        cin, lv_in = cfg.latent_channels, plan.top
        for b, ((spatial, temporal), lv) in enumerate(zip(plan.schedule, plan.levels)):
            coarse = plan.pyramid.levels[lv_in] if spatial else None
            self.ups.append(GraphUpsample(coarse, plan.n(lv), time=temporal, mode=cfg.temporal_up))
            self.convs.append(GraphConvST(cin, widths[b], plan.partitions(lv), cfg.g_kt, varying=b >= cfg.g_sv_from))
            self.norms.append(VertexBatchNorm(widths[b]))
            cin, lv_in = widths[b], lv
        self.act = nn.LeakyReLU(cfg.leaky)
        if lv_in == 0:
            self.out = GraphConvST(cin, N_FEAT, plan.partitions(0), cfg.g_kt, varying=cfg.g_sv_from < B)
        else:  # Temp-Conv: G never left the one-vertex level
            self.out = DenseOut(cin, plan.n(0), cfg.g_kt)

    def latent_radius(self) -> int:
        """How many latent steps on either side an output frame can depend on (its receptive field)."""
        r = self.out.kt // 2  # frames at the output resolution
        for up, conv in zip(reversed(self.ups), reversed(self.convs)):
            r += conv.kt // 2
            if up.time:  # output t reads inputs floor((t - 1) / 2) .. ceil((t + 1) / 2)
                r = math.ceil(r / 2) + 1
        return r

    def forward(self, z: torch.Tensor, keep: tuple[int, int] | None = None) -> torch.Tensor:
        """(N, C0, T0) -> (N, 9, T0 * 2^K, J); with ``keep`` = (a, b), output frames a .. b - 1 only.

        Every layer is local in time (its kernel, or the linear upsampling's two neighbours), so the
        frames wanted need each layer over a little more than their own span, not the whole latent:
        ``keep`` crops every block's frames to that span (a path's candidate passes decode 8 latent
        steps of context for 7 wanted, and the fine blocks cost most). The frames kept equal the
        whole pass's to float rounding."""
        x = z[:, None]  # (N, 1, C0, T0): one vertex, vertex-major
        spans = None if keep is None else self._spans(z.shape[-1], *keep)
        off = 0  # the frame at index 0 of x, at x's own rate
        for i, (up, conv, norm) in enumerate(zip(self.ups, self.convs, self.norms)):
            if spans is not None:
                a, b = spans[i][0]
                x, off = x[..., a - off:b - off], a
            x = up(x)
            if up.time:
                off *= 2
            if spans is not None:
                a, b = spans[i][1]
                x, off = x[..., a - off:b - off], a
            x = self.act(norm(conv(x)))  # (N, V_b, C_b, T_b)
        y = torch.tanh(self.out(x if spans is None else x[..., spans[-1][0] - off:spans[-1][1] - off]))
        if spans is not None:
            y = y[..., keep[0] - spans[-1][0]:keep[1] - spans[-1][0]]
        return to_channel_major(y)

    def _spans(self, T0: int, a: int, b: int) -> list:
        """Per block, the frames (start, stop) its input and its upsampled input must cover for the
        output frames a .. b - 1, then the span the output layer reads; each clipped to the frames there are."""
        sizes = [T0]
        for up in self.ups:
            sizes.append(sizes[-1] * (2 if up.time else 1))
        clip = lambda lo, hi, n: (max(0, lo), min(n, hi))  # noqa: E731
        r = self.out.kt // 2
        need = clip(a - r, b + r, sizes[-1])
        spans = [need]
        for i in reversed(range(len(self.ups))):
            r = self.convs[i].kt // 2
            mid = clip(need[0] - r, need[1] + r, sizes[i + 1])
            need = clip(mid[0] // 2 - 1, -(-mid[1] // 2) + 1, sizes[i]) if self.ups[i].time else mid
            spans.insert(0, (need, mid))
        return spans


class _Down(nn.Module):
    """The shared trunk of D and H: Conv_st -> Coar_st -> LeakyReLU per block, fine to coarse."""

    def __init__(self, cfg: ModelConfig, plan: Plan, cin: int, width: int, min_width: int, kt: int,
                 varying: bool = False):
        super().__init__()
        B = len(plan.schedule)
        widths = list(reversed(_widths(width, min_width, B)))  # narrow at the input, wide at the top
        self.widths = widths
        self.convs = nn.ModuleList()
        self.downs = nn.ModuleList()
        lv = 0
        for i in range(B):
            b = B - 1 - i  # the generator block this one undoes
            spatial, temporal = plan.schedule[b]
            lv_out = plan.levels[b - 1] if b > 0 else plan.top
            self.convs.append(GraphConvST(cin, widths[i], plan.partitions(lv), kt, varying=varying))
            coarse = plan.pyramid.levels[lv_out] if spatial else None
            self.downs.append(GraphCoarsen(coarse, plan.n(lv), time=temporal))
            cin, lv = widths[i], lv_out
        self.act = nn.LeakyReLU(cfg.leaky)
        self.cout = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, J) -> (N, 1, C', T0)
        x = to_vertex_major(x)  # (N, J, C, T)
        for conv, down in zip(self.convs, self.downs):
            x = self.act(down(conv(x)))
        return x


class Discriminator(nn.Module):
    """The WGAN critic; its input is ``FeatureCodec.critic_input`` of a window of ``cfg.window`` frames."""

    def __init__(self, cfg: ModelConfig, plan: Plan):
        super().__init__()
        self.trunk = _Down(cfg, plan, n_critic_channels(cfg.critic_world_velocity), cfg.d_width, cfg.d_min_width, cfg.d_kt)
        self.t0 = cfg.window // cfg.step_frames
        self.fc = nn.Linear(self.trunk.cout * self.t0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 24|27, T, J) -> (N,)
        h = self.trunk(x)
        return self.fc(h.flatten(1)).squeeze(1)


class Inverse(nn.Module):
    """H: critic-style features of any multiple of 2^K frames back to the latent (N, C0, T0)."""

    def __init__(self, cfg: ModelConfig, plan: Plan):
        super().__init__()
        self.trunk = _Down(cfg, plan, n_critic_channels(cfg.critic_world_velocity), cfg.h_width, cfg.h_min_width, cfg.h_kt,
                           varying=cfg.h_varying)
        self.out = GraphConvST(self.trunk.cout, cfg.latent_channels, plan.partitions(plan.top), cfg.h_kt)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 24|27, T, J) -> (N, C0, T0)
        return self.out(self.trunk(x))[:, 0]


class DenseInverse(nn.Module):
    """H without the graph: every joint's critic features stacked into channels, then temporal
    convolutions that halve the frame rate K times down to the latent's steps (Temp-Conv's layout
    read backwards). The graph trunk pools neighbouring joints by their mean and learns to invert G
    several times slower (``docs/model.md``)."""

    def __init__(self, cfg: ModelConfig, n_joints: int):
        super().__init__()
        cin = n_critic_channels(cfg.critic_world_velocity) * n_joints
        w = cfg.h_width
        layers: list[nn.Module] = []
        for _ in range(cfg.n_temporal_up):
            layers += [nn.Conv1d(cin, w, cfg.h_kt, padding=cfg.h_kt // 2), nn.LeakyReLU(cfg.leaky), nn.AvgPool1d(2)]
            cin = w
        self.trunk = nn.Sequential(*layers)
        self.out = nn.Conv1d(cin, cfg.latent_channels, cfg.h_kt, padding=cfg.h_kt // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 24|27, T, J) -> (N, C0, T / 2^K)
        N, C, T, J = x.shape
        return self.out(self.trunk(x.permute(0, 1, 3, 2).reshape(N, C * J, T)))


def build_networks(cfg: ModelConfig, skeleton: Skeleton) -> tuple[Generator, Discriminator, Inverse]:
    if cfg.window % cfg.step_frames:
        raise ValueError(f"window {cfg.window} is not a multiple of the latent step {cfg.step_frames}")
    pyramid = build_pyramid(skeleton)
    plan = Plan(pyramid, cfg.n_temporal_up)
    g_plan = plan
    if cfg.g_graph == "none":
        g_plan = Plan(flat_pyramid(pyramid), cfg.n_temporal_up, spatial=False)
    elif cfg.g_upsampling == "direct":
        g_plan = Plan(flat_pyramid(pyramid), cfg.n_temporal_up)
    H = DenseInverse(cfg, skeleton.n_joints) if cfg.h_graph == "dense" else Inverse(cfg, plan)
    return Generator(cfg, g_plan), Discriminator(cfg, plan), H


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
