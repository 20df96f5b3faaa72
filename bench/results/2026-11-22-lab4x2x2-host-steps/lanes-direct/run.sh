#!/usr/bin/env bash
# ad hoc: bcast and reduce, Lanes against Direct, 4 regions x 2 hosts x 2 slots (the sweep's lab), alternating, two rounds
set -euo pipefail
cd /work/main
out=${OUT:-/var/tmp/s4/ld}; mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-ld-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
go build -o "$work/spmdlab" ./cmd/spmdlab
LAB=$work/lab
"$work/spmdlab" up --regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2 \
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms \
  --host-mbit 100 --dir "$LAB" >/dev/null
ON=("$work/spmdlab" exec us-west-1 --)
for round in 1 2; do
  for a in Lanes Direct Auto; do
    echo "== round $round $a"
    "${ON[@]}" "$work/spmdrun" --hostfile "$LAB/hostfile" -i "$LAB/id_ed25519" --known-hosts "$LAB/known_hosts" \
      --preload-binary "$work/spmdbench" -reps 3 -min 2097152 -alg $a -csv "$out/$a-r$round.csv" bcast reduce | grep -E '^  (bcast|reduce)'
  done
done
