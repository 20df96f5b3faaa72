#!/usr/bin/env bash
# Wall time of a whole hello job (start, init, barrier, close) across the
# WAN lab, launched from one of its hosts: spmdrun with examples/hello beside Open MPI's mpirun with the
# same program in C, on the same hosts, alternating, median of ROUNDS.
# Needs root (it brings up spmdlab: 3 regions x 2 hosts, one-way
# 40/70/90 ms, 100 Mbit/s per host) and installs Open MPI if missing.
# Usage: bench/launch-vs-openmpi.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/openmpi/lib.sh
rounds=${1:-5}
ensure_openmpi
work=$(mktemp -d /var/tmp/spmd-launch-XXXXXX) # not /tmp: lab hosts have their own
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/hello" ./examples/hello
mpicc -O2 -o "$work/hello-mpi" bench/openmpi/hello.c
lab_up "$work" # both launchers run on us-west-1
ompi=("${ON[@]}" "${MPIRUN_LAB[@]}")
spmd=("${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" -np 6)

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Warm up both (first spmd run stages spmdrun and hello into each host's cache).
"${spmd[@]}" --preload-binary "$work/hello" >/dev/null
"${ompi[@]}" "$work/hello-mpi" >/dev/null
: > "$work/spmd.t"; : > "$work/ompi.t"; : > "$work/true.t"
for ((i = 0; i < rounds; i++)); do
  secs "${spmd[@]}" --preload-binary "$work/hello" >> "$work/spmd.t"
  secs "${ompi[@]}" "$work/hello-mpi" >> "$work/ompi.t"
  secs "${ompi[@]}" /bin/true >> "$work/true.t"
done
s=$(median < "$work/spmd.t"); o=$(median < "$work/ompi.t"); tr=$(median < "$work/true.t")
printf '%-44s %8s\n' "hello on 6 hosts, 3 regions (median of $rounds)" seconds
printf '%-44s %8.2f\n' "spmdrun --preload-binary hello" "$s"
printf '%-44s %8.2f\n' "mpirun hello-mpi (Open MPI)" "$o"
printf '%-44s %8.2f\n' "mpirun /bin/true (Open MPI)" "$tr"
printf '%-44s %8.2f\n' "ratio spmd / Open MPI (hello)" "$(echo "$s / $o" | bc -l)"
