#!/usr/bin/env bash
# spmdrun --wan-first where it was not tuned for: the 3x2 lab and the
# 4-region lab (2 hosts each, 2 slots per host, uneven delays), both with
# the kernel's TCP defaults (no --tune) and the WAN-first queue
# (spmdlab --wan-first). Auto allreduce 512 KiB-4 MiB, spmdrun without
# and with --wan-first alternating, ROUNDS rounds (default 2) of REPS
# (default 5). LABS picks "3x2", "4x2x2" or both. Needs root; from the
# repository:
#   OUT=bench/results/2026-12-08-lab-wan-first-defaults bash bench/results/2026-12-08-lab-wan-first-defaults/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
for labname in ${LABS:-3x2 4x2x2}; do
  (
    lab_work "wfd-$labname"
    if [ "$labname" = 4x2x2 ]; then lab_up "$WORK" "${LAB4_ARGS[@]}" --wan-first; else lab_up "$WORK" --wan-first; fi
    for r in $(seq 1 "${ROUNDS:-2}"); do
      for mode in off on; do
        x=""
        [ $mode = on ] && x="--wan-first"
        echo "== $labname allreduce wan-first=$mode round $r"
        SPMDRUN_X="$x" lab_bench "$OUT/$labname-$mode-r$r.txt" -reps "${REPS:-5}" -osu=false -min 524288 -max 4194304 -factor 2 allreduce
      done
    done
  )
done
