#!/usr/bin/env bash
# Chain's stalled repetitions before and after d2422e4 (a waiter gives the
# read token back once its message is in): reduce and bcast of 1 and 2 MiB
# by Chain, 15 repetitions, on the 3x2 lab with --tune, every lab
# host on CUBIC, then on BBR; in each, the build before the change (OLD,
# default d2422e4^) and after (NEW, default HEAD) alternate, ROUNDS times
# (default 2). Adds cubic to net.ipv4.tcp_allowed_congestion_control for
# the run, as ../2026-12-07-lab3x2-chain-cc does. Needs root; from the
# repository:
#   bash bench/results/2026-12-07-lab3x2-chain-stall/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
allowed=/proc/sys/net/ipv4/tcp_allowed_congestion_control
old=$(cat "$allowed")
lab_work chain-stall
trap 'echo "$old" > "$allowed"; "$WORK/spmdlab" down >/dev/null 2>&1 || true; git worktree remove --force "$WORK/src-old" 2>/dev/null || true; rm -rf "$WORK"' EXIT
git worktree add -q --detach "$WORK/src-old" "${OLD:-d2422e4^}"
(cd "$WORK/src-old" && go build -o "$WORK/spmdbench-old" ./cmd/spmdbench)
git worktree add -q --detach "$WORK/src-new" "${NEW:-HEAD}"
(cd "$WORK/src-new" && go build -o "$WORK/spmdbench-new" ./cmd/spmdbench)
git worktree remove --force "$WORK/src-new"
echo "$old cubic" > "$allowed"
lab_up "$WORK" --tune
hosts=$(awk '/^#   198\./ {print $3}' "$LAB/hostfile")
for cc in cubic bbr; do
  for h in $hosts; do "${ON[0]}" exec "$h" -- sysctl -q -w net.ipv4.tcp_congestion_control=$cc; done
  for r in $(seq 1 "${ROUNDS:-2}"); do
    for v in old new; do
      echo "== $cc $v round $r"
      SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$cc-$v-r$r.txt" -reps 15 -osu=false -min 1048576 -max 2097152 -factor 2 \
        -alg Chain -csv "$OUT/$cc-$v-r$r.csv" reduce bcast
    done
  done
done
