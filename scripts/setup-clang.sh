#!/usr/bin/env bash
# setup-clang.sh: clang and its libFuzzer/sanitizer runtime, for the fuzz targets of the native
# readers (packages/core/native/fuzz, `pnpm fuzz`; the unit suite runs a short round). Fast path:
# `clang -fsanitize=fuzzer` links, nothing to do. Else, as root on a Debian-based system: apt-get
# install clang and libclang-rt-dev of its version.
set -euo pipefail

links() {
  local dir
  dir="$(mktemp -d)"
  printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$dir/probe.c"
  clang -fsanitize=fuzzer,address,undefined -o "$dir/probe" "$dir/probe.c" >/dev/null 2>&1
  local ok=$?
  rm -rf "$dir"
  return $ok
}
if command -v clang >/dev/null && links; then
  echo "setup-clang: $(clang --version | head -n1) with libFuzzer present" >&2
  exit 0
fi
die() {
  printf 'setup-clang: ERROR: %s\n' "$*" >&2
  exit 1
}
[[ "$(id -u)" == 0 ]] || die "clang with libFuzzer missing; installing needs root: sudo apt-get install clang libclang-rt-dev"
command -v apt-get >/dev/null || die "clang with libFuzzer missing and apt-get not found: install clang and its compiler-rt"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
apt-get install -y -qq --no-install-recommends clang >"$log" 2>&1 || { cat "$log" >&2; die "apt-get install clang failed"; }
major="$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n1)"
apt-get install -y -qq --no-install-recommends "libclang-rt-${major}-dev" >"$log" 2>&1 ||
  { cat "$log" >&2; die "apt-get install libclang-rt-${major}-dev failed"; }
links || die "clang -fsanitize=fuzzer still does not link"
echo "setup-clang: $(clang --version | head -n1) with libFuzzer installed" >&2
