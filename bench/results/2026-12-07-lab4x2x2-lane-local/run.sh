#!/usr/bin/env bash
# The 4-region lab (2 hosts each, 2 slots per host, uneven delays, kernel
# TCP defaults): allreduce 512 KiB-4 MiB, Auto, 5 repetitions, before
# this stop's changes (OLD) and with them (NEW, default HEAD: Isends need
# room, laneLocal), alternating, ROUNDS times (default 1). Needs root;
# from the repository:
#   OLD=b3889cd NEW=201cfd4 OUT=bench/results/2026-12-07-lab4x2x2-lane-local bash bench/results/2026-12-07-lab4x2x2-lane-local/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lab4-lane-local
lab_ab_builds
lab_up "$WORK" "${LAB4_ARGS[@]}"
ROUNDS=${ROUNDS:-1} lab_alternate "old new" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 allreduce
