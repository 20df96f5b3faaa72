#!/usr/bin/env bash
# The shared-tunnel model (each region pair shares one 100 Mbit/s link,
# spmdlab --wan-mbit) on the 3x2 lab, kernel defaults: every
# operation 8 B-4 MiB with Auto, the tunnel in the bound (-wan-mbit).
# Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-wan-mbit/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work wanm
lab_up "$WORK" --wan-mbit 100
lab_bench "$OUT/log.txt" -reps 3 -wan-mbit 100 -csv "$OUT/spmd.csv" barrier bcast reduce allreduce allgather
