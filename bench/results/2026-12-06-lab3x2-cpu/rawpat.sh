#!/usr/bin/env bash
# What the lab carries with plain TCP and no spmd: rawpat (this
# directory) on each host of the issue's lab (bench/openmpi/lib.sh's
# lab_up, kernel defaults), three patterns of 4 MiB per connection, each
# unpaced and with every connection capped (SO_MAX_PACING_RATE) at the
# receiver's share of 100 Mbit/s less 5%, after a 4 MiB warm-up on every
# connection, three rounds:
#   into0  every other host sends to us-west-1 (5 flows into one host)
#   lanes  each host sends to its region peer and to the host of the
#          same index in each other region (Lanes allgather's first step)
#   all5   every host sends to every other (Direct's pattern; 20 MiB in)
# It prints the slowest receiver's time from the start and the whole
# machine's CPU use (and the emulator's) over the timed part.
# Needs root; run from the repository:
#   bash bench/results/2026-12-06-lab3x2-cpu/rawpat.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work raw
work=$WORK
go build -o "$work/rawpat" ./bench/results/2026-12-06-lab3x2-cpu/rawpat
lab_up "$work"
hosts=($(awk '/^#   198\./ {print $3}' "$LAB/hostfile"))
addr=($(awk '/^#   198\./ {print $2}' "$LAB/hostfile"))
emu=$(pgrep -f "spmdlab __emulator" | head -1)
busy() { awk '/^cpu / {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
run() { # pattern pace(Mbit/s, 0 = none)
  local pat=$1 pace=$2 i j to cnt
  local at=$(( $(date +%s%N) + 6000000000 ))
  local pids=()
  for i in 0 1 2 3 4 5; do
    to=""; cnt=0
    for j in 0 1 2 3 4 5; do
      [ "$i" = "$j" ] && continue
      case $pat in
        into0) [ "$j" = 0 ] && to="$to,${addr[$j]}"; [ "$i" = 0 ] && cnt=5 ;;
        all5) to="$to,${addr[$j]}"; cnt=$((cnt + 1)) ;;
        lanes) if [ $((i / 2)) = $((j / 2)) ] || [ $((i % 2)) = $((j % 2)) ]; then to="$to,${addr[$j]}"; cnt=$((cnt + 1)); fi ;;
      esac
    done
    "$work/spmdlab" exec "${hosts[$i]}" -- "$work/rawpat" -me "${addr[$i]}" -to "${to#,}" -expect "$cnt" \
      -n 4194304 -warm 4194304 -pace "$pace" -at "$at" > "$work/out-$i" &
    pids+=($!)
  done
  sleep "$(awk -v at="$at" -v now="$(date +%s%N)" 'BEGIN {printf "%.3f", (at - now) / 1e9}')"
  read -r b0 t0 < <(busy); e0=$(awk '{print $14 + $15}' "/proc/$emu/stat")
  for p in "${pids[@]}"; do wait "$p"; done
  read -r b1 t1 < <(busy); e1=$(awk '{print $14 + $15}' "/proc/$emu/stat")
  printf "%-6s pace %-3s slowest %5s ms  cpu %3d%%  emulator %3d%% of one core\n" "$pat" "$pace" \
    "$(cat "$work"/out-* | awk '{print $2}' | sort -n | tail -1)" $(( 100 * (b1 - b0) / (t1 - t0) )) \
    $(( 100 * (e1 - e0) * 2 / (t1 - t0) ))
}
for round in 1 2 3; do
  for pat in into0 lanes all5; do
    case $pat in into0|all5) share=19 ;; lanes) share=31 ;; esac
    run "$pat" 0
    run "$pat" "$share"
  done
done
