#!/usr/bin/env bash
# ad hoc: allreduce Lanes / Lanes2 / Direct on the 3x2 lab with shared
# tunnels (--wan-mbit 100), one job per algorithm, alternating, two rounds.
# As root, from the repository root.
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/l2w/out}; mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-l2w-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
lab_up "$work" --wan-mbit 100
for round in 1 2; do
  for a in Lanes Lanes2 Direct; do
    echo "== round $round $a"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" -reps 5 -wan-mbit 100 \
      -min 524288 -alg "$a" -csv "$out/$a-r$round.csv" allreduce | grep -E '^  allreduce'
  done
done
