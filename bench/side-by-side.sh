#!/usr/bin/env bash
# spmdbench on the WAN lab under several spmdrun settings, alternating
# (the machine is shared and noisy), then the medians of each size side
# by side. The lab is bench/sweep-vs-openmpi.sh's: 3 regions x 2 hosts,
# one-way 40/70/90 ms, 100 Mbit/s per host. Needs root.
# Usage: bench/side-by-side.sh OUTDIR REPS ROUNDS 'SETTING' 'SETTING'... -- [spmdbench args and ops]
#   bench/side-by-side.sh /var/tmp/enc 3 2 '--encrypt none' '--encrypt wan' -- bcast allreduce allgather
#   bench/side-by-side.sh /var/tmp/zst 3 2 '--compress none' '--compress wan' -- -data ints allreduce
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/openmpi/lib.sh
[ $# -ge 5 ] || { sed -n 2,9p "$0" >&2; exit 2; }
out=$1 reps=$2 rounds=$3
shift 3
settings=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do settings+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
case "$out" in /tmp/*|"$HOME"/*) echo "outdir must not be under /tmp or \$HOME (lab hosts have their own)" >&2; exit 2;; esac
mkdir -p "$out"
work=$(mktemp -d /var/tmp/spmd-side-build-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/spmdbench" ./cmd/spmdbench
lab_up "$work"
for round in $(seq "$rounds"); do
  for i in "${!settings[@]}"; do
    echo "== round $round: ${settings[$i]}"
    # shellcheck disable=SC2086 # a setting is several words
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" ${settings[$i]} --preload-binary "$work/spmdbench" -reps "$reps" \
      -csv "$out/s$i-r$round.csv" "$@" > "$out/s$i-r$round.txt"
  done
done
{
  echo "median ms of each round; settings:"
  for i in "${!settings[@]}"; do echo "  s$i: ${settings[$i]}"; done
  awk -F, 'FNR==1{f=FILENAME; sub(/.*\//,"",f); split(f,m,"-"); s=m[1]; if (!(s in seen_s)) {seen_s[s]=1; ss[ns++]=s}; next}
    {k=$2","$4; v[k","s] = v[k","s] " " $7; if (!(k in seen)) {seen[k]=1; order[n++]=k}}
    END{printf "%-18s", "op,bytes"; for (j=0;j<ns;j++) printf " %-22s", ss[j]; printf "\n";
        for (i=0;i<n;i++){k=order[i]; printf "%-18s", k; for (j=0;j<ns;j++) printf " %-22s", v[k","ss[j]]; printf "\n"}}' \
    $(ls "$out"/s*-r*.csv | sort -t- -k1,1 -k2,2)
} | tee "$out/side-by-side.txt"
echo "files in $out"
