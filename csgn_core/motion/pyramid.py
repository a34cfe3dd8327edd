"""The graph pyramid of CSGN (paper section 3.2).

Level 0 is the full skeleton graph. Each coarser level removes as many vertices as possible such that
every removed vertex keeps a neighbour that stays (the kept set is a minimum dominating set; on a
tree the greedy leaves-first rule finds one exactly). This repeats until one vertex is left.

Per level we keep what the networks need:
- ``keep``: for each coarse vertex, its index in the finer level (the embedding used by upsampling);
- ``up_sources``: for each finer vertex, the coarse vertices whose average gives its value when
  upsampling (itself when kept; its kept neighbours when new);
- ``assign``: for each finer vertex, the coarse vertex it is pooled into when coarsening (the
  reverse map; a removed vertex goes to one kept neighbour, preferring the one nearest the root);
- ``edges`` of the coarse graph: two kept vertices are joined when the path between them in the
  finer graph runs only through removed vertices, so the coarse graph of a tree is again a tree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csgn_core.motion.skeleton import Skeleton


@dataclass(frozen=True)
class Level:
    n: int  # vertices at this level
    edges: tuple[tuple[int, int], ...]
    keep: tuple[int, ...] = ()  # coarse vertex -> index in the next finer level (empty at level 0)
    up_sources: tuple[tuple[int, ...], ...] = ()  # finer vertex -> coarse vertices averaged on upsampling
    assign: tuple[int, ...] = ()  # finer vertex -> coarse vertex it pools into

    def adjacency(self) -> np.ndarray:
        a = np.zeros((self.n, self.n), dtype=np.float32)
        for u, v in self.edges:
            a[u, v] = a[v, u] = 1.0
        return a

    def upsample_matrix(self, n_fine: int) -> np.ndarray:
        """(V_fine, V_coarse) averaging matrix: fine = M @ coarse."""
        m = np.zeros((n_fine, self.n), dtype=np.float32)
        for f, src in enumerate(self.up_sources):
            m[f, list(src)] = 1.0 / len(src)
        return m

    def coarsen_matrix(self, n_fine: int) -> np.ndarray:
        """(V_coarse, V_fine) averaging matrix: coarse = M @ fine (mean over each pooled group)."""
        m = np.zeros((self.n, n_fine), dtype=np.float32)
        for f, c in enumerate(self.assign):
            m[c, f] = 1.0
        return m / np.maximum(m.sum(axis=1, keepdims=True), 1.0)


@dataclass(frozen=True)
class GraphPyramid:
    levels: tuple[Level, ...]  # levels[0] is the full graph, levels[-1] has one vertex

    @property
    def sizes(self) -> list[int]:
        return [lv.n for lv in self.levels]

    def to_dict(self) -> dict:
        return {
            "sizes": self.sizes,
            "levels": [
                {"n": lv.n, "edges": [list(e) for e in lv.edges], "keep": list(lv.keep),
                 "up_sources": [list(s) for s in lv.up_sources], "assign": list(lv.assign)}
                for lv in self.levels
            ],
        }


def neighbours(n: int, edges) -> list[list[int]]:
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        nbrs[u].append(v)
        nbrs[v].append(u)
    return nbrs


def depths(n: int, edges, root: int) -> list[int]:
    """Edge count from root to every vertex (breadth first); -1 where a vertex cannot be reached."""
    nbrs = neighbours(n, edges)
    depth = [-1] * n
    depth[root] = 0
    queue = [root]
    for u in queue:
        for v in nbrs[u]:
            if depth[v] < 0:
                depth[v] = depth[u] + 1
                queue.append(v)
    return depth


def _dominating_set(n: int, edges: list[tuple[int, int]], root: int = 0) -> list[int]:
    """Minimum dominating set of a tree: visit vertices deepest first; an undominated vertex puts its parent in."""
    nbrs = neighbours(n, edges)
    parent = [-1] * n
    order = [root]
    seen = {root}
    for u in order:  # breadth-first: order grows while we iterate
        for v in sorted(nbrs[u]):
            if v not in seen:
                seen.add(v)
                parent[v] = u
                order.append(v)
    if len(order) != n:
        raise ValueError("the skeleton graph is not connected")
    chosen = [False] * n
    dominated = [False] * n
    for u in reversed(order):
        if dominated[u]:
            continue
        pick = parent[u] if parent[u] >= 0 else u
        chosen[pick] = True
        dominated[pick] = True
        for w in nbrs[pick]:
            dominated[w] = True
    return [v for v in range(n) if chosen[v]]


def _coarsen(n: int, edges: list[tuple[int, int]], root: int) -> tuple[Level, int]:
    kept = _dominating_set(n, edges, root)
    index = {v: i for i, v in enumerate(kept)}
    nbrs = neighbours(n, edges)
    # Distance from the root, so removed vertices pool into the neighbour nearest the root.
    depth = depths(n, edges, root)
    up_sources, assign = [], []
    for v in range(n):
        if v in index:
            up_sources.append((index[v],))
            assign.append(index[v])
        else:
            ks = sorted(index[w] for w in nbrs[v] if w in index)
            up_sources.append(tuple(ks))
            assign.append(index[min((w for w in nbrs[v] if w in index), key=lambda w: (depth[w], w))])
    coarse_edges = set()
    for s in kept:
        # Walk from s through removed vertices only; every kept vertex reached is a coarse neighbour.
        stack, seen = [s], {s}
        while stack:
            u = stack.pop()
            for w in nbrs[u]:
                if w in seen:
                    continue
                seen.add(w)
                if w in index:
                    coarse_edges.add(tuple(sorted((index[s], index[w]))))
                else:
                    stack.append(w)
    level = Level(n=len(kept), edges=tuple(sorted(coarse_edges)), keep=tuple(kept),
                  up_sources=tuple(up_sources), assign=tuple(assign))
    return level, index.get(root, assign[root])


def build_pyramid(skeleton: Skeleton) -> GraphPyramid:
    """The pyramid of a skeleton's bone graph, from the full graph down to one vertex."""
    edges = skeleton.bones
    levels = [Level(n=skeleton.n_joints, edges=tuple(sorted(edges)))]
    n, root = skeleton.n_joints, 0
    while n > 1:
        level, root = _coarsen(n, list(levels[-1].edges), root)
        if level.n >= n:  # cannot happen on a connected graph with n > 1; guard against loops
            raise RuntimeError("graph pyramid failed to shrink")
        levels.append(level)
        n = level.n
    return GraphPyramid(levels=tuple(levels))
