# Shared by the bench/*-vs-openmpi.sh scripts (sourced, not run).

# ensure_openmpi installs Debian's openmpi-bin and libopenmpi-dev when mpicc
# or mpi.h is missing and we are root, or fails saying what to install.
# (openmpi-bin alone brings mpicc without the headers.)
ensure_openmpi() {
  command -v mpicc >/dev/null && echo '#include <mpi.h>' | mpicc -E -x c - >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
  else
    echo "install openmpi-bin and libopenmpi-dev first" >&2; exit 1
  fi
}

# mpirun_flags prints mpirun's flags for np ranks on this machine: the TCP
# transport (OMPI_BTL overrides: self,vader for shared memory),
# --allow-run-as-root for root, --oversubscribe beyond the cores.
mpirun_flags() {
  local np=$1
  echo "--mca btl ${OMPI_BTL:-self,tcp} -np $np"
  [ "$(id -u)" = 0 ] && echo "--allow-run-as-root"
  [ "$np" -gt "$(nproc)" ] && echo "--oversubscribe"
  return 0
}

# lab_up WORK brings up the 3-region lab of DESIGN.md (us-west:2, ap-sg:2,
# eu-fra:2; one-way 40/70/90 ms; 100 Mbit/s per host; kernel defaults)
# with spmdlab built into WORK, its files in WORK/lab, and Open MPI's
# hostfile (no region= attribute) in WORK/hosts-ompi. It sets LAB, ON (a
# command prefix that runs on us-west-1: launchers run on a host of the
# cluster, so their SSH connections and the ranks' wire-up cross the
# WAN), SPMDRUN_LAB (spmdrun's host and key flags) and MPIRUN_LAB
# (mpirun with the flags the lab needs, -np the hostfile's slots). WORK
# must not be under /tmp: lab hosts have their own. Further arguments go
# to spmdlab up after the defaults and override them (the last of a
# repeated flag wins), e.g. --wan-mbit 100, or another --regions, --delay
# and --slots (us-west stays the launching host, so keep a us-west region).
lab_up() {
  local work=$1
  shift
  go build -o "$work/spmdlab" ./cmd/spmdlab
  LAB=$work/lab
  "$work/spmdlab" up --regions us-west:2,ap-sg:2,eu-fra:2 \
    --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100 --dir "$LAB" "$@" >/dev/null
  sed 's/ region=[^ ]*//' "$LAB/hostfile" > "$work/hosts-ompi"
  ON=("$work/spmdlab" exec us-west-1 --)
  SPMDRUN_LAB=(--hostfile "$LAB/hostfile" -i "$LAB/id_ed25519" --known-hosts "$LAB/known_hosts")
  local np
  np=$(awk '{for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) {sub(/slots=/, "", $i); n += $i}} END {print n}' "$LAB/hostfile")
  MPIRUN_LAB=(mpirun --allow-run-as-root --hostfile "$work/hosts-ompi" -np "$np"
    --mca plm_rsh_agent "ssh -F $LAB/ssh_config"
    --mca btl self,tcp --mca btl_tcp_if_include 198.18.0.0/15 --mca oob_tcp_if_include 198.18.0.0/15)
}

# lab_work NAME makes the scratch directory of a results script, in
# WORK (under /var/tmp: lab hosts have their own /tmp), takes the lab
# down and removes it on exit, and builds spmdrun and spmdbench into it.
# OUT, the directory for the script's results, is made too (default
# /var/tmp/NAME/out) and made absolute.
lab_work() {
  OUT=${OUT:-/var/tmp/$1/out}
  mkdir -p "$OUT"
  # Absolute: the ranks run in their host's home directory (spmdrun), so
  # a relative -csv or -plot path would not land here.
  OUT=$(cd "$OUT" && pwd)
  WORK=$(mktemp -d "/var/tmp/spmd-$1-XXXXXX")
  trap '"$WORK/spmdlab" down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  go build -o "$WORK/spmdrun" ./cmd/spmdrun
  go build -o "$WORK/spmdbench" ./cmd/spmdbench
}

# lab_builds NAME=COMMIT... builds spmdbench at each commit into
# WORK/spmdbench-NAME, each in a worktree removed once built. Call it
# after lab_work.
lab_builds() {
  local b v c
  for b in "$@"; do
    v=${b%%=*} c=${b#*=}
    git worktree add -q --detach "$WORK/src-$v" "$c"
    (cd "$WORK/src-$v" && go build -o "$WORK/spmdbench-$v" ./cmd/spmdbench) || { git worktree remove --force "$WORK/src-$v"; return 1; }
    git worktree remove --force "$WORK/src-$v"
  done
}

# lab_ab_builds builds spmdbench at two commits for an A/B script:
# WORK/spmdbench-old from OLD (required) and WORK/spmdbench-new from NEW
# (default HEAD).
lab_ab_builds() {
  lab_builds old="${OLD:?set OLD to the commit to compare against}" new="${NEW:-HEAD}"
}

# lab_alternate [--json] "NAME..." ARG... runs spmdbench with ARGs once
# per build NAME (lab_builds'), in turn, ROUNDS times (default 2), each
# run's output in OUT/NAME-rROUND.txt (and with --json, every
# repetition in OUT/NAME-rROUND.json).
lab_alternate() {
  local json=false r v
  if [ "$1" = --json ]; then json=true; shift; fi
  local names=$1
  shift
  for r in $(seq 1 "${ROUNDS:-2}"); do
    for v in $names; do
      echo "== $v round $r"
      if $json; then
        SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-r$r.txt" -json "$OUT/$v-r$r.json" "$@"
      else
        SPMDBENCH=$WORK/spmdbench-$v lab_bench "$OUT/$v-r$r.txt" "$@"
      fi
    done
  done
}

# LAB4_ARGS: lab_up's arguments for the 4-region lab (2 hosts each, 2
# slots per host, uneven delays).
LAB4_ARGS=(--regions us-west:2,us-east:2,eu-fra:2,ap-sg:2 --slots 2
  --delay us-west/us-east=35ms,us-west/eu-fra=75ms,us-west/ap-sg=85ms,us-east/eu-fra=45ms,us-east/ap-sg=110ms,eu-fra/ap-sg=80ms)

# lab_bench LOG ARG... runs spmdbench (SPMDBENCH, else lab_work's) with
# ARGs on every rank of the lab lab_up made, launched by spmdrun from
# us-west-1 (SPMDRUN_X, split on spaces, goes to spmdrun: -x flags);
# its whole output goes to LOG and its table rows to stdout.
lab_bench() {
  local log=$1
  shift
  # shellcheck disable=SC2086 # SPMDRUN_X is a list of flags
  "${ON[@]}" "$WORK/spmdrun" "${SPMDRUN_LAB[@]}" ${SPMDRUN_X:-} --preload-binary "${SPMDBENCH:-$WORK/spmdbench}" "$@" 2>&1 |
    tee "$log" | grep -E "^ +[a-z]+ +[A-Z]" || true
}

# lab_cap_buffers BYTES: caps the TCP buffers (net.ipv4.tcp_rmem and
# tcp_wmem maxima) of every host of the lab lab_up made, so that one flow
# cannot fill a host's link across the WAN (as on hosts whose bandwidth x
# round trip exceeds the kernel's window cap).
lab_cap_buffers() {
  local h
  for h in $(awk '/^#   198\./ {print $3}' "$LAB/hostfile"); do
    "${ON[0]}" exec "$h" -- sysctl -q -w "net.ipv4.tcp_rmem=4096 131072 $1" "net.ipv4.tcp_wmem=4096 16384 $1"
  done
}
