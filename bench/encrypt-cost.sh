#!/usr/bin/env bash
# What encryption costs on the WAN lab: spmdbench with --encrypt none and
# --encrypt wan (the default: every link between regions encrypted),
# alternating, on the lab of bench/sweep-vs-openmpi.sh (3 regions x 2
# hosts, one-way 40/70/90 ms, 100 Mbit/s per host), then the median of
# each size side by side. Needs root.
# Usage: bench/encrypt-cost.sh [outdir] [reps] [rounds] [op...]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/openmpi/lib.sh
out=${1:-/var/tmp/spmd-encrypt}
reps=${2:-5}
rounds=${3:-2}
shift $(( $# > 3 ? 3 : $# ))
ops=("$@")
[ ${#ops[@]} -gt 0 ] || ops=(bcast allreduce allgather)
case "$out" in /tmp/*|"$HOME"/*) echo "outdir must not be under /tmp or \$HOME (lab hosts have their own)" >&2; exit 2;; esac
mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-encrypt-build-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
lab_up "$work"
for round in $(seq "$rounds"); do
  for mode in none wan; do
    echo "== round $round: --encrypt $mode"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --encrypt "$mode" --preload-binary "$work/spmdbench" -reps "$reps" \
      -csv "$out/$mode-$round.csv" "${ops[@]}" > "$out/$mode-$round.txt"
  done
done
echo "== median ms per round, none vs wan, and wan/none"
awk -F, 'FNR==1{split(FILENAME,p,"/"); f=p[length(p)]; sub(/\.csv$/,"",f); split(f,m,"-"); next}
  {k=$2","$4; v[k","m[1]] = v[k","m[1]] " " $7; if (!(k in seen)) {seen[k]=1; order[n++]=k}}
  END{printf "%-22s %-24s %-24s\n", "op,bytes", "none (ms)", "wan (ms)";
      for (i=0;i<n;i++){k=order[i]; printf "%-22s %-24s %-24s\n", k, v[k",none"], v[k",wan"]}}' "$out"/none-*.csv "$out"/wan-*.csv | tee "$out/side-by-side.txt"
echo "files in $out"
