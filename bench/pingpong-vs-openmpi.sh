#!/usr/bin/env bash
# Ping-pong between two ranks on this machine, spmd and Open MPI side by
# side in one run: half round-trip time and bandwidth by message size.
#
#   bench/pingpong-vs-openmpi.sh [rounds]
#
# Needs Debian's openmpi-bin and libopenmpi-dev (installed when missing and
# running as root). Both sides use the same method (examples/pingpong and
# bench/openmpi/pingpong.c); Open MPI uses its TCP transport
# (--mca btl self,tcp), as the issue's reference figures do. With rounds > 1
# the two alternate and the best round of each is kept, so that noise from
# other tenants of the machine hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
. bench/openmpi/lib.sh
ensure_openmpi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mpicc -O2 -o "$tmp/pp_ompi" bench/openmpi/pingpong.c
go build -o "$tmp/spmdrun" ./cmd/spmdrun
go build -o "$tmp/pp_spmd" ./examples/pingpong
read -ra mpiflags <<< "$(mpirun_flags 2 | tr '\n' ' ')"
for i in $(seq "$rounds"); do
  mpirun "${mpiflags[@]}" "$tmp/pp_ompi" -csv | grep -E '^[0-9]' > "$tmp/ompi.$i"
  "$tmp/spmdrun" -np 2 "$tmp/pp_spmd" -csv | grep -E '^[0-9]' > "$tmp/spmd.$i"
done
# best (lowest half-RTT) per size over the rounds
best() { cat "$tmp/$1".* | sort -t, -k1,1n -k3,3g | awk -F, '!seen[$1]++'; }
best ompi > "$tmp/ompi.best"; best spmd > "$tmp/spmd.best"
echo "ping-pong, 2 ranks on $(hostname), best of $rounds rounds"
join -t, "$tmp/spmd.best" "$tmp/ompi.best" | awk -F, '
  BEGIN { printf "%10s %12s %12s %8s %12s %12s %8s\n", "bytes", "spmd us", "ompi us", "ratio", "spmd MB/s", "ompi MB/s", "ratio" }
  { printf "%10d %12.3f %12.3f %8.2f %12.1f %12.1f %8.2f\n", $1, $3, $6, $3/$6, $4, $7, ($7>0? $4/$7 : 0) }'
echo "(ratio of times: spmd/ompi, lower is better; of bandwidths: spmd/ompi, higher is better)"
