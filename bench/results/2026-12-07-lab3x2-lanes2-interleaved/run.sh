#!/usr/bin/env bash
# Lanes2 allreduce with its stages interleaved (this commit) against the
# three loops one after the other (OLD, a commit before it), alternating
# in one lab: the 3x2 lab with --tune, 512 KiB-4 MiB, three
# rounds. Needs root; from the repository:
#   OLD=3d4df5a bash bench/results/2026-12-07-lab3x2-lanes2-interleaved/run.sh
set -euo pipefail
source bench/openmpi/lib.sh
out=${OUT:-/var/tmp/l2i/out}; mkdir -p "$out"
lab_work l2i
work=$WORK
git worktree add -f "$work/old" "${OLD:?OLD=commit}" >/dev/null 2>&1
(cd "$work/old" && go build -o "$work/spmdbench-old" ./cmd/spmdbench)
git worktree remove -f "$work/old"
lab_up "$work" --tune
for round in 1 2 3; do
  for v in new old; do
    bin=$work/spmdbench; [ $v = old ] && bin=$work/spmdbench-old
    echo "== round $round $v"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$bin" \
      -reps 3 -min 524288 -max 4194304 -factor 2 -alg Lanes2 -csv "$out/r$round-$v.csv" allreduce 2>&1 |
      tee "$out/log-r$round-$v.txt" | grep -E "^ +[a-z]+ +[A-Z]" || true
  done
done
