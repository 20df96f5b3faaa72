#!/usr/bin/env bash
# WarmUp to every lane peer at once (OLD, the commit before the rounds)
# against WarmUp in rounds, one region at a time (NEW, default HEAD):
# allreduce, bcast and allgather of 512 KiB-2 MiB, Auto, medians of 5,
# alternating, ROUNDS times (default 2), on the 3x2 lab with
# --tune. Needs root; from the repository:
#   OLD=264ad07 NEW=9d3ab0a OUT=bench/results/2026-12-07-lab3x2-warmup-rounds bash bench/results/2026-12-07-lab3x2-warmup-rounds/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work warmup-rounds
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate "old new" -reps 5 -osu=false -min 524288 -max 2097152 -factor 2 allreduce bcast allgather
