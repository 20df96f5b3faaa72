#!/usr/bin/env bash
# Measures how closely spmdlab's emulated WAN matches what it was asked
# for: ping RTT against twice the one-way delay, TCP throughput (iperf3)
# against the cap, RTT inside a region, and the emulator's CPU at full
# load. Needs root and iperf3 (apt-get install iperf3); brings a lab up
# and takes it down again. Usage: bench/lab-accuracy.sh [seconds per iperf3 run]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v iperf3 >/dev/null || { echo "needs iperf3: apt-get install iperf3" >&2; exit 1; }
bin=$(mktemp -d)/spmdlab
go build -o "$bin" ./cmd/spmdlab
lab() { "$bin" "$@"; }
trap 'lab down >/dev/null' EXIT

rtt() { # host addr -> "min avg" in ms
  lab exec "$1" -- ping -n -q -c 10 -i 0.2 "$2" | sed -n 's|.*= \([0-9.]*\)/\([0-9.]*\)/.*|\1 \2|p'
}
iperf() { # from to-addr -> receiver Mbit/s, after a warm-up of 3 s (a pause first: iperf3 -s takes one test at a time)
  sleep 1; lab exec "$1" -- iperf3 -c "$2" -t "$secs" -O 3 -f m | awk '/receiver/ {print $(NF-2)}'
}
emu_ticks() { awk '{print $14+$15}' "/proc/$(sed -n 's/.*"EmulatorPID": \([0-9]*\).*/\1/p' /var/lib/spmdlab/lab.json)/stat"; }
servers() {
  for h in "$@"; do lab exec "${h%%=*}" -- iperf3 -s -D -B "${h##*=}"; done
  sleep 0.3
}

regions=us-west:2,ap-sg:2,eu-fra:2
delays=us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms
W1=198.18.1.10 W2=198.18.1.11 S1=198.18.2.10 S2=198.18.2.11 F1=198.18.3.10 F2=198.18.3.11

echo "== lab: $regions, $delays, --host-mbit 100 (kernel TCP defaults)"
lab up --regions $regions --delay $delays --host-mbit 100 >/dev/null
printf '%-22s %10s %10s %10s %8s\n' pair want_ms min_ms avg_ms err
for p in "us-west-1 $S1 80" "us-west-1 $F1 180" "ap-sg-1 $F2 140" "us-west-1 $W2 0"; do
  set -- $p
  read -r mn av < <(rtt "$1" "$2")
  err=$(awk -v w="$3" -v a="$av" 'BEGIN { if (w > 0) printf "%+.1f%%", (a-w)/w*100; else print "-" }')
  printf '%-22s %10s %10s %10s %8s\n' "$1->$2" "$3" "$mn" "$av" "$err"
done

servers ap-sg-1=$S1 eu-fra-1=$F1 us-west-2=$W2
printf '\n%-28s %10s %10s\n' "iperf3 (one flow)" cap_Mbit got_Mbit
for p in "us-west-1 $S1" "us-west-1 $F1" "ap-sg-2 $F1"; do
  set -- $p
  printf '%-28s %10s %10s\n' "$1->$2" 100 "$(iperf "$1" "$2")"
done

echo
echo "full load: every host sends to another region at once, each capped at 100 Mbit/s"
servers us-west-1=$W1 ap-sg-2=$S2 eu-fra-2=$F2
t0=$(date +%s.%N); a=$(emu_ticks)
i=0
for p in "us-west-1 $S1" "us-west-2 $F1" "ap-sg-1 $F2" "ap-sg-2 $W1" "eu-fra-1 $W2" "eu-fra-2 $S2"; do
  i=$((i+1)); set -- $p
  iperf "$1" "$2" > /tmp/lab-acc.$i &
done
wait
t1=$(date +%s.%N); b=$(emu_ticks)
echo "  flows (Mbit/s): $(cat /tmp/lab-acc.[1-6] | tr '\n' ' ')"
awk -v t="$(echo "$t1 - $t0" | bc)" -v c="$(( b - a ))" 'BEGIN { printf "  emulator CPU: %.2f s over %.1f s = %.0f%% of one core\n", c/100, t, c/t }'
lab down >/dev/null

echo
echo "== lab: same regions, --wan-mbit 50 (a link shared by each region pair), no host cap"
lab up --regions $regions --delay $delays --wan-mbit 50 >/dev/null
servers ap-sg-1=$S1
printf '%-28s %10s %10s\n' "iperf3 (one flow)" cap_Mbit got_Mbit
printf '%-28s %10s %10s\n' "us-west-1->$S1" 50 "$(iperf us-west-1 $S1)"
lab down >/dev/null
