#!/usr/bin/env bash
# setup-podman.sh: podman and runc for the container suite and `pnpm demo:container`
# (docs/containers.md). Fast path: both on PATH, nothing to do. Else, as root on a Debian-based
# system: apt-get install podman runc (runc, not crun: crun refuses hybrid cgroups, and the suite
# runs podman with --runtime runc). CRIU comes from packages/cli/scripts/setup-criu.sh, not from
# the distribution (Debian 12's criu 3.17 fails on these kernels): runc is given it with
# --runtime-flag criu=PATH.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for program in podman runc; do command -v "$program" >/dev/null || missing+=("$program"); done
if ((${#missing[@]} == 0)); then
  echo "setup-podman: podman $(podman --version | awk '{print $3}') and runc present" >&2
  exit 0
fi
die() {
  printf 'setup-podman: ERROR: %s\n' "$*" >&2
  exit 1
}
[[ "$(id -u)" == 0 ]] || die "${missing[*]} missing; installing needs root: sudo apt-get install podman runc"
command -v apt-get >/dev/null || die "${missing[*]} missing and apt-get not found: install podman and runc with your distribution's package manager"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "setup-podman: installing podman runc (apt-get)..." >&2
apt-get -qq update >"$log" 2>&1 || { cat "$log" >&2; die "apt-get update failed (see above)"; }
apt-get -qq install -y --no-install-recommends podman runc >"$log" 2>&1 ||
  { cat "$log" >&2; die "apt-get install podman runc failed (see above)"; }
echo "setup-podman: podman $(podman --version | awk '{print $3}') installed" >&2
