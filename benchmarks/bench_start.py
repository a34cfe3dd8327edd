"""Time the editor's start as a user sees it: launch `python main.py` and wait for a playing dance.

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_start.py [--runs 5]

Each run starts a fresh process (fresh imports, the bundled model loaded in the worker process)
and reports seconds from launch to the window on screen and to the first generated frame played.
Target: a dancing skeleton within 5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run() -> dict:
    with tempfile.TemporaryDirectory() as home:
        # A fresh settings and recovery location, as on a new machine.
        env = {**os.environ, "CSGN_STUDIO_STARTUP_PROBE": "1", "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home,
               "HOME": home}
        t0 = time.time()
        r = subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    marks = dict(line.split() for line in r.stdout.splitlines() if line.startswith(("shown ", "playing ")))
    if "playing" not in marks:
        raise SystemExit(f"the editor did not reach playback (exit {r.returncode}):\n{r.stderr[-2000:]}")
    return {"shown_s": round(float(marks["shown"]) - t0, 2), "playing_s": round(float(marks["playing"]) - t0, 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args(argv)
    runs = [one_run() for _ in range(a.runs)]
    print(json.dumps({"runs": runs, "playing_s_median": sorted(r["playing_s"] for r in runs)[len(runs) // 2],
                      "target_s": 5.0}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
