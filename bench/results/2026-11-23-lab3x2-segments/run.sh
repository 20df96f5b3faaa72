#!/usr/bin/env bash
# Segment sizes chosen by the cost model (topology.Segment) against the
# fixed 64 KiB before, on the lab: 3 regions x 2 hosts, one rank
# each (SLOTS=2 for two), 100 Mbit/s per host. One spmdrun job per binary,
# alternating old and new, two rounds, for one op.
# Needs root and, in W (default /var/tmp/seg): spmdrun, spmdlab,
# spmdbench-old and spmdbench-new built from the two commits.
#   bash run.sh allreduce -min 131072 -max 4194304 -factor 2
#   ALG=Lanes bash run.sh bcast -min 131072 -max 4194304 -factor 2
set -euo pipefail
op=$1; shift
w=${W:-/var/tmp/seg}; out=${OUT:-$w/out}; alg=${ALG:-Auto}; mkdir -p "$out"
lab=$w/lab
trap '"$w/spmdlab" down >/dev/null 2>&1 || true' EXIT
"$w/spmdlab" up --regions us-west:2,ap-sg:2,eu-fra:2 --slots "${SLOTS:-1}" \
  --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100 --dir "$lab" >/dev/null
ON=("$w/spmdlab" exec us-west-1 --)
for round in 1 2; do
  for v in old new; do
    echo "== round $round $v $alg"
    "${ON[@]}" "$w/spmdrun" --hostfile "$lab/hostfile" -i "$lab/id_ed25519" --known-hosts "$lab/known_hosts" \
      --preload-binary "$w/spmdbench-$v" -reps 3 "$@" -alg "$alg" -csv "$out/$op-$alg-$v-r$round.csv" "$op" | grep -E "^  $op"
  done
done
