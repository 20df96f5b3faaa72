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
lab_up "$WORK" --regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2 \
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms
for r in $(seq 1 "${ROUNDS:-1}"); do
  for v in old new; do
    echo "== $v round $r"
    SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-r$r.txt" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 allreduce
  done
done
