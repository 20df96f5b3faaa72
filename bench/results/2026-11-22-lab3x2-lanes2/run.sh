#!/usr/bin/env bash
# ad hoc: allreduce Lanes / Lanes2 / Direct on the 3x2 lab, separate jobs, alternating
set -euo pipefail
cd /work/main
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/l2/out}; mkdir -p $out
work=$(mktemp -d /var/tmp/spmd-l2-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
lab_up "$work"
for round in 1 2; do
  for a in ${ALGS:-Lanes Lanes2 Direct}; do
    echo "== round $round $a"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" -reps 5 -min 524288 -alg $a \
      -csv "$out/$a-r$round.csv" allreduce | grep -E '^allreduce|^ *allreduce|ms' | tail -5
  done
done
