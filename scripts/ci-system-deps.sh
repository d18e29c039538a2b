#!/usr/bin/env bash
# Installs the system components that the launcher tests drive for real: Open MPI (mpiexec),
# OpenSSH (a private sshd on a loopback port), munge + Slurm (a single-node cluster) and
# iproute2 (network namespaces). Debian/Ubuntu, as root. The tests start and stop their own
# daemons with private sockets, keys, ports and configs, so they neither need nor touch
# services the packages may start.
set -euo pipefail

PACKAGES=(openmpi-bin openssh-server openssh-client munge slurmctld slurmd slurm-client iproute2)

if [ "$(id -u)" != "0" ]; then
  echo "ci-system-deps: not root; skipping ${PACKAGES[*]} (the launcher tests will skip and say why)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ci-system-deps: no apt-get; install ${PACKAGES[*]} by other means (the launcher tests will skip and say why)" >&2
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "ci-system-deps: all installed"
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ci-system-deps: installed ${missing[*]}"
