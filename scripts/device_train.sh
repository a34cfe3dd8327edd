#!/usr/bin/env bash
# One training burst on a lent GPU machine (the device tool), then the exported model back in $OUT.
# Usage there: bash scripts/device_train.sh DATASET.npz PRESET MINUTES
set -euo pipefail
data=$1 preset=$2 minutes=$3
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
python3 -m csgn_core.train.trainer --data "$data" --preset "$preset" --out /tmp/run --device cuda \
  --minutes "$minutes" --checkpoint-minutes 1 --sample-minutes 100 --no-progress --seed 0
mkdir -p "$OUT/model"
cp /tmp/run/model/* "$OUT/model/"
cp /tmp/run/metrics.jsonl "$OUT/"
ls /tmp/run/samples | tail -1 | xargs -I{} cp /tmp/run/samples/{} "$OUT/last_sample.png" || true
python3 - <<'PY'
import time, torch
from csgn_core.nn.model import load_model, generate
m = load_model('/tmp/run/model', device='cuda')
for s in (60, 300):
    generate(m, s, 0); torch.cuda.synchronize(); t = time.perf_counter(); generate(m, s, 1); torch.cuda.synchronize()
    print(f'generate {s} s on cuda: {time.perf_counter() - t:.3f} s')
PY
