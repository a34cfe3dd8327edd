#!/usr/bin/env bash
# One burst on a lent GPU machine (the device tool): the two bundled models train on the GPU while the
# Table 3/4 ablations train on its CPU cores (one thread each, the scale of ~10 CPU minutes here),
# then the CUDA-path checks run on the new dance model. Everything comes back as tar files in $OUT.
# Usage there: bash scripts/device_burst.sh MINUTES   (dataset caches in cache/: tang-dance.npz,
# bandai-actions.npz)
set -uo pipefail
minutes=${1:-7}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
mkdir -p "$OUT/logs" /tmp/r
train() { python3 -m csgn_core.cli.train --preset cpu --minutes "$minutes" --no-progress --seed 0 \
          --sample-minutes 100 "$@"; }
train --data cache/tang-dance.npz --out /tmp/r/dance --device "${GPU:-cuda}" --batch 64 --threads 2 \
      --checkpoint-minutes 1 > "$OUT/logs/dance.log" 2>&1 &
train --data cache/bandai-actions.npz --out /tmp/r/actions --device "${GPU:-cuda}" --batch 64 --threads 2 \
      --checkpoint-minutes 1 > "$OUT/logs/actions.log" 2>&1 &
abl() { name=$1; shift; train --data cache/bandai-actions.npz --out "/tmp/r/abl-$name" --device cpu --threads 1 \
        --checkpoint-minutes 100 "$@" > "$OUT/logs/abl-$name.log" 2>&1 & }
abl csgn
abl white --set gp_mode=white
abl constant --set gp_mode=constant
abl single1 --set gp_mode=single --set gp_sigma=1
abl single4 --set gp_mode=single --set gp_sigma=4
abl tempconv --set g_graph=none
abl stgcn --set g_upsampling=direct --set g_sv_from=99
abl stsgcn --set g_upsampling=direct
abl csgngc --set g_sv_from=99
wait
nvidia-smi --query-gpu=name,utilization.gpu,memory.used --format=csv,noheader || true
for r in dance actions; do
  cp /tmp/r/$r/metrics.jsonl "$OUT/logs/$r-metrics.jsonl" 2>/dev/null
  ck=$(cat /tmp/r/$r/checkpoints/latest 2>/dev/null)
  tar -cf "$OUT/$r-model.tar" -C /tmp/r/$r model
  [ -n "$ck" ] && tar -cf "$OUT/$r-ckpt.tar" -C /tmp/r/$r/checkpoints "$ck"
done
python3 - <<'PY'
import pathlib
from csgn_core.model.inference import export_model, load_model
for d in sorted(pathlib.Path('/tmp/r').glob('abl-*')):
    try:
        export_model(load_model(d / 'model'), pathlib.Path('/tmp/abl16') / d.name, fp16=True)
    except Exception as e:
        print('export failed', d, e)
PY
for d in /tmp/r/abl-*; do cp "$d/metrics.jsonl" "/tmp/abl16/$(basename "$d")/" 2>/dev/null; done
ls /tmp/abl16 | head -5 | (cd /tmp/abl16 && xargs tar -cf "$OUT/abl1.tar")
ls /tmp/abl16 | tail -n +6 | (cd /tmp/abl16 && xargs tar -cf "$OUT/abl2.tar")
timeout 120 python3 scripts/device_checks.py /tmp/r/dance/model --json "$OUT/logs/checks-dance.json" > "$OUT/logs/checks.log" 2>&1
tail -n 2 "$OUT"/logs/*.log
tar -cf "$OUT/logs.tar" -C "$OUT" logs && rm -rf "$OUT/logs"
ls -la "$OUT"
