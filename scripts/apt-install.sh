# apt-install.sh: sourced by the set-up scripts that install Debian packages (as root).
# `apt_install NAME PKG...` runs apt-get update, then installs PKG... without recommends, their
# output kept in a log shown only when a step fails, and no service of theirs started meanwhile:
# a policy-rc.d that refuses every start (invoke-rc.d and deb-systemd-invoke ask it: 101), placed
# only when none is there and removed after, on failure and on a signal too (a subshell's trap).
apt_install() (
  name="$1"
  shift
  log="$(mktemp)"
  policy=/usr/sbin/policy-rc.d
  placed=0
  cleanup() {
    rm -f "$log"
    if ((placed)); then rm -f "$policy"; fi
  }
  trap cleanup EXIT
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# %s: no service starts during the install\nexit 101\n' "$name" >"$policy"
    chmod 755 "$policy"
    placed=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "$name: installing $* (apt-get)..." >&2
  if ! apt-get -qq update >"$log" 2>&1; then
    cat "$log" >&2
    printf '%s: ERROR: apt-get update failed (see above)\n' "$name" >&2
    exit 1
  fi
  if ! apt-get -qq install -y --no-install-recommends "$@" >"$log" 2>&1; then
    cat "$log" >&2
    printf '%s: ERROR: apt-get install %s failed (see above)\n' "$name" "$*" >&2
    exit 1
  fi
)
