#!/usr/bin/env bash
# Bcast and reduce of 256 KiB-4 MiB by Chain beside Lanes and Direct
# (and Auto), on the 3x2 lab with --tune, two rounds in one lab.
# Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-chain/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain
lab_up "$WORK" --tune
for round in 1 2; do
  for op in bcast reduce; do
    echo "== round $round $op"
    lab_bench "$OUT/log-r$round-$op.txt" -reps 3 -min 262144 -max 4194304 -factor 2 -alg "${ALGS:-Chain,Lanes,Direct}" -csv "$OUT/r$round-$op.csv" "$op"
  done
done
