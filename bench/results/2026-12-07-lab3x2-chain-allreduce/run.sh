#!/usr/bin/env bash
# The Chain allreduce (lanes whose exchange between regions runs along
# the chain us-west, ap-sg, eu-fra) beside Lanes and Lanes2, forced
# with -alg, alternating, ROUNDS rounds (default 2) of 10 repetitions,
# 512 KiB to 4 MiB (MIN, MAX), on the 3x2 lab with --tune.
# Needs root; from the repository:
#   OUT=bench/results/2026-12-07-lab3x2-chain-allreduce bash bench/results/2026-12-07-lab3x2-chain-allreduce/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain-allreduce
lab_up "$WORK" --tune
for r in $(seq 1 "${ROUNDS:-2}"); do
  for a in ${ALGS:-Chain Lanes Lanes2}; do
    echo "== $a round $r"
    lab_bench "$OUT/$a-r$r.txt" -reps 10 -osu=false -min ${MIN:-524288} -max ${MAX:-4194304} -factor 2 -alg "$a" allreduce
  done
done
