#!/usr/bin/env bash
# The Chain allreduce beside Lanes and Lanes2, forced with -alg, on the
# 4-region lab with 2 slots per host (LAB4_ARGS), kernel defaults:
# 512 KiB to 4 MiB, 5 repetitions, alternating, ROUNDS rounds (default 1).
# Needs root; from the repository at commit 1e1a219:
#   OUT=bench/results/2026-12-07-lab4x2x2-chain-allreduce bash bench/results/2026-12-07-lab4x2x2-chain-allreduce/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain4
lab_up "$WORK" "${LAB4_ARGS[@]}"
for r in $(seq 1 "${ROUNDS:-1}"); do
  for a in ${ALGS:-Chain Lanes Lanes2}; do
    echo "== $a round $r"
    lab_bench "$OUT/$a-r$r.txt" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 -alg "$a" allreduce
  done
done
