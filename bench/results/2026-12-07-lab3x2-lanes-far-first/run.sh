#!/usr/bin/env bash
# Lanes allreduce sending to every region at once (OLD, the commit before
# far-first) against farthest region first (NEW, default HEAD):
# allreduce of 512 KiB-2 MiB, Auto and Lanes, medians of 5, alternating,
# ROUNDS times (default 2), on the 3x2 lab with --tune. Needs
# root; from the repository:
#   OLD=2cbd2b5 NEW=9d8df3a OUT=bench/results/2026-12-07-lab3x2-lanes-far-first bash bench/results/2026-12-07-lab3x2-lanes-far-first/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work far-first
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate "old new" -reps 5 -osu=false -min 524288 -max 2097152 -factor 2 -alg Auto,Lanes allreduce
