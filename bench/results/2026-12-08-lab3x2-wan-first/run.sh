#!/usr/bin/env bash
# The library with hosts that send WAN packets first: the 3x2 lab with
# --tune --wan-first (each host's egress sends DSCP LE packets only when
# no other waits), spmdrun with and without --wan-first alternating
# (without, nothing is marked and the hosts' queues are FIFO). Auto
# allreduce 512 KiB-4 MiB, ROUNDS rounds of REPS repetitions; then the
# other operations once each way. Needs root; from the repository:
#   OUT=bench/results/2026-12-08-lab3x2-wan-first bash bench/results/2026-12-08-lab3x2-wan-first/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work wan-first
lab_up "$WORK" --tune --wan-first
"${ON[0]}" exec ap-sg-1 -- tc class show dev eth0
for r in $(seq 1 "${ROUNDS:-2}"); do
  for mode in off on; do
    x=""
    [ $mode = on ] && x="--wan-first"
    echo "== allreduce wan-first=$mode round $r"
    SPMDRUN_X="$x" lab_bench "$OUT/allreduce-$mode-r$r.txt" -reps "${REPS:-10}" -osu=false -min 524288 -max 4194304 -factor 2 allreduce
    "${ON[0]}" exec ap-sg-1 -- tc -s class show dev eth0 classid 1:20 | head -2
  done
done
if [ -z "${NO_OPS:-}" ]; then
  for mode in off on; do
    x=""
    [ $mode = on ] && x="--wan-first"
    echo "== other ops wan-first=$mode"
    SPMDRUN_X="$x" lab_bench "$OUT/ops-$mode.txt" -reps 5 -osu=false -min 8 -max 4194304 -factor 16 barrier bcast reduce allreduce allgather
  done
fi
