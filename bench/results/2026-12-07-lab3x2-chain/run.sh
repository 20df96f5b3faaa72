#!/usr/bin/env bash
# Bcast and reduce of 256 KiB-4 MiB by Chain beside Lanes and Direct
# (and Auto), on the 3x2 lab with --tune, two rounds in one lab.
# Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-chain/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/chain/out}; mkdir -p "$out"
lab_work chain
work=$WORK
lab_up "$work" --tune
for round in 1 2; do
  for op in bcast reduce; do
    echo "== round $round $op"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" \
      -reps 3 -min 262144 -max 4194304 -factor 2 -alg ${ALGS:-Chain,Lanes,Direct} -csv "$out/r$round-$op.csv" "$op" 2>&1 |
      tee "$out/log-r$round-$op.txt" | grep -E "^ +[a-z]+ +[A-Z]" || true
  done
done
