#!/usr/bin/env bash
# Does a strict priority for WAN packets at each host's egress (the
# schedule the fluid model says puts Chain under the line) help the 1 MiB
# allreduce on the 3x2 lab with --tune? Host-side tuning only: each
# host's eth0 tbf (the provider's cap) is replaced by an htb class at
# RATE Mbit/s (default 100, the cap itself; a user's own shaper would sit
# a little under it) with two classes under it (this kernel has no prio
# qdisc): packets to another region's subnet in one with RATE-1 Mbit/s
# assured and HTB priority 0, to its own region in one with 1 Mbit/s
# and priority 1; either may borrow up to RATE. The inbound
# caps (the router's ports) stay FIFO. Alternates: qdisc off, on. With
# SWEEP=1, allreduce 512 KiB-4 MiB by Lanes, Lanes2 and Chain, then
# bcast, reduce and allgather (Auto) at 128 KiB-4 MiB. Needs root; from
# the repository (the 1 MiB runs; RATE=95 for rate95/):
#   OUT=bench/results/2026-12-08-lab3x2-wan-priority bash bench/results/2026-12-08-lab3x2-wan-priority/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work wan-priority
lab_up "$WORK" --tune
SIZE=${SIZE:-1048576}
RATE=${RATE:-100}
hosts=$(awk '/^#   198\./ {print $3}' "$LAB/hostfile")
# own24 HOST prints the /24 of HOST's address (the lab gives each region one).
own24() { awk -v h="$1" '/^#   198\./ && $3 == h {split($2, a, "."); print a[1] "." a[2] "." a[3] ".0/24"}' "$LAB/hostfile"; }
prio_on() {
  local h s
  for h in $hosts; do
    s=$(own24 "$h")
    "${ON[0]}" exec "$h" -- sh -ec "
      tc qdisc del dev eth0 root
      tc qdisc add dev eth0 root handle 1: htb default 20
      tc class add dev eth0 parent 1: classid 1:1 htb rate ${RATE}mbit ceil ${RATE}mbit burst 50000 cburst 50000 quantum 15140
      tc class add dev eth0 parent 1:1 classid 1:10 htb rate $(awk "BEGIN {print $RATE - 1}")mbit ceil ${RATE}mbit burst 50000 cburst 50000 prio 0 quantum 15140
      tc class add dev eth0 parent 1:1 classid 1:20 htb rate 1mbit ceil ${RATE}mbit burst 50000 cburst 50000 prio 1 quantum 15140
      tc filter add dev eth0 parent 1: prio 1 protocol ip u32 match ip dst $s flowid 1:20
      tc filter add dev eth0 parent 1: prio 2 protocol ip u32 match ip dst 0.0.0.0/0 flowid 1:10"
  done
}
prio_off() {
  local h
  for h in $hosts; do
    "${ON[0]}" exec "$h" -- sh -ec "tc qdisc del dev eth0 root; tc qdisc add dev eth0 root tbf rate 100mbit burst 50000 latency 50ms"
  done
}
head -8 "$LAB/hostfile"
"${ON[0]}" exec us-west-1 -- tc qdisc show dev eth0
for r in $(seq 1 "${ROUNDS:-2}"); do
  for mode in off on; do
    if [ $mode = on ]; then prio_on; else prio_off; fi
    if [ -n "${SWEEP:-}" ]; then
      echo "== allreduce sweep prio=$mode round $r"
      lab_bench "$OUT/sweep-allreduce-$mode-r$r.txt" -reps 7 -osu=false -min 524288 -max 4194304 -factor 2 -alg Lanes,Lanes2,Chain allreduce
      echo "== other ops prio=$mode round $r"
      lab_bench "$OUT/sweep-ops-$mode-r$r.txt" -reps 5 -osu=false -min 131072 -max 4194304 -factor 4 bcast reduce allgather
      continue
    fi
    for a in ${ALGS:-Lanes Chain}; do
      echo "== $a prio=$mode round $r"
      lab_bench "$OUT/$a-$mode-r$r.txt" -reps 10 -osu=false -min "$SIZE" -max "$SIZE" -alg "$a" allreduce
    done
    "${ON[0]}" exec ap-sg-1 -- tc -s class show dev eth0 | head -8 || true
  done
done
