"""Graph operators of CSGN (paper section 3.2).

Layout: inside the networks, features are (N, V, C, T), vertex-major, rather than ST-GCN's
(N, C, T, V). With vertices outermost, the graph step is one matrix product over V and the
temporal convolution is one conv1d (shared weights: vertices folded into the batch; spatially
varying: vertices as conv groups), so no operator copies a permuted tensor. The networks take and
return (N, C, T, V) at their boundaries (``to_vertex_major`` / ``to_channel_major``).

- ``GraphConvST``: spatial-temporal graph convolution. Neighbours are grouped into partitions
  (self / nearer the root / farther from the root, as in ST-GCN's spatial configuration); the
  partition means are mixed by one temporal convolution, so a weight is shared by every vertex
  (``varying=False``) or owned by each vertex (``varying=True``, the paper's spatially-varying
  convolution).
- ``GraphUpsample`` (Up_st, or Up_t with no spatial level): embed the coarse graph into the finer
  one with the pyramid's averaging matrix, and double the frame count.
- ``GraphCoarsen`` (Coar_st): mean over each pooled group of vertices, and halve the frame count.

Any pyramid level works: the operators only need a ``Level`` (its edges and root) and the
matrices the pyramid already provides.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from csgn_core.motion.pyramid import GraphPyramid, Level, depths, neighbours


# --- partitions ------------------------------------------------------------------------------------
def level_roots(pyramid: GraphPyramid) -> list[int]:
    """The root vertex of every level: joint 0 at level 0, then the coarse vertex it pools into."""
    roots = [0]
    for lv in pyramid.levels[1:]:
        roots.append(lv.assign[roots[-1]])
    return roots


def partition_matrices(n: int, edges, root: int) -> np.ndarray:
    """(P, V, V) row-normalised aggregation matrices, one per non-empty partition.

    Partition 0 is the vertex itself, 1 its neighbours nearer the root, 2 those farther away. Each
    row averages its members, so a leaf (no farther neighbour) contributes zero to partition 2
    rather than a smaller sum, and shared weights see comparable inputs at every vertex.
    Partitions that are empty for every vertex (all but self on a one-vertex graph) are dropped.
    """
    nbrs = neighbours(n, edges)
    depth = depths(n, edges, root)
    if min(depth) < 0:
        raise ValueError("graph level is not connected")
    a = np.zeros((3, n, n), dtype=np.float32)
    for v in range(n):
        a[0, v, v] = 1.0
        for u in nbrs[v]:
            a[1 if depth[u] < depth[v] else 2, v, u] = 1.0
    a /= np.maximum(a.sum(axis=2, keepdims=True), 1.0)
    return a[[p for p in range(3) if a[p].any()]]


def level_partitions(level: Level, root: int) -> np.ndarray:
    return partition_matrices(level.n, level.edges, root)


# --- convolution -------------------------------------------------------------------------------------
class GraphConvST(nn.Module):
    """Spatial-temporal graph convolution Conv_st with kernel (kt over time) x (partitions over space).

    out[v, t] = sum_p sum_dt W_p[dt] (or W_{v,p}[dt]) . mean_{u in partition p of v} x[u, t + dt]

    With ``varying`` every receiving vertex v owns its weights W_{v,p}: the left and right arm
    read their shared parent through different weights.
    """

    def __init__(self, cin: int, cout: int, partitions: np.ndarray, kt: int = 3, varying: bool = False,
                 bias: bool = True):
        super().__init__()
        if kt % 2 != 1:
            raise ValueError("temporal kernel must be odd so the output keeps the input's frame count")
        a = np.asarray(partitions, dtype=np.float32)  # (P, V, V)
        self.P, self.V = a.shape[0], a.shape[1]
        self.register_buffer("A", torch.as_tensor(a), persistent=False)
        # Every partition's mean as one dense product: row v * P + p of the (V P, V) matrix is vertex
        # v's partition p. Skeleton graphs are sparse, but one small dense matmul beats a gather per
        # neighbour slot by about 4x on CPU (and the output lands in the (V, P, C) order the
        # convolution reads, so nothing is stacked or copied).
        self.register_buffer("A_stack", torch.as_tensor(a.transpose(1, 0, 2).reshape(self.V * self.P, self.V).copy()),
                             persistent=False)
        self.cin, self.cout, self.kt, self.varying = cin, cout, kt, varying
        fan_in = cin * self.P * kt
        bound = 1.0 / math.sqrt(fan_in)  # what nn.Conv1d's default initialisation gives
        groups = self.V if varying else 1
        self.weight = nn.Parameter(torch.empty(groups * cout, self.P * cin, kt).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups * cout).uniform_(-bound, bound)) if bias else None

    def aggregate(self, x: torch.Tensor) -> torch.Tensor:
        """(N, V, C, T) -> (N, V, P * C, T): the partition means of every vertex's neighbourhood."""
        N, V, C, T = x.shape
        if self.P == 1 and V == 1:
            return x
        y = torch.matmul(self.A_stack.to(x.dtype), x.reshape(N, V, C * T))  # (N, V P, C T)
        return y.view(N, V, self.P * C, T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, V, Cin, T) -> (N, V, Cout, T)
        N, V, C, T = x.shape
        if V != self.V or C != self.cin:
            raise ValueError(f"GraphConvST expects (N, {self.V}, {self.cin}, T), got {tuple(x.shape)}")
        y = self.aggregate(x)  # (N, V, P*Cin, T)
        w = self.weight.to(y.dtype)
        b = None if self.bias is None else self.bias.to(y.dtype)
        if self.varying:
            out = F.conv1d(y.reshape(N, V * self.P * C, T), w, b, padding=self.kt // 2, groups=V)
        else:
            out = F.conv1d(y.reshape(N * V, self.P * C, T), w, b, padding=self.kt // 2)
        return out.view(N, V, self.cout, T)


class VertexBatchNorm(nn.BatchNorm1d):
    """Batch norm over the channels of (N, V, C, T) features (statistics over N, V and T)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, V, C, T)
        N, V, C, T = x.shape
        return super().forward(x.reshape(N * V, C, T)).view(N, V, C, T)


# --- resampling ----------------------------------------------------------------------------------------
def upsample_time(x: torch.Tensor, mode: str = "linear") -> torch.Tensor:
    """(..., T) -> (..., 2T). Output frames 2t and 2t+1 sit at t -/+ 1/4 (edges held)."""
    if mode == "nearest":
        return x.repeat_interleave(2, dim=-1)
    shape = x.shape
    # Linear interpolation with half-pixel centres is exactly 0.75 x[t] + 0.25 x[t -/+ 1].
    y = F.interpolate(x.reshape(1, -1, shape[-1]), scale_factor=2.0, mode="linear", align_corners=False)
    return y.view(*shape[:-1], 2 * shape[-1])


def coarsen_time(x: torch.Tensor) -> torch.Tensor:
    """(..., T) -> (..., T/2): mean of frame pairs (T must be even)."""
    T = x.shape[-1]
    if T % 2:
        raise ValueError(f"cannot halve {T} frames")
    return x.unflatten(-1, (T // 2, 2)).mean(dim=-1)


def _vertex_map(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(N, Vin, C, T) -> (N, Vout, C, T) with m (Vout, Vin)."""
    N, V, C, T = x.shape
    return torch.matmul(m.to(x.dtype), x.reshape(N, V, C * T)).view(N, m.shape[0], C, T)


class GraphUpsample(nn.Module):
    """Up_st (spatial level and time x2), Up_s (time=False) or Up_t (coarse=None)."""

    def __init__(self, coarse: Level | None = None, n_fine: int | None = None, time: bool = True,
                 mode: str = "linear"):
        super().__init__()
        self.time, self.mode = time, mode
        if coarse is not None:
            self.register_buffer("M", torch.as_tensor(coarse.upsample_matrix(n_fine)), persistent=False)  # (Vf, Vc)
        else:
            self.M = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, Vc, C, T) -> (N, Vf, C, 2T)
        if self.M is not None:
            x = _vertex_map(x, self.M)
        return upsample_time(x, self.mode) if self.time else x


class GraphCoarsen(nn.Module):
    """Coar_st (spatial pooling and time /2), or only one of the two."""

    def __init__(self, coarse: Level | None = None, n_fine: int | None = None, time: bool = True):
        super().__init__()
        self.time = time
        if coarse is not None:
            self.register_buffer("M", torch.as_tensor(coarse.coarsen_matrix(n_fine)), persistent=False)  # (Vc, Vf)
        else:
            self.M = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, Vf, C, T) -> (N, Vc, C, T/2)
        if self.M is not None:
            x = _vertex_map(x, self.M)
        return coarsen_time(x) if self.time else x


