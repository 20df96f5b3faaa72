#!/usr/bin/env bash
# The cost model's new Lanes reduce and Lanes2 formulas against the lab:
# allreduce of 1-4 MiB by Lanes, Lanes2 and Auto, reduce of 256 KiB-1 MiB
# by Lanes, Chain and Auto, on the 3x2 lab with --tune, two
# rounds in one lab. Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-model-check/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work mchk
lab_up "$WORK" --tune
for round in 1 2; do
  echo "== round $round"
  lab_bench "$OUT/log-allreduce-r$round.txt" -reps 3 -factor 2 -min 1048576 -max 4194304 -alg Lanes,Lanes2,Auto -csv "$OUT/allreduce-r$round.csv" allreduce
  lab_bench "$OUT/log-reduce-r$round.txt" -reps 3 -factor 2 -min 262144 -max 1048576 -alg Lanes,Chain,Auto -csv "$OUT/reduce-r$round.csv" reduce
done
