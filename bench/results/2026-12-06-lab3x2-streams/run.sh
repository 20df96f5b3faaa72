#!/usr/bin/env bash
# Several TCP streams per WAN peer (comm/streams.go) against one, on the
# issue's lab (3 regions x 2 hosts, one rank each, 40/70/90 ms one-way,
# 100 Mbit/s per host; bench/openmpi/lib.sh's lab_up), alternating in one
# lab, two rounds. RMEM=<bytes> caps every host's TCP buffers
# (net.ipv4.tcp_rmem and tcp_wmem maximum, per network namespace) so that
# one flow cannot fill the link, as on hosts whose bandwidth x round trip
# exceeds the kernel's window cap. Needs root; run from the repository:
#   bash bench/results/2026-12-06-lab3x2-streams/run.sh allreduce bcast allgather -min 262144 -max 4194304 -factor 4
#   RMEM=1048576 bash bench/results/2026-12-06-lab3x2-streams/run.sh allreduce bcast allgather -min 262144 -max 4194304 -factor 4
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/st/out}; mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-st-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
lab_up "$work"
tag=default
if [ -n "${RMEM:-}" ]; then
  tag=rmem$RMEM
  lab_cap_buffers "$RMEM"
fi
ops=(); while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do ops+=("$1"); shift; done
for round in 1 2; do
  for s in 1 auto; do
    echo "== round $round streams $s $tag"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --streams "$s" --bw-mbit 100 --preload-binary "$work/spmdbench" \
      -reps 3 "$@" -csv "$out/$tag-streams$s-r$round.csv" "${ops[@]}" | grep -E "^ +[a-z]+ +[A-Z]" || true
  done
done
