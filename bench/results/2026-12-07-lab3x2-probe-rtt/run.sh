#!/usr/bin/env bash
# Are the rare 3-4x repetitions BBR's PROBE_RTT? Lanes allreduce of
# 512 KiB, 80 repetitions in one job on the 3x2 lab with --tune, each
# repetition's figure kept (-json, times_ns), while ss samples every
# WAN connection of us-west-1 every 20 ms; a connection in PROBE_RTT
# shows pacing_gain and cwnd_gain of 1 ("bbr:(... pacing_gain:1,
# cwnd_gain:1)"). Needs root; from the repository:
#   OUT=bench/results/2026-12-07-lab3x2-probe-rtt bash bench/results/2026-12-07-lab3x2-probe-rtt/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work probe-rtt
lab_up "$WORK" --tune
(
  end=$((SECONDS + ${SECS:-120}))
  while [ $SECONDS -lt $end ]; do
    echo "T $(date +%s.%N)"
    "$WORK/spmdlab" exec us-west-1 -- ss -tin state established '( dst 198.18.2.0/23 or dst 198.18.4.0/23 or dst 198.18.3.0/24 )' 2>/dev/null | grep -o 'bbr:([^)]*)' || true
    sleep 0.02
  done
) > "$OUT/ss.txt" &
SSPID=$!
date +%s.%N > "$OUT/start.txt"
lab_bench "$OUT/log.txt" -reps 80 -osu=false -min 524288 -max 524288 -alg Lanes -json "$OUT/bench.json" allreduce
date +%s.%N > "$OUT/end.txt"
kill $SSPID 2>/dev/null || true
wait || true
