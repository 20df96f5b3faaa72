#!/usr/bin/env bash
# As run.sh, with three builds alternating: A=b3889cd (before this stop),
# B=249240e (Isends need room only), C=78e385b (laneLocal for one rank
# per host only, so not here). Needs root; from the repository:
#   OUT=bench/results/2026-12-07-lab4x2x2-lane-local/three bash bench/results/2026-12-07-lab4x2x2-lane-local/run3.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work lab4-three
lab_builds A=b3889cd B=249240e C=78e385b
lab_up "$WORK" "${LAB4_ARGS[@]}"
ROUNDS=${ROUNDS:-1} lab_alternate "A B C" -reps 5 -osu=false -min 524288 -max 4194304 -factor 2 allreduce
