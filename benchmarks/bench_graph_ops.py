"""Graph aggregation of every GraphConvST in a generator pass: the dense (V P, V) matmul the networks
use against the gather-per-neighbour-slot form they used until session 5 (rebuilt here from the same
partition matrices), on the inputs one batch really produces. Prints JSON.

    python benchmarks/bench_graph_ops.py [--model resources/models/dance] [--batch 16] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csgn_core.model.graph_ops import GraphConvST  # noqa: E402
from csgn_core.model.inference import load_model  # noqa: E402


def gather_aggregate(conv: GraphConvST, x: torch.Tensor) -> torch.Tensor:
    """The old form: for each partition, one index_select and weighting per neighbour slot, stacked."""
    a = conv.A.numpy()
    N, V, C, T = x.shape
    parts = []
    for p in range(conv.P):
        members = [np.nonzero(a[p, v])[0] for v in range(V)]
        acc = None
        for k in range(max(len(m) for m in members)):
            idx = torch.as_tensor([m[k] if k < len(m) else 0 for m in members])
            w = torch.as_tensor([a[p, v, m[k]] if k < len(m) else 0.0 for v, m in enumerate(members)])[:, None, None]
            term = x.index_select(1, idx) * w
            acc = term if acc is None else acc + term
        parts.append(acc)
    return torch.stack(parts, dim=2).view(N, V, conv.P * C, T)


def best(f, x, n=20) -> float:
    f(x)
    t = time.perf_counter()
    for _ in range(n):
        f(x)
    return (time.perf_counter() - t) / n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "dance"))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.model)
    convs = [m for m in model.G.modules() if isinstance(m, GraphConvST) and not (m.P == 1 and m.V == 1)]
    inputs = {}

    def keep(mod, inp, out):
        inputs.setdefault(id(mod), inp[0].detach())

    hooks = [c.register_forward_hook(keep) for c in convs]
    with torch.no_grad():
        model.G(model.prior.sample_torch(model.cfg.window // model.step_frames, a.batch, seed=0))
        for h in hooks:
            h.remove()
        dense = sum(best(c.aggregate, inputs[id(c)]) for c in convs)
        gather = sum(best(lambda x, c=c: gather_aggregate(c, x), inputs[id(c)]) for c in convs)
        err = max(float((c.aggregate(inputs[id(c)]) - gather_aggregate(c, inputs[id(c)])).abs().max()) for c in convs)
    print(json.dumps({"batch": a.batch, "threads": a.threads, "layers": len(convs), "dense_ms": round(dense * 1e3, 2),
                      "gather_ms": round(gather * 1e3, 2), "max_abs_difference": err}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
