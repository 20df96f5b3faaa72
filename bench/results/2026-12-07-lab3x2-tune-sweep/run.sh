#!/usr/bin/env bash
# The issue's --tune target: every operation 8 B-4 MiB with Auto on the
# 3x2 lab brought up with spmdlab --tune, one run. Needs root; from the
# repository:
#   bash bench/results/2026-12-07-lab3x2-tune-sweep/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/tsw/out}; mkdir -p "$out"
lab_work tsw
work=$WORK
lab_up "$work" --tune
"${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" \
  -reps 5 -csv "$out/spmd.csv" -plot "$out/plots" barrier bcast reduce allreduce allgather 2>&1 |
  tee "$out/log.txt" | grep -E "^ +[a-z]+ +[A-Z]" || true
