#!/usr/bin/env bash
# Back-to-back jobs across the WAN lab (issue 8's soak): JOBS runs of
# spmdrun with examples/hello on all 6 hosts, launched from us-west-1,
# each checked for exit 0 and every rank's line; then the processes left
# on every lab host (spmdlab status counts those in each host's network
# namespace) against the count before the first job. Needs root (it
# brings up spmdlab: 3 regions x 2 hosts, one-way 40/70/90 ms,
# 100 Mbit/s per host).
# Usage: bench/jobs-soak.sh [jobs]      (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/openmpi/lib.sh # lab_up; Open MPI is not needed here
jobs=${1:-200}
work=$(mktemp -d /var/tmp/spmd-jobs-XXXXXX) # not /tmp: lab hosts have their own
trap '"$work/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/spmdrun" ./cmd/spmdrun
go build -o "$work/hello" ./examples/hello
lab_up "$work"
spmd=("${ON[@]}" "$work/spmdrun" "${SPMDRUN_LAB[@]}" -np 6 --preload-binary "$work/hello")
# Host rows of spmdlab status: HOST REGION ADDRESS SSHD PROCESSES.
procs() { "$work/spmdlab" status --dir "$LAB" | awk '($4 == "up" || $4 == "down") && $5 ~ /^[0-9]+$/ {printf "%s=%s ", $1, $5}'; }
"${spmd[@]}" >/dev/null # stages the binaries into each host's cache
sleep 1                 # let its sshd sessions close
before=$(procs)
fail=0
t0=$(date +%s)
for ((i = 1; i <= jobs; i++)); do
  if ! out=$("${spmd[@]}" 2>&1) || [ "$(grep -c '^hello from rank' <<< "$out")" != 6 ]; then
    fail=$((fail + 1))
    echo "job $i failed:"; tail -5 <<< "$out"
  fi
done
t1=$(date +%s)
sleep 1 # let the last job's sshd sessions close
after=$(procs)
echo "jobs: $jobs back to back in $((t1 - t0)) s, failed: $fail"
echo "processes per lab host before: $before"
echo "processes per lab host after:  $after"
left=0 # hosts with more processes than before the first job
for kv in $after; do
  b=$(tr ' ' '\n' <<< "$before" | grep "^${kv%%=*}=" | cut -d= -f2)
  [ "${kv##*=}" -le "$b" ] || { echo "left behind on ${kv%%=*}: ${kv##*=} processes, $b before"; left=$((left + 1)); }
done
[ "$fail" = 0 ] && [ "$left" = 0 ] && echo "jobs soak: clean" || { echo "jobs soak: NOT clean"; exit 1; }
