"""Time to generate a long motion with a CSGN model: the generator call alone and the whole ``generate``.

Uses a trained model folder when given (--model), else untrained networks of the preset on a named
skeleton (the speed does not depend on the weights). Target: 300 s with the cpu preset in <= 1.0 s
(model call only) on 2 cores.

    python benchmarks/bench_generate.py [--preset cpu] [--seconds 300] [--skeleton tang23] [--threads 2]
        [--process]

Also reports the generator's FLOPs for the take (convolutions and matmuls, torch's FlopCounterMode),
the fp32 matmul peak measured in the same run, and the FLOP limit (FLOPs / peak) with the model
call's multiple of it (issue 18: within 3x). ``--process`` times whole ``csgn generate`` processes
(imports, model load, generation and the .npz write; issue 18: under 2 s for 300 s).
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from csgn_core.model.config import preset  # noqa: E402
from csgn_core.model.features import feature_stats  # noqa: E402
from csgn_core.model.inference import CSGNModel, decode_features, generate, latent_steps, load_model, sample_latent  # noqa: E402
from csgn_core.model.networks import count_parameters  # noqa: E402
from csgn_core.motion.skeleton import load_named  # noqa: E402


def untrained(name: str, skeleton: str, fps: float) -> CSGNModel:
    sk = load_named(skeleton)
    cfg, _ = preset(name)
    cfg.skeleton, cfg.fps = sk.to_dict(), fps
    cfg.stats = feature_stats(sk, np.random.default_rng(0).normal(size=(1000, 3)) * [1, 1, 5] + [0, 0, 90])
    torch.manual_seed(0)
    return CSGNModel.new(cfg)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="cpu")
    p.add_argument("--model", help="a trained model folder instead of untrained networks")
    p.add_argument("--skeleton", default="tang23")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--process", action="store_true", help="also time whole `csgn generate` processes")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model) if args.model else untrained(args.preset, args.skeleton, args.fps)
    model = model.to(args.device)
    frames = int(round(args.seconds * model.fps))
    z = sample_latent(model, latent_steps(model, frames), 0)
    decode_features(model, z)  # warm-up
    calls, full = [], []
    for i in range(args.repeat):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        decode_features(model, z)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        calls.append(time.perf_counter() - t0)
    for i in range(max(1, args.repeat // 2)):
        t0 = time.perf_counter()
        generate(model, args.seconds, seed=i)
        full.append(time.perf_counter() - t0)
    out = {
        "preset": args.preset if not args.model else model.cfg.to_dict().get("latent_channels"),
        "skeleton": model.skeleton.name, "seconds": args.seconds, "frames": frames, "fps": model.fps,
        "latent_steps": int(z.shape[1]), "threads": torch.get_num_threads(), "device": args.device,
        "generator_params": count_parameters(model.G),
        "model_call_s_best": round(min(calls), 4), "model_call_s_median": round(float(np.median(calls)), 4),
        "generate_total_s_best": round(min(full), 4), "target_model_call_s": 1.0,
    }
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        decode_features(model, z)
    from bench_train_peak import matmul_peak  # the same peak as the training benchmark

    peak = matmul_peak(torch.get_num_threads())
    out.update(gflop=round(fc.get_total_flops() / 1e9, 2), matmul_peak_gflops=round(peak, 1),
               flop_limit_s=round(fc.get_total_flops() / 1e9 / peak, 4))
    out["model_call_x_limit"] = round(min(calls) / out["flop_limit_s"], 2)
    if args.process:
        out["process_s"] = _process_times(args)
    print(json.dumps(out))
    return 0


def _process_times(args, repeat: int = 3) -> list[float]:
    import shutil
    import subprocess
    import tempfile

    exe = shutil.which("csgn")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from csgn_core.cli import main; sys.exit(main())"]
    model = args.model or "dance"
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            t = time.perf_counter()
            subprocess.run(cmd + ["generate", "--model", model, "--seconds", str(args.seconds), "--seed", str(i),
                                  "-o", str(Path(tmp) / "take.npz")], check=True, capture_output=True)
            times.append(round(time.perf_counter() - t, 3))
    return times


if __name__ == "__main__":
    sys.exit(main())
