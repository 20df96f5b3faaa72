#!/usr/bin/env bash
# The 4-region lab of run.sh with the WAN-first queue and spmdrun
# --wan-first: Chain against Lanes2, forced, at 2 and 4 MiB, ROUNDS
# rounds (default 2) of REPS (default 5). Needs root; from the
# repository:
#   OUT=bench/results/2026-12-08-lab-wan-first-defaults bash bench/results/2026-12-08-lab-wan-first-defaults/run-4m.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work wfd4m
lab_up "$WORK" "${LAB4_ARGS[@]}" --wan-first
for r in $(seq 1 "${ROUNDS:-2}"); do
  echo "== 4x2x2 Chain, Lanes2 with --wan-first round $r"
  SPMDRUN_X="--wan-first" lab_bench "$OUT/4x2x2-forced-r$r.txt" -reps "${REPS:-5}" -osu=false -min 2097152 -max 4194304 -factor 2 -alg Chain,Lanes2 allreduce
done
