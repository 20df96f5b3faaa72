#!/usr/bin/env bash
# The shared-tunnel model (each region pair shares one 100 Mbit/s link,
# spmdlab --wan-mbit) on the 3x2 lab, kernel defaults: every
# operation 8 B-4 MiB with Auto, the tunnel in the bound (-wan-mbit).
# Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-wan-mbit/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/wanm/out}; mkdir -p "$out"
lab_work wanm
work=$WORK
lab_up "$work" --wan-mbit 100
"${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" \
  -reps 3 -wan-mbit 100 -csv "$out/spmd.csv" barrier bcast reduce allreduce allgather 2>&1 |
  tee "$out/log.txt" | grep -E "^ +[a-z]+ +[A-Z]" || true
