#!/usr/bin/env bash
# The issue's --tune target: every operation 8 B-4 MiB with Auto on the
# 3x2 lab brought up with spmdlab --tune, one run. Needs root; from the
# repository:
#   bash bench/results/2026-12-07-lab3x2-tune-sweep/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work tsw
lab_up "$WORK" --tune
lab_bench "$OUT/log.txt" -reps 5 -csv "$OUT/spmd.csv" -plot "$OUT/plots" barrier bcast reduce allreduce allgather
