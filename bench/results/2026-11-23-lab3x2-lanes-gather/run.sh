#!/usr/bin/env bash
# Lanes Gather and Scatter against Hierarchical on the lab (3
# regions x 2 hosts, one rank each, 40/70/90 ms one-way, 100 Mbit/s per
# host), alternating in one lab, two rounds. RMEM=<bytes> caps every
# host's TCP buffers (net.ipv4.tcp_rmem and tcp_wmem maximum, per network
# namespace) so that one flow cannot fill the link, as on hosts whose
# bandwidth x round trip exceeds the kernel's window cap.
# Needs root and, in W (default /var/tmp/lg): spmdrun, spmdlab, spmdbench.
#   bash run.sh gather -min 65536 -max 1048576 -factor 4
#   RMEM=1048576 bash run.sh scatter -min 65536 -max 1048576 -factor 4
set -euo pipefail
op=$1; shift
w=${W:-/var/tmp/lg}; out=${OUT:-$w/out}; mkdir -p "$out"
lab=$w/lab
trap '"$w/spmdlab" down >/dev/null 2>&1 || true' EXIT
"$w/spmdlab" up --regions us-west:2,ap-sg:2,eu-fra:2 \
  --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100 --dir "$lab" >/dev/null
tag=default
if [ -n "${RMEM:-}" ]; then
  tag=rmem$RMEM
  for h in us-west-1 us-west-2 ap-sg-1 ap-sg-2 eu-fra-1 eu-fra-2; do
    "$w/spmdlab" exec "$h" -- sysctl -q -w "net.ipv4.tcp_rmem=4096 131072 $RMEM" "net.ipv4.tcp_wmem=4096 16384 $RMEM"
  done
fi
ON=("$w/spmdlab" exec us-west-1 --)
for round in 1 2; do
  for a in Hierarchical Lanes; do
    echo "== round $round $a $tag"
    "${ON[@]}" "$w/spmdrun" --hostfile "$lab/hostfile" -i "$lab/id_ed25519" --known-hosts "$lab/known_hosts" \
      --preload-binary "$w/spmdbench" -reps 3 "$@" -alg "$a" -csv "$out/$op-$tag-$a-r$round.csv" "$op" | grep -E "^  $op"
  done
done
