#!/usr/bin/env bash
# Lanes allgather with whole blocks (OLD, default the commit before the
# segmented one) against segments (NEW, default HEAD): allgather of
# 512 KiB-4 MiB with Auto (Lanes), medians of 5, alternating, ROUNDS
# times (default 2), on the 3x2 lab with --tune. Needs root; from
# the repository:
#   OLD=<commit> bash bench/results/2026-12-07-lab3x2-allgather-segments/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work ag-seg
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate "old new" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 allgather
