#!/usr/bin/env bash
# 4 regions x 2 hosts x 2 slots (16 ranks), uneven delays: spmdbench beside
# Open MPI 4.1 in one run, both launched from us-west-1 (the commands of
# bench/results/2026-11-22-lab4x2x2-vs-openmpi/README.md). As root, from the
# repository root: bash run.sh OUTDIR [reps] [ops...]
set -euo pipefail
out=$1; reps=${2:-3}; shift 2 || shift $#
ops=("$@"); [ ${#ops[@]} -gt 0 ] || ops=(barrier bcast reduce allreduce allgather)
source bench/openmpi/lib.sh
source bench/results/2026-11-22-lab4x2x2-host-steps/lab.sh
ensure_openmpi
mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-s4-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
mpicc -O2 -o "$work/sweep" bench/openmpi/sweep.c
lab_up "$work" "${LAB4X2X2[@]}"
echo "== spmd"
"${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" -reps "$reps" \
  -csv "$out/spmd.csv" "${ops[@]}" | tee "$out/spmd.txt"
echo "== Open MPI"
"${ON[@]}" "${MPIRUN_LAB[@]}" "$work/sweep" -reps "$reps" "${ops[@]}" > "$out/openmpi.csv" 2> >(grep -v setpgid >&2)
"$work/spmdbench" combine -plot "$out/plots" "$out/spmd.csv" "$out/openmpi.csv" | tee "$out/combined.txt"
