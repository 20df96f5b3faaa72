#!/usr/bin/env bash
# Does a larger warm-up (comm.Config.WarmUp, SPMD_WARMUP; 1 MiB by
# default, sized on 2026-11-22 for 8-64 KiB collectives) help 1-4 MiB?
# On a 180 ms path BBR is still in startup when 1 MiB has gone (ss showed
# the us-west-1 -> eu-fra-1 lane at 22.5 Mbit/s after a sweep), so the
# lanes may run the first calls below their share. The lab with
# --tune, 1 and 8 MiB alternating, two rounds; allreduce first, as the
# warm-up happens at the first large call. Needs root; from the repository:
#   bash bench/results/2026-12-07-lab3x2-warmup-size/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work wsz
lab_up "$WORK" --tune
for round in 1 2; do
  for w in 1048576 8388608; do
    echo "== round $round, SPMD_WARMUP=$w"
    SPMDRUN_X="-x SPMD_WARMUP=$w" lab_bench "$OUT/log-$w-r$round.txt" \
      -reps 3 -min 1048576 -max 4194304 -factor 2 -csv "$OUT/warm$w-r$round.csv" allreduce bcast
  done
done
