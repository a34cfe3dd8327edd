import numpy as np
import pytest
import torch

from csgn_core.model.graph_ops import (
    GraphCoarsen,
    GraphConvST,
    GraphUpsample,
    block_schedule,
    coarsen_time,
    level_partitions,
    level_roots,
    partition_matrices,
    to_channel_major,
    to_vertex_major,
    upsample_time,
)
from csgn_core.motion.pyramid import build_pyramid
from csgn_core.motion.skeleton import Skeleton, load_named, named_skeletons

from .helpers import toy_skeleton


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    yield
    torch.set_num_threads(n)


def skeletons() -> list[Skeleton]:
    chain = Skeleton("chain", [f"j{i}" for i in range(7)], [-1, 0, 1, 2, 3, 4, 5], np.ones((7, 3)))
    return [toy_skeleton(), chain] + [load_named(n) for n in named_skeletons()]


def test_partitions_self_nearer_farther():
    sk = toy_skeleton()
    a = partition_matrices(sk.n_joints, sk.bones, 0)
    assert a.shape == (3, 9, 9)
    np.testing.assert_array_equal(a[0], np.eye(9))
    assert a[1, 1, 0] == 1.0 and a[1, 0].sum() == 0  # spine's parent is the hips; the root has none
    np.testing.assert_allclose(a[2, 1, [2, 3, 5]], 1 / 3)  # spine averages head and both arms
    assert a[2, 4].sum() == 0  # a hand has no farther neighbour
    one = partition_matrices(1, [], 0)
    assert one.shape == (1, 1, 1)  # empty partitions are dropped


def test_level_roots_follow_the_pyramid():
    pyr = build_pyramid(toy_skeleton())
    roots = level_roots(pyr)
    assert roots[0] == 0 and len(roots) == len(pyr.levels) and roots[-1] == 0


@pytest.mark.parametrize("varying", [False, True])
def test_graph_conv_matches_dense_formula(varying):
    torch.manual_seed(0)
    sk = toy_skeleton()
    a = partition_matrices(sk.n_joints, sk.bones, 0)
    conv = GraphConvST(5, 7, a, kt=3, varying=varying)
    x = torch.randn(2, 9, 5, 12)  # (N, V, C, T)
    y = conv(x)
    assert y.shape == (2, 9, 7, 12)
    # Reference: dense partition means, then per-vertex temporal convolution with zero padding.
    agg = torch.einsum("pvu,nuct->nvpct", torch.tensor(a), x).reshape(2, 9, 15, 12)
    w = conv.weight.view(9 if varying else 1, 7, 15, 3)
    b = conv.bias.view(9 if varying else 1, 7)
    xp = torch.nn.functional.pad(agg, (1, 1))
    ref = torch.zeros_like(y)
    for v in range(9):
        wv, bv = w[v if varying else 0], b[v if varying else 0]
        for d in range(3):
            ref[:, v] += torch.einsum("oi,nit->not", wv[:, :, d], xp[:, v, :, d:d + 12])
        ref[:, v] += bv[None, :, None]
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)


def test_varying_conv_with_equal_weights_equals_shared():
    torch.manual_seed(1)
    sk = toy_skeleton()
    a = partition_matrices(sk.n_joints, sk.bones, 0)
    shared = GraphConvST(4, 6, a, kt=3)
    varying = GraphConvST(4, 6, a, kt=3, varying=True)
    with torch.no_grad():
        varying.weight.copy_(shared.weight.repeat(9, 1, 1))
        varying.bias.copy_(shared.bias.repeat(9))
    x = torch.randn(3, 9, 4, 10)
    torch.testing.assert_close(varying(x), shared(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("sk", skeletons(), ids=lambda s: s.name)
def test_ops_at_every_level(sk):
    pyr = build_pyramid(sk)
    roots = level_roots(pyr)
    for lv in range(len(pyr.levels) - 1):
        fine, coarse = pyr.levels[lv], pyr.levels[lv + 1]
        x = torch.randn(2, coarse.n, 3, 4)  # (N, Vc, C, T)
        up = GraphUpsample(coarse, fine.n)(x)
        assert up.shape == (2, fine.n, 3, 8)
        conv = GraphConvST(3, 5, level_partitions(fine, roots[lv]), kt=3, varying=True)
        y = conv(up)
        assert y.shape == (2, fine.n, 5, 8)
        down = GraphCoarsen(coarse, fine.n)(y)
        assert down.shape == (2, coarse.n, 5, 4)
        # Up then coarsen of a constant signal gives the constant back (spatially and in time).
        c = torch.full((1, coarse.n, 2, 6), 1.7)
        back = GraphCoarsen(coarse, fine.n)(GraphUpsample(coarse, fine.n)(c))
        torch.testing.assert_close(back, c)
        # A kept vertex is embedded unchanged by spatial upsampling.
        s = GraphUpsample(coarse, fine.n, time=False)(x)
        torch.testing.assert_close(s[:, list(coarse.keep)], x)


def test_temporal_up_and_down():
    x = torch.arange(6.0).view(1, 1, 1, 6)
    up = upsample_time(x)
    # frames 2t, 2t+1 sit at t -/+ 1/4: 0.75 x[t] + 0.25 x[t -/+ 1], edges held
    np.testing.assert_allclose(up[0, 0, 0, :6].numpy(), [0, 0.25, 0.75, 1.25, 1.75, 2.25])
    assert up[0, 0, 0, -1] == 5.0
    np.testing.assert_allclose(coarsen_time(up)[0, 0, 0].numpy()[1:-1], x[0, 0, 0].numpy()[1:-1])
    np.testing.assert_array_equal(upsample_time(x, "nearest")[0, 0, 0].numpy(), np.repeat(np.arange(6.0), 2))
    with pytest.raises(ValueError):
        coarsen_time(torch.zeros(1, 1, 1, 5))


def test_layout_helpers_round_trip():
    x = torch.randn(2, 9, 16, 5)  # (N, C, T, V)
    v = to_vertex_major(x)
    assert v.shape == (2, 5, 9, 16)
    torch.testing.assert_close(to_channel_major(v), x)


def test_block_schedule():
    # Table 1: spatial upsampling at blocks 0, 2, 4 and temporal at 1-4.
    assert block_schedule(3, 4) == [(True, False), (False, True), (True, True), (False, True), (True, True)]
    for s in range(0, 7):
        for k in range(0, 5):
            sch = block_schedule(s, k)
            assert sum(a for a, _ in sch) == s and sum(b for _, b in sch) == k
            if s:
                assert sch[-1][0] or s == 1  # the full graph is reached by the last block
