#!/usr/bin/env bash
# ad hoc: Lanes allgather before and after the host steps, 3 regions x 2 hosts x 2 slots
set -euo pipefail
w=/var/tmp/lh; out=${OUT:-$w/out-allgather}; mkdir -p $out
lab=$w/lab
trap '"$w/spmdlab" down >/dev/null 2>&1 || true' EXIT
"$w/spmdlab" up --regions us-west:2,ap-sg:2,eu-fra:2 --slots 2 \
  --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100 --dir $lab >/dev/null
ON=("$w/spmdlab" exec us-west-1 --)
for round in 1 2; do
  for v in old new; do
    algs="Lanes"
    for a in $algs; do
      echo "== round $round $v $a"
      "${ON[@]}" "$w/spmdrun" --hostfile $lab/hostfile -i $lab/id_ed25519 --known-hosts $lab/known_hosts \
        --preload-binary "$w/spmdbench-$v" -reps 3 -min 32768 -max 1048576 -alg $a -csv "$out/$v-$a-r$round.csv" allgather | grep -E "^  allgather"
    done
  done
done
