#!/usr/bin/env bash
# Isends written by their caller even when the socket is full (OLD)
# against only while it has room (NEW, default HEAD): allreduce, bcast,
# reduce and allgather of 512 KiB-4 MiB, Auto, 10 repetitions each (every
# one kept in the JSON), alternating, ROUNDS times (default 2), on the
# issue's 3x2 lab with --tune. Needs root; from the repository:
#   OLD=b3889cd NEW=249240e OUT=bench/results/2026-12-07-lab3x2-isend-room bash bench/results/2026-12-07-lab3x2-isend-room/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work isend-room
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate --json "old new" -reps 10 -osu=false -min 524288 -max 4194304 -factor 2 allreduce bcast reduce allgather
