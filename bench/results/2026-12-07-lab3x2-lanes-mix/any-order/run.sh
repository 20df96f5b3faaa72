#!/usr/bin/env bash
# ../run.sh with F = 1 (Lanes2), 0.75 and 0.5, at commit 7f8cee3 (the
# mix with Lanes2's copies to the region in any order, reverted after).
# Needs root; from the repository at that commit:
#   OUT=bench/results/2026-12-07-lab3x2-lanes-mix/any-order bash bench/results/2026-12-07-lab3x2-lanes-mix/any-order/run.sh
set -euo pipefail
MIXES="1 0.75 0.5" exec bash "$(dirname "$0")/../run.sh"
