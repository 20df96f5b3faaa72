#!/usr/bin/env bash
# Lanes/Lanes2 allreduce as it was (OLD) against pacing a lane member's
# connections inside its region at their share of the link until its
# round 1 is out (NEW, default HEAD): allreduce 512 KiB-4 MiB, Auto, 10
# repetitions each, alternating, ROUNDS times (default 2), on the
# issue's 3x2 lab with --tune. Needs root; from the repository:
#   OLD=249240e NEW=HEAD OUT=bench/results/2026-12-07-lab3x2-lane-local bash bench/results/2026-12-07-lab3x2-lane-local/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lane-local
lab_ab_builds
lab_up "$WORK" --tune
lab_alternate --json "old new" -reps 10 -osu=false -min 524288 -max 4194304 -factor 2 allreduce
