#!/usr/bin/env bash
# Collectives on this machine, spmd and Open MPI side by side in one run:
# mean time per call (OSU style, slowest rank) by message size.
#
#   bench/coll-vs-openmpi.sh [rounds] [np] [ops...]     (default: 3 4 allreduce bcast allgather)
#
# Needs Debian's openmpi-bin and libopenmpi-dev (installed when missing and
# running as root). Both sides use the same loop, sizes and iteration counts
# (cmd/spmdbench over package bench, and bench/openmpi/coll.c); Open MPI
# uses its TCP transport (--mca btl self,tcp) and --oversubscribe when np
# exceeds the cores. The two alternate for the given rounds and the best
# round of each is kept, so that noise from other tenants hits both alike.
# spmd runs with its defaults (argument check on, CheckAsync).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; np=${2:-4}; shift $(( $# > 2 ? 2 : $# ))
ops=("$@"); [ ${#ops[@]} -gt 0 ] || ops=(allreduce bcast allgather)
. bench/openmpi/lib.sh
ensure_openmpi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mpicc -O2 -o "$tmp/coll_ompi" bench/openmpi/coll.c
go build -o "$tmp/spmdrun" ./cmd/spmdrun
go build -o "$tmp/spmdbench" ./cmd/spmdbench
read -ra mpiflags <<< "$(mpirun_flags "$np" | tr '\n' ' ')"
for i in $(seq "$rounds"); do
  mpirun "${mpiflags[@]}" "$tmp/coll_ompi" "${ops[@]}" | grep -E '^[a-z]+,[0-9]' > "$tmp/ompi.$i"
  "$tmp/spmdrun" -np "$np" "$tmp/spmdbench" -osu-only "${ops[@]}" | grep -E '^[a-z]+,[0-9]' > "$tmp/spmd.$i"
done
# best (lowest time) per op and size over the rounds; key "op:bytes"
best() { cat "$tmp/$1".* | awk -F, '{k=$1":"$2; if (!(k in b) || $4 < b[k]) b[k]=$4} END {for (k in b) print k","b[k]}' | sort; }
best ompi > "$tmp/ompi.best"; best spmd > "$tmp/spmd.best"
echo "collectives, $np ranks on $(hostname) ($(nproc) cores), best of $rounds rounds, mean us per call"
join -t, "$tmp/spmd.best" "$tmp/ompi.best" | tr ':' ',' | sort -t, -k1,1 -k2,2n | awk -F, '
  BEGIN { printf "%-12s %10s %12s %12s %8s\n", "op", "bytes", "spmd us", "ompi us", "ratio" }
  { printf "%-12s %10d %12.1f %12.1f %8.2f\n", $1, $2, $3, $4, $3/$4 }'
echo "(ratio spmd/ompi: below 1 is faster than Open MPI)"
