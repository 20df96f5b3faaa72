#!/usr/bin/env bash
# Lanes2 allreduce on the 3x2 lab with --tune, 2 and 4 MiB (MIN, MAX),
# with each region's share of a segment's sub-pieces set by
# SPMD_XSHARES, an experiment knob of knobs.patch, which must be applied
# first (region order us-west, ap-sg, eu-fra; "-": equal thirds),
# alternating, ROUNDS rounds of 10 repetitions. Needs root; from the repository:
#   OUT=bench/results/2026-12-08-lab3x2-lanes2-shares bash bench/results/2026-12-08-lab3x2-lanes2-shares/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lanes2-shares
lab_up "$WORK" --tune
for r in $(seq 1 "${ROUNDS:-2}"); do
  for v in ${VARIANTS:-- 0.35,0.45,0.2 0.4,0.4,0.2 0.3,0.45,0.25}; do
    echo "== shares $v round $r"
    x=""
    [ "$v" != - ] && x="-x SPMD_XSHARES=$v"
    SPMDRUN_X="$x" lab_bench "$OUT/Lanes2-shares$v-r$r.txt" -reps 10 -osu=false -min "${MIN:-2097152}" -max "${MAX:-4194304}" -factor 2 -alg "${ALG:-Lanes2}" allreduce
  done
done
