#!/usr/bin/env bash
# Loopback beside Open MPI after shared-memory rings (1b72a27): ping-pong
# and 4-rank collectives with the rings on (the default) and off (socket,
# as before), against Open MPI's TCP transport, and once with the rings
# against its shared-memory transport (vader).
#
#   bash bench/results/2026-11-23-loopback-shm/run.sh OUT [rounds]
set -euo pipefail
out=${1:?output directory}; rounds=${2:-3}
cd "$(dirname "$0")/../../.."
mkdir -p "$out"
bash bench/coll-vs-openmpi.sh "$rounds" 4 > "$out/coll-shm-on.txt"
SPMD_SHM=off bash bench/coll-vs-openmpi.sh "$rounds" 4 > "$out/coll-shm-off.txt"
bash bench/pingpong-vs-openmpi.sh "$rounds" > "$out/pingpong-shm-on.txt"
SPMD_SHM=off bash bench/pingpong-vs-openmpi.sh "$rounds" > "$out/pingpong-shm-off.txt"
OMPI_BTL=self,vader bash bench/coll-vs-openmpi.sh "$rounds" 4 > "$out/coll-shm-on-vs-vader.txt"
