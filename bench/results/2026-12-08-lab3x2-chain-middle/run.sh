#!/usr/bin/env bash
# Chain allreduce at 1 MiB on the 3x2 lab with --tune: the middle
# region's cap on its region connections (SPMD_XMID) and holding its
# copies to the region (SPMD_XHOLD), experiment knobs of knobs.patch,
# which must be applied first; and the segment size; beside Lanes,
# alternating, ROUNDS rounds of 10 repetitions. Variants are
# ALG:MID:SEG:HOLD (MID "-": the library's cap; HOLD empty: no hold).
# Needs root; from the repository:
#   OUT=bench/results/2026-12-08-lab3x2-chain-middle bash bench/results/2026-12-08-lab3x2-chain-middle/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain-middle
lab_up "$WORK" --tune
SIZE=${SIZE:-1048576}
for r in $(seq 1 "${ROUNDS:-2}"); do
  for v in ${VARIANTS:-Lanes:-:0 Chain:-:0 Chain:0.05:0 Chain:0.05:32768 Chain:0.05:16384}; do
    IFS=: read -r a mid seg hold <<<"$v"
    echo "== $a mid=$mid seg=$seg hold=$hold round $r"
    x=""
    [ "$mid" != - ] && x="-x SPMD_XMID=$mid"
    [ -n "$hold" ] && x="$x -x SPMD_XHOLD=1"
    SPMDRUN_X="$x" lab_bench "$OUT/$a-mid$mid-seg$seg-hold$hold-r$r.txt" -reps 10 -osu=false -min "$SIZE" -max "$SIZE" -seg "$seg" -alg "$a" allreduce
  done
done
