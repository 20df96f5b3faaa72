#!/usr/bin/env bash
# The acceptance sweep of spmdbench beside Open MPI on the WAN lab: brings
# up spmdlab (3 regions x 2 hosts, one-way 40/70/90 ms, 100 Mbit/s per
# host, kernel TCP defaults), runs spmdbench (Auto: region-aware from the
# hostfile's region= labels) with
# spmdrun and the same sweep in C (bench/openmpi/sweep.c) with Open MPI's
# mpirun, both launched from us-west-1, then writes one combined table and
# plots. Needs root; installs Open MPI if missing. LAB_ARGS, split on
# spaces, go to spmdlab up after lab_up's defaults (another --regions,
# --delay, --slots; see lab_up in bench/openmpi/lib.sh).
# Usage: [LAB_ARGS=...] bench/sweep-vs-openmpi.sh [outdir] [reps] [op...]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/openmpi/lib.sh
out=${1:-/var/tmp/spmd-sweep}
reps=${2:-5}
shift $(( $# > 2 ? 2 : $# ))
ops=("$@")
[ ${#ops[@]} -gt 0 ] || ops=(barrier bcast reduce allreduce allgather)
case "$out" in /tmp/*|"$HOME"/*) echo "outdir must not be under /tmp or \$HOME (lab hosts have their own)" >&2; exit 2;; esac
ensure_openmpi
mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-sweep-build-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
mpicc -O2 -o "$work/sweep" bench/openmpi/sweep.c
# shellcheck disable=SC2086 # LAB_ARGS is a list of flags
lab_up "$work" ${LAB_ARGS:-}

echo "== spmd: spmdbench ${ops[*]} (reps $reps)"
"${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench" -reps "$reps" -csv "$out/spmd.csv" -json "$out/spmd.json" -plot "$out/spmd-plots" "${ops[@]}" \
  | tee "$out/spmd.txt"

echo "== Open MPI: sweep ${ops[*]} (reps $reps)"
"${ON[@]}" "${MPIRUN_LAB[@]}" "$work/sweep" -reps "$reps" "${ops[@]}" > "$out/openmpi.csv" 2> >(grep -v setpgid >&2)

echo "== side by side (ms; bound from spmdbench's measured network)"
"$work/spmdbench" combine -plot "$out/plots" "$out/spmd.csv" "$out/openmpi.csv" | tee "$out/combined.txt"
echo "files in $out"
