#!/usr/bin/env bash
# setup-criu.sh — make sure a usable CRIU (>= 4.2) exists at the project's
# fixed absolute path, building it from Debian unstable's source package if
# needed. It ships in @crac/cli: `crac setup` runs it when no usable CRIU is
# installed and the distribution's package is too old; the monorepo's
# scripts/setup.mjs runs it too.
#
#   Fast path:  CRAC_CRIU_PATH (if set and >= 4.2), else
#               ${CRAC_CRIU_INSTALL_DIR:-/usr/local/libexec/crac}/criu (if >= 4.2
#               and its stamp file criu.build records today's build options)
#               -> print the path on stdout and exit 0.
#   Slow path:  apt-get install build deps, fetch the `criu` source package from
#               the unstable suite through a *private* apt configuration (the
#               system's apt lists and caches are not touched), build
#               `make criu` with our options, install to
#               $CRAC_CRIU_INSTALL_DIR/criu with its stamp criu.build, verify
#               with `criu --version` and `criu check`, print the path.
#
# Build options (recorded in the stamp; an install without them is rebuilt):
#   RUNDIR=/dev/shm/crac-criu  where CRIU keeps its kernel-probe cache
#               (criu.kdat). CRIU loads the cache from there on any file
#               system but saves it only on a tmpfs; Debian's /run may be a
#               plain directory (ext4 here), and then every CRIU run probes
#               the kernel again (about 27 ms of a 56 ms restore). /dev/shm is
#               a tmpfs on practically every Linux and container. CRIU does not
#               create the directory: the restorer (crac-init) does, 0700 root,
#               and refuses to run CRIU when it is anyone else's (a user could
#               plant a cache that root's CRIU would load).
#
# Never rely on `criu` from PATH: Debian 12's /usr/sbin/criu (3.17) cannot
# even `criu check` on Linux 6.x kernels with a [vvar_vclock] mapping, and 4.1
# cannot dump inet sockets on Linux >= 6.16.
#
# Environment:
#   CRAC_CRIU_PATH          use this CRIU if it is >= 4.2 (nothing is built)
#   CRAC_CRIU_INSTALL_DIR   install directory (default /usr/local/libexec/crac)
#   CRAC_CRIU_FORCE_BUILD=1 build even if a usable binary is already installed
#   CRAC_DEBIAN_MIRROR      Debian archive URI to fetch the source from
#                           (default: the Debian mirror the system's apt uses)
#   CRAC_CRIU_SUITE         suite to take the source package from (default sid)
#
# Output: the absolute path of the usable CRIU binary on stdout (last line);
# progress and errors on stderr. Exit status non-zero on any failure.
set -euo pipefail

MIN_MAJOR=4
MIN_MINOR=2
INSTALL_DIR="${CRAC_CRIU_INSTALL_DIR:-/usr/local/libexec/crac}"
INSTALL_DIR="${INSTALL_DIR%/}"
TARGET="$INSTALL_DIR/criu"
# Keep in sync with KDAT_DIR in packages/core/native/src/init.c.
KDAT_RUNDIR=/dev/shm/crac-criu
BUILD_OPTIONS="RUNDIR=$KDAT_RUNDIR"
STAMP="$TARGET.build"
SUITE="${CRAC_CRIU_SUITE:-sid}"
# Who besides root may run the installed CRIU: this group's members (CRIU_GROUP of @crac/core's
# engine/criu/capabilities.ts; a unit test keeps the two equal). Once CRIU is granted the
# capabilities non-root users need, whoever runs it can keep them in a restored process.
CRIU_GROUP=crac
# libcap2-bin is no build dependency: its setcap grants CRIU the file capabilities non-root
# users need (crac check --grant-capabilities), installed in the same step.
BUILD_DEPS=(gcc make libc6-dev xz-utils pkgconf
  libbsd-dev libcap-dev libnet1-dev libnl-3-dev libprotobuf-c-dev
  libprotobuf-dev protobuf-c-compiler protobuf-compiler python3-protobuf
  uuid-dev libnftables-dev libgnutls28-dev libcap2-bin)

log() { printf 'setup-criu: %s\n' "$*" >&2; }
die() {
  printf 'setup-criu: ERROR: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf 'setup-criu:   %s\n' "$line" >&2; done
  exit 1
}

# Print "MAJOR MINOR" of a CRIU binary, or fail.
criu_version() {
  local bin="$1" out ver
  [[ -x "$bin" && -f "$bin" ]] || return 1
  out="$("$bin" --version 2>/dev/null)" || return 1
  ver="$(sed -n 's/^Version:[[:space:]]*\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' <<<"$out" | head -n1)"
  [[ -n "$ver" ]] || return 1
  printf '%s\n' "$ver"
}

# True if the binary is CRIU >= MIN_MAJOR.MIN_MINOR.
criu_ok() {
  local v major minor
  v="$(criu_version "$1")" || return 1
  read -r major minor <<<"$v"
  (( major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR) ))
}

