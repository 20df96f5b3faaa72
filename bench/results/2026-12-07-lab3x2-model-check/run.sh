#!/usr/bin/env bash
# The cost model's new Lanes reduce and Lanes2 formulas against the lab:
# allreduce of 1-4 MiB by Lanes, Lanes2 and Auto, reduce of 256 KiB-1 MiB
# by Lanes, Chain and Auto, on the 3x2 lab with --tune, two
# rounds in one lab. Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-model-check/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/mchk/out}; mkdir -p "$out"
lab_work mchk
work=$WORK
lab_up "$work" --tune
bench() {
  "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" -reps 3 -factor 2 "$@" 2>&1
}
for round in 1 2; do
  echo "== round $round"
  bench -min 1048576 -max 4194304 -alg Lanes,Lanes2,Auto -csv "$out/allreduce-r$round.csv" allreduce |
    tee "$out/log-allreduce-r$round.txt" | grep -E "^ +[a-z]+ +[A-Z]" || true
  bench -min 262144 -max 1048576 -alg Lanes,Chain,Auto -csv "$out/reduce-r$round.csv" reduce |
    tee "$out/log-reduce-r$round.txt" | grep -E "^ +[a-z]+ +[A-Z]" || true
done
