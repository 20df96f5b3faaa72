#!/usr/bin/env bash
# 4 regions x 2 hosts x 2 slots (16 ranks), uneven delays: spmdbench beside
# Open MPI 4.1 in one run, both launched from us-west-1 (the commands of
# bench/results/2026-11-22-lab4x2x2-vs-openmpi/README.md). As root, from the
# repository root: bash run.sh OUTDIR [reps] [ops...]
set -euo pipefail
out=$1; reps=${2:-3}; shift 2 || shift $#
ops=("$@"); [ ${#ops[@]} -gt 0 ] || ops=(barrier bcast reduce allreduce allgather)
source bench/openmpi/lib.sh
ensure_openmpi
mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-s4-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
go build -o "$work/spmdlab" ./cmd/spmdlab
mpicc -O2 -o "$work/sweep" bench/openmpi/sweep.c
LAB=$work/lab
"$work/spmdlab" up --regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2 \
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms \
  --host-mbit 100 --dir "$LAB" >/dev/null
sed 's/ region=[^ ]*//' "$LAB/hostfile" > "$work/hosts-ompi"
ON=("$work/spmdlab" exec us-west-1 --)
echo "== spmd"
"${ON[@]}" "$work/spmdrun" --hostfile "$LAB/hostfile" -i "$LAB/id_ed25519" --known-hosts "$LAB/known_hosts" \
  --preload-binary "$work/spmdbench" -reps "$reps" -csv "$out/spmd.csv" "${ops[@]}" | tee "$out/spmd.txt"
echo "== Open MPI"
"${ON[@]}" mpirun --allow-run-as-root --hostfile "$work/hosts-ompi" -np 16 \
  --mca plm_rsh_agent "ssh -F $LAB/ssh_config" --mca btl self,tcp \
  --mca btl_tcp_if_include 198.18.0.0/15 --mca oob_tcp_if_include 198.18.0.0/15 \
  "$work/sweep" -reps "$reps" "${ops[@]}" > "$out/openmpi.csv" 2> >(grep -v setpgid >&2)
"$work/spmdbench" combine -plot "$out/plots" "$out/spmd.csv" "$out/openmpi.csv" | tee "$out/combined.txt"
