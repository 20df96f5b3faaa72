#!/usr/bin/env bash
# Is the lab's CPU what holds the multi-MiB collectives back? The issue's
# lab (3 regions x 2 hosts, 40/70/90 ms one-way, spmdlab --tune) at 100
# and at 50 Mbit/s per host, alternating, two rounds: at half the rate
# the 2-core machine moves half the packets per second, so if the ratio
# to the lower bound falls the CPU was a limit at 100. vmstat samples the
# whole machine's CPU every second during each run (vmstat-*.txt), and
# the emulator's own CPU time is read from /proc before and after.
# Needs root; run from the repository:
#   bash bench/results/2026-12-06-lab3x2-cpu/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/cpu/out}; mkdir -p "$out"
lab_work cpu
work=$WORK
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in 1 2; do
  for mbit in 100 50; do
    lab_up "$work" --tune --host-mbit "$mbit"
    emu=$(pgrep -f "spmdlab __emulator" | head -1 || true)
    e0=$( [ -n "$emu" ] && ticks "$emu" || echo 0)
    vmstat 1 > "$out/vmstat-$mbit-r$round.txt" & vm=$!
    start=$(date +%s)
    echo "== round $round, $mbit Mbit/s per host"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" \
      -reps 3 -min 1048576 -max 4194304 -factor 2 -csv "$out/mbit$mbit-r$round.csv" \
      allreduce bcast reduce allgather 2>&1 | tee "$out/log-$mbit-r$round.txt" | grep -vE "^spmdbench: (measuring|TCP)" || true
    kill "$vm"
    e1=$( [ -n "$emu" ] && ticks "$emu" || echo 0)
    echo "emulator CPU $(( (e1 - e0) / $(getconf CLK_TCK) )) s over $(( $(date +%s) - start )) s" | tee "$out/emulator-$mbit-r$round.txt"
    "$work/spmdlab" down >/dev/null
  done
done
