#!/usr/bin/env bash
# Session 23's autoencoder-first recipe for `dance` with a 24-channel latent, phase by phase
# (docs/results/completion-training.md, "Session 23"): G and H first learn to reconstruct real windows
# at 1e-3 with weak z-cycle and moment terms and no critic weight, then the critic joins at weight 0.1
# (D at the WGAN-GP rate, G keeping its own through lr_g), then the bundled model's floor terms. Each
# phase resumes the run folder and stops at a total step count, so an interrupted run goes on where
# it stopped. On the development CPU, one thread: about 2,700 steps in 55 minutes of an idle core.
# Usage: [THREADS=1] [DEVICE=cpu] bash scripts/autoencoder_first.sh RUN_DIR [LAST_ADVERSARIAL]
#   LAST_ADVERSARIAL: the critic's weight after step 2,707 (session 23 tried 0.3 and 1; default 1)
set -euo pipefail
run=${1:?usage: autoencoder_first.sh RUN_DIR [LAST_ADVERSARIAL]}
last_adv=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
export OMP_NUM_THREADS=${THREADS:-1} PYTHONUNBUFFERED=1
cd "$root"

ae=(--train-set lr=0.001 --train-set beta1=0.9 --train-set lr_h=0.001 --train-set beta1_h=0.9
    --train-set cycle_x=10 --train-set cycle_x_g=10 --train-set cycle_z=2 --train-set cycle_z_g=2
    --train-set cycle_z_mse=true --train-set latent_moments=1 --train-set latent_decorrelate=1
    --train-set complete=0 --train-set batch=16 --train-set cpu_bf16=false --train-set keep_checkpoints=40)
critic=(--train-set lr=0.0002 --train-set beta1=0.5 --train-set lr_g=0.001 --train-set beta1_g=0.9)
floor=(--train-set travel_match=1 --train-set root_speed=5 --train-set motion_stats=1 --train-set contact_rate=1)

step() {  # the run's latest step, 0 before the first checkpoint
  if [ -f "$run/checkpoints/latest" ]; then sed 's/step-0*//; s/^$/0/' "$run/checkpoints/latest"; else echo 0; fi
}
phase() {  # phase STOP_STEP options...: train to STOP_STEP unless the run is there already
  local stop=$1; shift
  if [ "$(step)" -ge "$stop" ]; then return; fi
  local resume=()
  if [ -f "$run/checkpoints/latest" ]; then resume=(--resume); else resume=(--set latent_channels=24); fi
  nice -n 10 python3 -m csgn_core.cli.train --data tang-dance --preset cpu --out "$run" "${resume[@]}" \
    --device "${DEVICE:-cpu}" --threads "${THREADS:-1}" --steps "$stop" --checkpoint-minutes 5 \
    --sample-minutes 1000 --no-progress "$@"
}

# 1. the autoencoder: no critic weight, no floor terms
phase 725 "${ae[@]}" --train-set adversarial=0 --train-set foot_still=0 --train-set contact_rate=0
# 2. the critic at 0.1, at its own rate
phase 1675 "${ae[@]}" "${critic[@]}" --train-set adversarial=0.1 --train-set foot_still=0 --train-set contact_rate=0
# 3. the floor terms, then the feet held harder and the travel pulled harder
phase 2341 "${ae[@]}" "${critic[@]}" --train-set adversarial=0.1 "${floor[@]}" --train-set foot_still=1
phase 2707 "${ae[@]}" "${critic[@]}" --train-set adversarial=0.1 "${floor[@]}" --train-set foot_still=3 \
  --train-set travel_match=2
# 4. the critic at full weight for realism (FID), open-ended
phase 1000000 "${ae[@]}" "${critic[@]}" --train-set adversarial="$last_adv" "${floor[@]}" --train-set foot_still=3 \
  --train-set travel_match=2
