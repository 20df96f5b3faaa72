#!/usr/bin/env bash
# Lanes2 allreduce with its stages interleaved (this commit) against the
# three loops one after the other (OLD, a commit before it), alternating
# in one lab: the 3x2 lab with --tune, 512 KiB-4 MiB, three
# rounds. Needs root; from the repository:
#   OLD=3d4df5a bash bench/results/2026-12-07-lab3x2-lanes2-interleaved/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
lab_work l2i
git worktree add -f "$WORK/old" "${OLD:?OLD=commit}" >/dev/null 2>&1
(cd "$WORK/old" && go build -o "$WORK/spmdbench-old" ./cmd/spmdbench)
git worktree remove -f "$WORK/old"
lab_up "$WORK" --tune
for round in 1 2 3; do
  for v in new old; do
    bin=$WORK/spmdbench; [ $v = old ] && bin=$WORK/spmdbench-old
    echo "== round $round $v"
    SPMDBENCH=$bin lab_bench "$OUT/log-r$round-$v.txt" -reps 3 -min 524288 -max 4194304 -factor 2 -alg Lanes2 -csv "$OUT/r$round-$v.csv" allreduce
  done
done
