#!/usr/bin/env bash
# Allreduce of 512 KiB-4 MiB by each region-aware algorithm against its
# cost model (spmdbench's model column), on the 3x2 lab with
# --tune, two runs. Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-allreduce-algs/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work ara
lab_up "$WORK" --tune
for round in 1 2; do
  echo "== round $round"
  lab_bench "$OUT/log-r$round.txt" -reps 3 -min 524288 -max 4194304 -factor 2 -alg Lanes,Lanes2,Direct -csv "$OUT/r$round.csv" allreduce
done
