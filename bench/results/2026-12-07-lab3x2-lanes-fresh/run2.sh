#!/usr/bin/env bash
# Lanes2 and Lanes allgather as they were (OLD) against starting their
# lanes' WAN connections afresh, paced at their share (NEW, default
# HEAD): allreduce and allgather, 512 KiB, 2 and 4 MiB, Auto, 20 repetitions each (every one kept in the
# JSON), alternating, ROUNDS times (default 2), on the 3x2 lab
# with --tune. Needs root; from the repository:
#   OLD=f4fd4e8 NEW=fb0fa81 OUT=bench/results/2026-12-07-lab3x2-lanes-fresh/lanes2 bash bench/results/2026-12-07-lab3x2-lanes-fresh/run2.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lanes2-fresh
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate --json "old new" -reps 20 -osu=false -min 524288 -max 4194304 -factor 4 allreduce allgather
