#!/usr/bin/env bash
# Allgather at 2 MiB per rank (SIZE) with Auto on the 3x2 lab with
# --tune, ROUNDS rounds (default 3) of 10 repetitions, one lab, and
# vmstat beside it. Needs root; from the repository:
#   OUT=bench/results/2026-12-08-lab3x2-allgather-2m bash bench/results/2026-12-08-lab3x2-allgather-2m/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work ag2m
lab_up "$WORK" --tune
vmstat 1 > "$OUT/vmstat.txt" &
vm=$!
for r in $(seq 1 "${ROUNDS:-3}"); do
  echo "== round $r"
  lab_bench "$OUT/r$r.txt" -reps 10 -osu=false -min "${SIZE:-2097152}" -max "${SIZE:-2097152}" allgather
done
kill "$vm"
