#!/usr/bin/env bash
# Lanes2 with its first fraction F of segments in two rounds and the
# rest crossing once (SPMD_LANES_MIX=F, an experiment of commit
# 7f8cee3, reverted after), F = 1 (Lanes2), 0.75, 0.5, and Lanes; copies in any order; allreduce
# 1 and 2 MiB, 10 repetitions, two rounds, on the 3x2 lab with --tune.
# Needs root; from the repository at that commit:
#   OUT=bench/results/2026-12-07-lab3x2-lanes-mix/any-order bash bench/results/2026-12-07-lab3x2-lanes-mix/any-order/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work mix2
lab_up "$WORK" --tune
for r in 1 2; do
  for f in 1 0.75 0.5; do
    echo "== mix $f round $r"
    SPMDRUN_X="-x SPMD_LANES_MIX=$f" lab_bench "$OUT/mix$f-r$r.txt" -reps 10 -osu=false -min 1048576 -max 2097152 -factor 2 -alg Lanes2 allreduce
  done
  echo "== lanes round $r"
  lab_bench "$OUT/lanes-r$r.txt" -reps 10 -osu=false -min 1048576 -max 2097152 -factor 2 -alg Lanes allreduce
done
