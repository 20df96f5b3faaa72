#!/usr/bin/env bash
# Lanes2 with its first fraction F of segments in two rounds and the
# rest crossing once (SPMD_LANES_MIX=F, an experiment of commit
# bb4aefc, reverted after), F in MIXES (default 1 0.75 0.5 0.25 0; 1
# is Lanes2), and Lanes; allreduce 1 and 2 MiB, 10 repetitions, two
# rounds, on the 3x2 lab with --tune.
# Needs root; from the repository at that commit:
#   OUT=bench/results/2026-12-07-lab3x2-lanes-mix bash bench/results/2026-12-07-lab3x2-lanes-mix/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work mix
lab_up "$WORK" --tune
for r in 1 2; do
  for f in ${MIXES:-1 0.75 0.5 0.25 0}; do
    echo "== mix $f round $r"
    SPMDRUN_X="-x SPMD_LANES_MIX=$f" lab_bench "$OUT/mix$f-r$r.txt" -reps 10 -osu=false -min 1048576 -max 2097152 -factor 2 -alg Lanes2 allreduce
  done
  echo "== lanes round $r"
  lab_bench "$OUT/lanes-r$r.txt" -reps 10 -osu=false -min 1048576 -max 2097152 -factor 2 -alg Lanes allreduce
done
