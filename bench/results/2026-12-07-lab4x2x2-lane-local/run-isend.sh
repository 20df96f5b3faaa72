#!/usr/bin/env bash
# As run.sh at 1 MiB only, 15 repetitions: A=b3889cd (before this stop)
# against B=249240e (Isends need room only), ROUNDS (default 1) times.
# Needs root; from the repository:
#   ROUNDS=2 OUT=bench/results/2026-12-07-lab4x2x2-lane-local/isend-1m bash bench/results/2026-12-07-lab4x2x2-lane-local/run-isend.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lab4-ab1m
for v in A:b3889cd B:249240e; do
  git worktree add -q --detach "$WORK/src-${v%%:*}" "${v##*:}"
  (cd "$WORK/src-${v%%:*}" && go build -o "$WORK/spmdbench-${v%%:*}" ./cmd/spmdbench)
  git worktree remove --force "$WORK/src-${v%%:*}"
done
lab_up "$WORK" --regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2 \
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms
for r in $(seq 1 "${ROUNDS:-1}"); do
  for v in A B; do
    echo "== $v round $r"
    SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-r$r.txt" -reps 15 -osu=false -min 1048576 -max 1048576 allreduce
  done
done
