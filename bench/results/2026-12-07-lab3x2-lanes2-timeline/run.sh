#!/usr/bin/env bash
# Timeline of a Lanes2 allreduce on the 3x2 lab with --tune: tcpdump
# (headers only) on us-west-1 and ap-sg-1 while spmdbench runs 5
# repetitions (MIN/MAX bytes, default 2 MiB; ALG, default Lanes2; X:
# spmdrun -x flags). Needs root and tcpdump; from the repository:
#   bash bench/results/2026-12-07-lab3x2-lanes2-timeline/run.sh
#   python3 bench/results/2026-12-07-lab3x2-lanes2-timeline/timeline.py /var/tmp/tl/us-west-1.pcap 198.18.1.10 10 1 0.05
# (timeline.py PCAP HOST-ADDRESS BIN-MS BURSTS GAP-S: the link's use in
# each bin, in and out, per peer, for the last BURSTS repetitions, a
# repetition being a burst of traffic after a GAP-S second pause; then
# each flow's first and last data packet in every burst.)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
source bench/openmpi/lib.sh
OUT=${OUT:-/var/tmp/tl/out}; PCAP=${PCAP:-/var/tmp/tl}; mkdir -p "$PCAP"
lab_work tl
lab_up "$WORK" --tune
for h in us-west-1 ap-sg-1; do
  "$WORK/spmdlab" exec $h -- tcpdump -i eth0 -s 80 -w $PCAP/$h.pcap -n 'tcp' 2>/dev/null &
done
sleep 1
SPMDRUN_X="${X:-}" lab_bench "$OUT/log.txt" -reps 5 -osu=false -min ${MIN:-2097152} -max ${MAX:-2097152} -alg ${ALG:-Lanes2} -json "$OUT/bench.json" allreduce
sleep 1
pkill -x tcpdump || true
wait || true
"$WORK/spmdlab" exec us-west-1 -- ip -4 addr show eth0 | grep inet
cat "$LAB/hostfile"
