#!/usr/bin/env bash
# Continue a bundled model's training checkpoint on this machine's CPU with the completion recipe
# (docs/model.md), one thread at low priority, beside other work: the CPU runs of sessions 7-10
# (docs/results/completion-training.md). The recipe needs foot contacts and the presets' dense H,
# which the bundled actions checkpoint predates: there the run switches both on and H starts afresh
# (the dance checkpoint has both since session 11).
# Usage: [THREADS=2] bash scripts/cpu_continue.sh RUN_DIR [MODEL] [extra csgn train options...]
#   THREADS: torch threads (1 beside other work; 2 on an otherwise idle 2-core machine: 1.1 s a step
#   against 2.0 with one)
#   RUN_DIR: a new folder (seeded from resources/models/MODEL/checkpoint) or one to resume
#   MODEL: dance (default; data tang-dance) or actions (bandai-actions)
set -euo pipefail
run=${1:?usage: cpu_continue.sh RUN_DIR [MODEL] [options...]}
model=${2:-dance}
shift $(( $# >= 2 ? 2 : 1 ))
case $model in dance) data=tang-dance ;; actions) data=bandai-actions ;; *) echo "unknown model $model" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$run/checkpoints/latest" ]; then
  step=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['state']['step'])" \
    "$root/resources/models/$model/checkpoint/config.json")
  name=$(printf 'step-%08d' "$step")
  mkdir -p "$run/checkpoints"
  cp -r "$root/resources/models/$model/checkpoint" "$run/checkpoints/$name"
  echo "$name" > "$run/checkpoints/latest"
fi
export OMP_NUM_THREADS=${THREADS:-1} PYTHONUNBUFFERED=1
cd "$root"
exec nice -n 10 python3 -m csgn_core.cli.train --data "$data" --preset cpu --out "$run" --resume --threads ${THREADS:-1} \
  --checkpoint-minutes 8 --sample-minutes 1000 --no-progress --cycle-z-g 20 \
  --set foot_contacts=true --set h_graph=dense --set h_width=256 --set h_varying=true \
  --train-set cycle_z=20 --train-set cycle_z_mse=true --train-set beta1_h=0.9 --train-set lr_h=0.0005 \
  --train-set latent_decorrelate=1 --train-set complete=1 --train-set cycle_x_g=1 --train-set mirror=true \
  --train-set cpu_bf16=false --train-set foot_still=1 --train-set motion_stats=1 --train-set latent_moments=1 \
  --train-set contact_rate=1 --train-set fake_margin=true --train-set complete_margin=true \
  --train-set keep_checkpoints=30 "$@"
