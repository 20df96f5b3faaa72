#!/usr/bin/env bash
# As run.sh, with three builds alternating: A=b3889cd (before this stop),
# B=249240e (Isends need room only), C=78e385b (laneLocal for one rank
# per host only, so not here). Needs root; from the repository:
#   OUT=bench/results/2026-12-07-lab4x2x2-lane-local/three bash bench/results/2026-12-07-lab4x2x2-lane-local/run3.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lab4-three
for v in A:b3889cd B:249240e C:78e385b; do
  git worktree add -q --detach "$WORK/src-${v%%:*}" "${v##*:}"
  (cd "$WORK/src-${v%%:*}" && go build -o "$WORK/spmdbench-${v%%:*}" ./cmd/spmdbench)
  git worktree remove --force "$WORK/src-${v%%:*}"
done
lab_up "$WORK" --regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2 \
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms
for r in $(seq 1 "${ROUNDS:-1}"); do
  for v in A B C; do
    echo "== $v round $r"
    SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-r$r.txt" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 allreduce
  done
done
