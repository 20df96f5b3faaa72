#!/usr/bin/env bash
# Chain against Lanes2 at 2 MiB (SIZE) on the 4-region lab with 2 slots
# per host (LAB4_ARGS), kernel defaults, forced with -alg, 10
# repetitions each, alternating, ROUNDS rounds (default 6), one lab.
# Needs root; from the repository:
#   OUT=bench/results/2026-12-08-lab4x2x2-chain-2m bash bench/results/2026-12-08-lab4x2x2-chain-2m/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain4-2m
lab_up "$WORK" "${LAB4_ARGS[@]}"
for r in $(seq 1 "${ROUNDS:-6}"); do
  for a in ${ALGS:-Chain Lanes2}; do
    echo "== $a round $r"
    lab_bench "$OUT/$a-r$r.txt" -reps 10 -osu=false -min "${SIZE:-2097152}" -max "${SIZE:-2097152}" -alg "$a" allreduce
  done
done
