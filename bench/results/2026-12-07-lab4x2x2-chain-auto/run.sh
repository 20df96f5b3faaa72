#!/usr/bin/env bash
# Auto before (OLD) and after (NEW) the Chain allreduce on the 4-region
# lab with 2 slots per host (LAB4_ARGS), kernel defaults: allreduce of
# 512 KiB to 4 MiB, 5 repetitions, alternating, ROUNDS rounds (default
# 2). Needs root; from the repository:
#   OLD=46220b4 NEW=2678f46 OUT=bench/results/2026-12-07-lab4x2x2-chain-auto bash bench/results/2026-12-07-lab4x2x2-chain-auto/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work chain4auto
lab_ab_builds
lab_up "$WORK" "${LAB4_ARGS[@]}"
lab_alternate "old new" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 allreduce
