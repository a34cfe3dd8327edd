import numpy as np
import pytest

from csgn_core.motion.pyramid import build_pyramid
from csgn_core.motion.skeleton import Skeleton, load_named, named_skeletons

from .helpers import toy_skeleton


def _check_pyramid(sk: Skeleton):
    pyr = build_pyramid(sk)
    assert pyr.sizes[0] == sk.n_joints and pyr.sizes[-1] == 1
    assert all(a > b for a, b in zip(pyr.sizes, pyr.sizes[1:]))
    for fine, coarse in zip(pyr.levels, pyr.levels[1:]):
        adj = fine.adjacency()
        kept = set(coarse.keep)
        # every removed vertex keeps a neighbour that stays
        for v in range(fine.n):
            if v not in kept:
                assert any(adj[v, w] for w in kept), v
        # nothing more could be removed: each kept vertex is needed (it dominates something alone)
        for k in kept:
            others = kept - {k}
            alone = [v for v in range(fine.n) if v not in others and not any(adj[v, w] for w in others)]
            assert alone, f"vertex {k} could also have been removed"
        # upsampling embeds kept vertices and averages kept neighbours for new ones
        up = coarse.upsample_matrix(fine.n)
        np.testing.assert_allclose(up.sum(1), 1.0)
        for ci, f in enumerate(coarse.keep):
            assert up[f, ci] == 1.0
        # coarsening pools every vertex into exactly one coarse vertex, a neighbour or itself
        down = coarse.coarsen_matrix(fine.n)
        np.testing.assert_allclose(down.sum(1), 1.0)
        for f, c in enumerate(coarse.assign):
            kf = coarse.keep[c]
            assert kf == f or adj[f, kf]
        # the coarse graph stays connected (a tree: n - 1 edges)
        assert len(coarse.edges) == coarse.n - 1
    return pyr


def test_toy_pyramid():
    pyr = _check_pyramid(toy_skeleton())
    assert pyr.sizes == [9, 4, 1]  # hips, spine, both arms: the minimum dominating set


def test_ntu_like_chain_and_star():
    chain = Skeleton("chain", [f"j{i}" for i in range(10)], [-1] + list(range(9)), np.ones((10, 3)))
    _check_pyramid(chain)
    star = Skeleton("star", [f"j{i}" for i in range(6)], [-1, 0, 0, 0, 0, 0], np.ones((6, 3)))
    assert _check_pyramid(star).sizes == [6, 1]


@pytest.mark.parametrize("name", named_skeletons())
def test_named_skeletons_load_and_pyramid(name):
    sk = load_named(name)
    assert sk.n_joints >= 15
    assert np.all(sk.bone_lengths[1:] > 0)
    _check_pyramid(sk)
    m = sk.mirror_map()
    assert np.all(m[m] == np.arange(sk.n_joints))


def test_skeleton_validation_and_round_trip():
    sk = toy_skeleton()
    again = Skeleton.from_json(sk.to_json())
    assert again.same_topology(sk) and np.allclose(again.offsets, sk.offsets)
    assert again.lr_pairs == sk.lr_pairs
    with pytest.raises(ValueError):
        Skeleton("bad", ["a", "b"], [-1, 2], np.zeros((2, 3)))
    with pytest.raises(ValueError):
        Skeleton("bad", ["a", "a"], [-1, 0], np.zeros((2, 3)))
    with pytest.raises(KeyError):
        load_named("no-such-skeleton")
