#!/usr/bin/env bash
# setup-podman.sh: podman and runc for the container suites and `pnpm demo:container`
# (docs/containers.md), catatonit (the pause process of the pods `podman kube play` makes: no
# registry to pull a pause image from) and the CNCF distribution registry (Debian's
# docker-registry) the registry round trip pushes to. Fast path: all there, nothing to do. Else, as root on a
# Debian-based system: apt-get install them (runc, not crun: crun refuses hybrid cgroups, and the
# suite runs podman with --runtime runc). The registry package's own service is not started: the
# tests start a throwaway registry on a free port. CRIU comes from packages/cli/scripts/setup-criu.sh, not from
# the distribution (Debian 12's criu 3.17 fails on these kernels): runc is given it with
# --runtime-flag criu=PATH.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for program in podman runc; do command -v "$program" >/dev/null || missing+=("$program"); done
for file in docker-registry catatonit; do [[ -x "/usr/bin/$file" ]] || missing+=("$file"); done
if ((${#missing[@]} == 0)); then
  echo "setup-podman: podman $(podman --version | awk '{print $3}'), runc, catatonit and docker-registry present" >&2
  exit 0
fi
die() {
  printf 'setup-podman: ERROR: %s\n' "$*" >&2
  exit 1
}
[[ "$(id -u)" == 0 ]] || die "${missing[*]} missing; installing needs root: sudo apt-get install ${missing[*]}"
command -v apt-get >/dev/null || die "${missing[*]} missing and apt-get not found: install ${missing[*]} with your distribution's package manager"
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
# docker-registry's package would start its registry on :5000 for good: apt_install starts none
apt_install setup-podman "${missing[@]}"
echo "setup-podman: podman $(podman --version | awk '{print $3}'), runc, catatonit and docker-registry installed" >&2
