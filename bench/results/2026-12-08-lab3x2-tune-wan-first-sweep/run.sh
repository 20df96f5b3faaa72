#!/usr/bin/env bash
# The issue's --tune target with the WAN-first queue: every operation
# 8 B-4 MiB (sizes doubling) with Auto on the 3x2 lab brought up with
# spmdlab --tune --wan-first, run with spmdrun --wan-first; ROUNDS runs
# (default 1). Needs root; from the repository:
#   OUT=bench/results/2026-12-08-lab3x2-tune-wan-first-sweep bash bench/results/2026-12-08-lab3x2-tune-wan-first-sweep/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work twf
lab_up "$WORK" --tune --wan-first
for r in $(seq 1 "${ROUNDS:-1}"); do
  echo "== round $r"
  SPMDRUN_X="--wan-first" lab_bench "$OUT/log-r$r.txt" -reps 5 -factor 2 -csv "$OUT/spmd-r$r.csv" -plot "$OUT/plots-r$r" barrier bcast reduce allreduce allgather
done
