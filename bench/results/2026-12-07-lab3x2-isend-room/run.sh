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
for r in $(seq 1 "${ROUNDS:-2}"); do
  for v in old new; do
    echo "== $v round $r"
    SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-r$r.txt" -reps 10 -osu=false -min 524288 -max 4194304 -factor 2 -json "$OUT/$v-r$r.json" allreduce bcast reduce allgather
  done
done
