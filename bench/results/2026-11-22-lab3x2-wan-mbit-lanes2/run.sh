#!/usr/bin/env bash
# ad hoc: allreduce Lanes / Lanes2 / Direct on the 3x2 lab with shared tunnels (--wan-mbit 100), separate jobs, alternating
set -euo pipefail
cd /work/main
out=${OUT:-/var/tmp/l2w/out}; mkdir -p $out
work=$(mktemp -d /var/tmp/spmd-l2w-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
go build -o "$work/spmdlab" ./cmd/spmdlab
LAB=$work/lab
"$work/spmdlab" up --regions us-west:2,ap-sg:2,eu-fra:2 \
  --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100 --wan-mbit 100 --dir "$LAB" >/dev/null
ON=("$work/spmdlab" exec us-west-1 --)
for round in 1 2; do
  for a in Lanes Lanes2 Direct; do
    echo "== round $round $a"
    "${ON[@]}" "$work/spmdrun" --hostfile "$LAB/hostfile" -i "$LAB/id_ed25519" --known-hosts "$LAB/known_hosts" \
      --preload-binary "$work/spmdbench" -reps 5 -wan-mbit 100 -min 524288 -alg $a -csv "$out/$a-r$round.csv" allreduce | grep -E '^  allreduce'
  done
done
