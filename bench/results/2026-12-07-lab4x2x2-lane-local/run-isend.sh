#!/usr/bin/env bash
# As run.sh at 1 MiB only, 15 repetitions: A=b3889cd (before this stop)
# against B=249240e (Isends need room only), ROUNDS (default 1) times.
# Needs root; from the repository:
#   ROUNDS=2 OUT=bench/results/2026-12-07-lab4x2x2-lane-local/isend-1m bash bench/results/2026-12-07-lab4x2x2-lane-local/run-isend.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lab4-ab1m
lab_builds A=b3889cd B=249240e
lab_up "$WORK" "${LAB4_ARGS[@]}"
ROUNDS=${ROUNDS:-1} lab_alternate "A B" -reps 15 -osu=false -min 1048576 -max 1048576 allreduce
