#!/usr/bin/env bash
# Does what ran before change Chain's time? Bcast and reduce of 512 KiB
# and 1 MiB with Auto (Chain, and Lanes for reduce of 512 KiB) on the
# issue's 3x2 lab with --tune: alone in a run, and after allgather of the
# same sizes in the same run, with every lab host on BBR (the kernel's
# default), then on CUBIC. Then, on BBR, allgather and bcast once more
# while ap-sg-1's connection to eu-fra-1 (a WAN hop of the bcast chain)
# is sampled with ss every 50 ms (its BBR state: ss-sg1-to-eu1.txt).
# Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-bbr-order/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
allowed=/proc/sys/net/ipv4/tcp_allowed_congestion_control
old=$(cat "$allowed")
lab_work bbr-order
trap 'kill $(jobs -p) 2>/dev/null || true; echo "$old" > "$allowed"; "$WORK/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
echo "$old cubic" > "$allowed"
lab_up "$WORK" --tune
hosts=$(awk '/^#   198\./ {print $3}' "$LAB/hostfile")
for cc in bbr cubic; do
  for h in $hosts; do "${ON[0]}" exec "$h" -- sysctl -q -w net.ipv4.tcp_congestion_control=$cc; done
  echo "== $cc alone"; lab_bench "$OUT/$cc-alone.txt" -reps 7 -osu=false -min 524288 -max 1048576 -factor 2 bcast reduce
  echo "== $cc after allgather"; lab_bench "$OUT/$cc-after.txt" -reps 7 -osu=false -min 524288 -max 1048576 -factor 2 allgather bcast reduce
done
for h in $hosts; do "${ON[0]}" exec "$h" -- sysctl -q -w net.ipv4.tcp_congestion_control=bbr; done
( while :; do echo "T $(date +%s.%N)"; ip netns exec spmdlab-ap-sg-1 ss -tinH state established '( dst 198.18.3.10 )'; sleep 0.05; done ) > "$OUT/ss-raw.txt" 2>&1 &
echo "== bbr, sampled"; lab_bench "$OUT/ss-run.txt" -reps 7 -osu=false -min 524288 -max 1048576 -factor 2 allgather bcast
kill $(jobs -p) 2>/dev/null || true
# Time (s), cwnd, pacing rate and BBR's state of that connection, one line per change.
awk '/^T/{t=$2; next} /^[0-9]+ +[0-9]+ /{next} {bw=""; pr=""; cw=""; bs=""; for(i=1;i<=NF;i++){ if($i ~ /^bbr:/) bw=$i; if($i=="pacing_rate") pr=$(i+1); if($i ~ /^cwnd:/) cw=$i; if ($i ~ /^bytes_sent:/) bs=$i }; print t, cw, pr, bw, bs }' "$OUT/ss-raw.txt" |
  awk '{k=$2" "$3" "$4; if (k!=last) {print; last=k}}' > "$OUT/ss-sg1-to-eu1.txt"
rm "$OUT/ss-raw.txt"