def to_vertex_major(x: torch.Tensor) -> torch.Tensor:
    """(N, C, T, V) -> (N, V, C, T)."""
    return x.permute(0, 3, 1, 2).contiguous()


def to_channel_major(x: torch.Tensor) -> torch.Tensor:
    """(N, V, C, T) -> (N, C, T, V)."""
    return x.permute(0, 2, 3, 1).contiguous()


# --- block schedule --------------------------------------------------------------------------------------
def block_schedule(n_spatial: int, n_temporal: int) -> list[tuple[bool, bool]]:
    """(spatial_up, temporal_up) for every generator block, coarse to fine.

    Table 1 has five blocks for three spatial and four temporal upsamplings: spatial at blocks
    0, 2, 4 and temporal at blocks 1-4. In general there are max(K + 1, S) blocks, temporal
    upsampling in the last K of them and the S spatial ones spread evenly from the first block to
    the last, so the full graph is reached by the last block whatever the pyramid's depth.
    """
    B = max(n_temporal + 1, n_spatial, 1)
    if n_spatial >= 2:
        spatial = {int(math.floor(i * (B - 1) / (n_spatial - 1) + 0.5)) for i in range(n_spatial)}
    else:
        spatial = {0} if n_spatial == 1 else set()
    temporal = set(range(B - n_temporal, B))
    return [(b in spatial, b in temporal) for b in range(B)]
