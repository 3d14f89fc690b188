#!/usr/bin/env bash
# setup-mariadb.sh: MariaDB's server programs (mariadbd, mariadb-install-db) for the @crac/mysql2
# unit tests, which start throwaway servers of their own (test/helpers/mariadb.ts: a data
# directory under /tmp, a free port). Fast path: both present, nothing to do. Else, as root on a
# Debian-based system: apt-get install mariadb-server, without leaving the package's own service
# running or enabled (the tests never use it): a policy-rc.d refuses every service start during
# the install, and the service is stopped and disabled after it all the same.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null; then
  echo "setup-mariadb: $(mariadbd --version | awk '{print $3}') present" >&2
  exit 0
fi
die() {
  printf 'setup-mariadb: ERROR: %s\n' "$*" >&2
  exit 1
}
[[ "$(id -u)" == 0 ]] || die "mariadbd missing; installing needs root: sudo apt-get install mariadb-server"
command -v apt-get >/dev/null || die "mariadbd missing and apt-get not found: install MariaDB's server with your distribution's package manager"
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install setup-mariadb mariadb-server
# mariadbd was not installed before: a service running now was started by this install
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
  systemctl disable --now mariadb.service >/dev/null 2>&1 || true
elif [[ -x /etc/init.d/mariadb ]]; then
  /etc/init.d/mariadb stop >/dev/null 2>&1 || true
  update-rc.d mariadb disable >/dev/null 2>&1 || true
fi
command -v mariadbd >/dev/null || die "mariadb-server installed, but no mariadbd on PATH or in /usr/sbin"
echo "setup-mariadb: $(mariadbd --version | awk '{print $3}') installed (its service not started)" >&2
