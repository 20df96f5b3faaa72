#!/usr/bin/env bash
# Lanes allreduce as it was (OLD) against Lanes restarting its lane's WAN
# connections, each paced at its share of the host's link (NEW, default
# HEAD): 512 KiB and 1 MiB, 40 repetitions each (every one kept in the
# JSON), alternating, ROUNDS times (default 2), on the 3x2 lab
# with --tune. Needs root; from the repository:
#   OLD=71459f4 NEW=f4fd4e8 OUT=bench/results/2026-12-07-lab3x2-lanes-fresh bash bench/results/2026-12-07-lab3x2-lanes-fresh/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lanes-fresh
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate --json "old new" -reps 40 -osu=false -min 524288 -max 1048576 -factor 2 -alg Lanes allreduce
