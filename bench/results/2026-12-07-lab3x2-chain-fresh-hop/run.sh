#!/usr/bin/env bash
# Chain as it was (OLD) against Chain restarting each WAN hop's
# congestion control, paced at the host's bandwidth (NEW, default HEAD),
# on the 3x2 lab with --tune (BBR, the kernel's default):
# 512 KiB-2 MiB, Auto, medians of 5, alternating, ROUNDS times (default
# 2). Each build runs two jobs: allreduce before bcast and reduce (where
# BBR carried allreduce's share of the link into Chain), and bcast and
# reduce before allreduce. Needs root; from the repository:
#   OLD=9d3ab0a NEW=b1b341e OUT=bench/results/2026-12-07-lab3x2-chain-fresh-hop bash bench/results/2026-12-07-lab3x2-chain-fresh-hop/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain-fresh-hop
lab_ab_builds
lab_up "$WORK" --tune
for r in $(seq 1 "${ROUNDS:-2}"); do
  for v in old new; do
    echo "== $v round $r: allreduce first"
    SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-allreduce-first-r$r.txt" -reps 5 -osu=false -min 524288 -max 2097152 -factor 2 allreduce bcast reduce
    echo "== $v round $r: chain first"
    SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-chain-first-r$r.txt" -reps 5 -osu=false -min 524288 -max 2097152 -factor 2 bcast reduce allreduce
  done
done
