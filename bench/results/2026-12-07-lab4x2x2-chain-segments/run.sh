#!/usr/bin/env bash
# Chain's segment size with two ranks per host: bcast and reduce of
# 2-4 MiB by Chain with the model's segment (-seg 0) and with 32 and
# 128 KiB, on 4 regions x 2 hosts x 2 slots (uneven delays), kernel
# defaults, two rounds in one lab. Needs root; from the repository:
#   bash bench/results/2026-12-07-lab4x2x2-chain-segments/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work c4seg
lab_up "$WORK" --regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2 \
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms
for round in 1 2; do
  for seg in 0 32768 131072; do
    echo "== round $round seg $seg"
    lab_bench "$OUT/log-r$round-seg$seg.txt" -reps 3 -min 2097152 -max 4194304 -factor 2 -alg Chain -seg "$seg" -csv "$OUT/r$round-seg$seg.csv" bcast reduce
  done
done
