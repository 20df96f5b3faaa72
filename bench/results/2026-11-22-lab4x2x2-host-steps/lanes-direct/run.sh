#!/usr/bin/env bash
# ad hoc: bcast and reduce from 2 MiB, Lanes against Direct (and Auto), on
# the lab of the directory above, one job per algorithm, alternating, two
# rounds. As root, from the repository root.
set -euo pipefail
source bench/openmpi/lib.sh
source bench/results/2026-11-22-lab4x2x2-host-steps/lab.sh
out=${OUT:-/var/tmp/s4/ld}; mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-ld-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
lab_up "$work" "${LAB4X2X2[@]}"
for round in 1 2; do
  for a in Lanes Direct Auto; do
    echo "== round $round $a"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" -reps 3 \
      -min 2097152 -alg "$a" -csv "$out/$a-r$round.csv" bcast reduce | grep -E '^  (bcast|reduce)'
  done
done
