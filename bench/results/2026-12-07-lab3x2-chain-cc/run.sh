#!/usr/bin/env bash
# Chain's stalled repetitions under two congestion controls: reduce and
# bcast of 1 and 2 MiB by Chain, 15 repetitions, on the 3x2 lab
# with --tune (so no slow start after idle), every lab host switched to
# CUBIC, then back to BBR (the kernel's default here). A network
# namespace may only pick an algorithm of the host's
# net.ipv4.tcp_allowed_congestion_control: this adds cubic to it for the
# run and puts the list back after. Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-chain-cc/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
allowed=/proc/sys/net/ipv4/tcp_allowed_congestion_control
old=$(cat "$allowed")
lab_work cc
trap 'echo "$old" > "$allowed"; "$WORK/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
echo "$old cubic" > "$allowed"
lab_up "$WORK" --tune
hosts=$(awk '/^#   198\./ {print $3}' "$LAB/hostfile")
for cc in cubic bbr; do
  for h in $hosts; do "${ON[0]}" exec "$h" -- sysctl -q -w net.ipv4.tcp_congestion_control=$cc; done
  echo "== $cc"
  lab_bench "$OUT/log-$cc.txt" -reps 15 -min 1048576 -max 2097152 -factor 2 -alg Chain reduce bcast
done
