#!/usr/bin/env bash
# Lanes2 splitting every segment evenly among the regions (OLD) against
# giving the whole of each of its last segments to the region nearest
# the others (NEW, default HEAD; collectives.lanes2Tail): allreduce 1, 2
# and 4 MiB, Auto, 10 repetitions each, alternating, ROUNDS times
# (default 2), on the 3x2 lab with --tune. Needs root; from the
# repository:
#   OLD=6cba41b NEW=HEAD OUT=bench/results/2026-12-07-lab3x2-lanes2-tail bash bench/results/2026-12-07-lab3x2-lanes2-tail/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lanes2-tail
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate --json "old new" -reps 10 -osu=false -min 1048576 -max 4194304 -factor 2 allreduce
