#!/usr/bin/env bash
# Lanes bcast along the star ("star": spmdbench of commit STAR, default
# 7f26b21) and along the tree BcastTree chooses ("tree": commit TREE,
# default 1989363, reverted by a8bfb62), with Direct and Auto of the tree
# commit beside them, on the 3x2 lab (from us-west-1, root rank 0);
# separate jobs, alternating, two rounds, median of 5.
#   bash bench/results/2026-11-22-lab3x2-bcast-tree/run.sh OUT
set -euo pipefail
out=${1:?output directory}; mkdir -p "$out"
cd "$(dirname "$0")/../../.."
source bench/openmpi/lib.sh
work=$(mktemp -d /var/tmp/spmd-bt-XXXXXX)
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
for v in star:${STAR:-7f26b21} tree:${TREE:-1989363}; do
  git worktree add -q "$work/src" "${v#*:}"
  (cd "$work/src" && go build -o "$work/spmdbench-${v%%:*}" ./cmd/spmdbench)
  git worktree remove --force "$work/src"
done
lab_up "$work"
for round in 1 2; do
  for v in star:Lanes tree:Lanes tree:Direct tree:Auto; do
    bin=${v%%:*} alg=${v##*:}
    echo "== round $round $bin $alg"
    "${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" --preload-binary "$work/spmdbench-$bin" -reps 5 -min 524288 -factor 2 -alg "$alg" \
      -csv "$out/$bin-$alg-r$round.csv" bcast | grep -E '^ *bcast'
  done
done
