#!/usr/bin/env bash
# The ad hoc runs of this directory: an op's Lanes algorithms before
# ("old") and after ("new") a change, on 3 regions x 2 hosts x 2 slots,
# one spmdrun job per binary and algorithm, alternating, two rounds.
# Needs root and, in W (default /var/tmp/lh): spmdrun, spmdlab,
# spmdbench-old and spmdbench-new built from the two commits.
#   bash run.sh allreduce "Lanes Lanes2" -min 131072   (old runs Lanes only)
#   bash run.sh bcast Lanes -min 131072
#   bash run.sh reduce Lanes -min 131072
#   bash run.sh allgather Lanes -min 32768 -max 1048576
set -euo pipefail
op=$1 algs=$2; shift 2
w=${W:-/var/tmp/lh}; out=${OUT:-$w/out-$op}; mkdir -p "$out"
lab=$w/lab
trap '"$w/spmdlab" down >/dev/null 2>&1 || true' EXIT
"$w/spmdlab" up --regions us-west:2,ap-sg:2,eu-fra:2 --slots 2 \
  --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100 --dir "$lab" >/dev/null
ON=("$w/spmdlab" exec us-west-1 --)
for round in 1 2; do
  for v in old new; do
    as=$algs; [ "$v" = old ] && as=Lanes
    for a in $as; do
      echo "== round $round $v $a"
      "${ON[@]}" "$w/spmdrun" --hostfile "$lab/hostfile" -i "$lab/id_ed25519" --known-hosts "$lab/known_hosts" \
        --preload-binary "$w/spmdbench-$v" -reps 3 "$@" -alg "$a" -csv "$out/$v-$a-r$round.csv" "$op" | grep -E "^  $op"
    done
  done
done