# True if the installed binary was built with today's options.
stamp_ok() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$BUILD_OPTIONS" ]]
}

# The group, created when missing; the installed CRIU root's and $CRIU_GROUP's, mode 0750. A
# change of group clears file capabilities: those granted are granted again, after the mode
# already keeps everyone else out.
ensure_group() {
  getent group "$CRIU_GROUP" >/dev/null || groupadd -f --system "$CRIU_GROUP" ||
    die "could not create the group $CRIU_GROUP, which alone may run CRIU besides root."
}
restrict_to_group() {
  local file="$1" caps=""
  [[ "$(stat -c '%u %G %a' "$file")" == "0 $CRIU_GROUP 750" ]] && return 0
  ensure_group
  if command -v getcap >/dev/null; then caps="$(getcap "$file" 2>/dev/null | sed -n 's/^[^ ]* //p')"; fi
  chmod 0750 "$file"
  chown "root:$CRIU_GROUP" "$file"
  [[ -z "$caps" ]] || setcap "$caps" "$file" || die "could not grant $caps to $file again: run crac check --grant-capabilities"
  log "$file may be run by root and the group $CRIU_GROUP alone"
}

# ---------------------------------------------------------------- fast path
if [[ -n "${CRAC_CRIU_PATH:-}" ]]; then
  if criu_ok "$CRAC_CRIU_PATH"; then
    printf '%s\n' "$CRAC_CRIU_PATH"
    exit 0
  fi
  log "CRAC_CRIU_PATH=$CRAC_CRIU_PATH is not an executable CRIU >= $MIN_MAJOR.$MIN_MINOR; ignoring it and using $TARGET"
fi
if [[ "${CRAC_CRIU_FORCE_BUILD:-0}" != 1 ]] && criu_ok "$TARGET"; then
  if stamp_ok; then
    # an install of an earlier version was everyone's
    [[ "$(id -u)" != 0 ]] || restrict_to_group "$TARGET"
    printf '%s\n' "$TARGET"
    exit 0
  fi
  log "$TARGET was built without $BUILD_OPTIONS (see $STAMP): rebuilding it"
fi

# ---------------------------------------------------------------- slow path
[[ "$(id -u)" == 0 ]] || die "building CRIU needs root (apt-get install, and CRIU itself must run as root)." \
  "Run: sudo $0" \
  "or point CRAC_CRIU_PATH at an existing CRIU >= $MIN_MAJOR.$MIN_MINOR binary."
