#!/usr/bin/env bash
# Loopback beside Open MPI after the local send buffer (57f6b77) and
# single-copy transfers (47a539a): ping-pong and 4-rank collectives with
# single copy on (the default) and off, against Open MPI's TCP transport,
# and once against its shared-memory transport (vader, which copies once
# with CMA as we now do).
#
#   bash bench/results/2026-11-22-loopback-single-copy/run.sh OUT [rounds]
set -euo pipefail
out=${1:?output directory}; rounds=${2:-3}
cd "$(dirname "$0")/../../.."
mkdir -p "$out"
bash bench/pingpong-vs-openmpi.sh "$rounds" > "$out/pingpong-single-copy-on.txt"
SPMD_SINGLE_COPY=off bash bench/pingpong-vs-openmpi.sh "$rounds" > "$out/pingpong-single-copy-off.txt"
bash bench/coll-vs-openmpi.sh "$rounds" 4 > "$out/coll-single-copy-on.txt"
SPMD_SINGLE_COPY=off bash bench/coll-vs-openmpi.sh "$rounds" 4 > "$out/coll-single-copy-off.txt"
OMPI_BTL=self,vader bash bench/coll-vs-openmpi.sh "$rounds" 4 > "$out/coll-single-copy-on-vs-vader.txt"
