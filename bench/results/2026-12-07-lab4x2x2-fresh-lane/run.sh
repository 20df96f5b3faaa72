#!/usr/bin/env bash
# freshLane on (OLD) against off where hosts have several ranks (NEW) on
# the 4-region lab with 2 slots per host (LAB4_ARGS), kernel defaults:
# allreduce and allgather of 512 KiB and 2 MiB, 5 repetitions,
# alternating, ROUNDS times (default 2). Needs root; from the repository:
#   OLD=8e827f7 NEW=44d30be OUT=bench/results/2026-12-07-lab4x2x2-fresh-lane bash bench/results/2026-12-07-lab4x2x2-fresh-lane/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work fl4
lab_ab_builds
lab_up "$WORK" "${LAB4_ARGS[@]}"
lab_alternate "old new" -reps 5 -osu=false -min 524288 -max 2097152 -factor 4 allreduce allgather