[[ "$INSTALL_DIR" == /* ]] || die "CRAC_CRIU_INSTALL_DIR must be an absolute path (got '$INSTALL_DIR')."
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian-based systems only." \
  "Build CRIU >= $MIN_MAJOR.$MIN_MINOR yourself and set CRAC_CRIU_PATH to it."

export DEBIAN_FRONTEND=noninteractive

# Serialise concurrent runs (e.g. parallel test workers). The lock lives in a directory only root
# can write: in a world-writable one (/run/lock) another user could plant a link there (root would
# truncate what it points at) or hold a lock on a planted file forever. Opened without truncating.
LOCK_DIR=/run/crac
mkdir -p -m 0700 "$LOCK_DIR"
[[ ! -L "$LOCK_DIR" && "$(stat -c '%u %a' "$LOCK_DIR")" == "0 700" ]] ||
  die "$LOCK_DIR is not root's alone ($(stat -c 'owner %U, mode %a' "$LOCK_DIR")): another user could hold setup's lock." \
    "Remove it (rm -rf $LOCK_DIR) and run again."
exec 9<>"$LOCK_DIR/setup-criu.lock"
if command -v flock >/dev/null; then
  flock -w 1800 9 || die "another crac setup has been building CRIU for 30 minutes (it holds $LOCK_DIR/setup-criu.lock)." \
    "Wait for it, or end it and run again."
  if [[ "${CRAC_CRIU_FORCE_BUILD:-0}" != 1 ]] && criu_ok "$TARGET" && stamp_ok; then
    printf '%s\n' "$TARGET"   # another run installed it meanwhile
    exit 0
  fi
fi

WORK="$(mktemp -d /tmp/crac-criu-build.XXXXXX)"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# 1. Build dependencies (only touch apt if something is missing).
missing=()
for p in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing build dependencies: ${missing[*]}"
  apt-get -qq update >"$WORK/apt-update.log" 2>&1 ||
    { cat "$WORK/apt-update.log" >&2; die "apt-get update failed (see output above)." "Check network access to the Debian archive and retry."; }
  apt-get -qq install -y --no-install-recommends "${missing[@]}" >"$WORK/apt-install.log" 2>&1 ||
    { cat "$WORK/apt-install.log" >&2; die "apt-get install of CRIU build dependencies failed (see output above)." "Packages: ${missing[*]}"; }
fi

# 2. Which Debian mirror? Reuse the one the system already uses.
mirror="${CRAC_DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -Eo '(https?|ftp)://[^[:space:]]+/debian/?([[:space:]]|$)' | head -n1 | tr -d '[:space:]' || true)"
fi
mirror="${mirror%/}"
[[ -n "$mirror" ]] || die "could not find a Debian mirror in /etc/apt/sources.list{,.d}." \
  "Set CRAC_DEBIAN_MIRROR to a Debian archive URI (the one ending in /debian) and retry."

# 3. Private apt configuration: our own sources list, lists dir and caches.
A="$WORK/apt"
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/src"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed=""
[[ -f "$keyring" ]] && signed="[signed-by=$keyring] "
printf 'deb-src %s%s %s main\n' "$signed" "$mirror" "$SUITE" >"$A/sources.list"
APT_OPTS=(-o "Dir::Etc::sourcelist=$A/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache"
  -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
log "fetching the '$SUITE' criu source package from $mirror"
apt-get -qq "${APT_OPTS[@]}" update >"$WORK/apt-src-update.log" 2>&1 ||
  { cat "$WORK/apt-src-update.log" >&2; die "apt-get update of the private '$SUITE' deb-src list failed (see above)."; }
# The .debian.tar.xz may 404 on some mirrors while the index is in flux: we
# only need the .orig.tarball, so tolerate a failure if it arrived.
(cd "$A/src" && apt-get -q "${APT_OPTS[@]}" source --download-only criu) >"$WORK/apt-source.log" 2>&1 || true
shopt -s nullglob
origs=("$A"/src/criu_*.orig.tar.*)
shopt -u nullglob
if ((${#origs[@]} == 0)); then
  cat "$WORK/apt-source.log" >&2
  die "could not download the criu .orig tarball from '$SUITE' (see above)."
fi
orig="${origs[0]}"
log "building $(basename "$orig")"

# 4. Unpack and build (output kept quiet; printed on failure).
mkdir -p "$WORK/build"
tar -xf "$orig" -C "$WORK/build" || die "could not unpack $orig"
srcdir="$(find "$WORK/build" -mindepth 1 -maxdepth 1 -type d | head -n1)"
[[ -n "$srcdir" && -f "$srcdir/Makefile" ]] || die "unexpected layout of $orig (no Makefile at top level)"
if ! make -C "$srcdir" -j"$(nproc 2>/dev/null || echo 2)" $BUILD_OPTIONS criu >"$WORK/make.log" 2>&1; then
  tail -n 80 "$WORK/make.log" >&2
  die "building CRIU failed (last 80 lines of the build log above)." \
    "Missing build dependency? Required: ${BUILD_DEPS[*]}"
fi
[[ -x "$srcdir/criu/criu" ]] || die "build finished but $srcdir/criu/criu is missing"

# 5. Install: root's and $CRIU_GROUP's, 0750, in a directory nobody else can write to (a binary
#    that carries file capabilities must be one no user can replace, and runs for its group alone).
install -d -m 0755 -o root -g root "$INSTALL_DIR"
chmod go-w "$INSTALL_DIR"
ensure_group
install -m 0750 -o root -g "$CRIU_GROUP" "$srcdir/criu/criu" "$TARGET.new.$$"
# A new file has no file capabilities: keep those granted to the old one (non-root users).
granted=""
if [[ -e "$TARGET" ]] && command -v getcap >/dev/null; then
  granted="$(getcap "$TARGET" 2>/dev/null | sed -n 's/^[^ ]* //p')"
fi
[[ -z "$granted" ]] || setcap "$granted" "$TARGET.new.$$" || log "could not grant $granted again: run crac check --grant-capabilities"
mv -f "$TARGET.new.$$" "$TARGET"
# the stamp last: an interrupted install is rebuilt next time
printf '%s\n' "$BUILD_OPTIONS" >"$STAMP.new.$$"
chmod 0644 "$STAMP.new.$$"
mv -f "$STAMP.new.$$" "$STAMP"

# 6. Verify.
criu_ok "$TARGET" || die "installed $TARGET but '$TARGET --version' does not report >= $MIN_MAJOR.$MIN_MINOR"
if ! check_out="$("$TARGET" check 2>&1)"; then
  grep -v 'RLIMIT_NOFILE' <<<"$check_out" >&2 || true
  die "'$TARGET check' failed (output above): this kernel lacks something CRIU needs." \
    "CRIU must run as root on a kernel with CONFIG_CHECKPOINT_RESTORE; see the messages above."
fi
log "installed $("$TARGET" --version | head -n1 | sed 's/^Version: */CRIU /') at $TARGET ($(grep -v RLIMIT_NOFILE <<<"$check_out" | tail -n1))"
printf '%s\n' "$TARGET"
