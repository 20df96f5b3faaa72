# Shared by the bench/*-vs-openmpi.sh scripts (sourced, not run).

# ensure_openmpi installs Debian's openmpi-bin and libopenmpi-dev when mpicc
# is missing and we are root, or fails saying what to install.
ensure_openmpi() {
  command -v mpicc >/dev/null && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
  else
    echo "install openmpi-bin and libopenmpi-dev first" >&2; exit 1
  fi
}

# mpirun_flags prints mpirun's flags for np ranks on this machine: the TCP
# transport, --allow-run-as-root for root, --oversubscribe beyond the cores.
mpirun_flags() {
  local np=$1
  echo "--mca btl self,tcp -np $np"
  [ "$(id -u)" = 0 ] && echo "--allow-run-as-root"
  [ "$np" -gt "$(nproc)" ] && echo "--oversubscribe"
  return 0
}
