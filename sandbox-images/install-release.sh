#!/usr/bin/env bash
# Installs agentrt and agentrt-client from the release tarball
# (dist/agentrt-<version>-linux-x86_64.tar.gz) into PREFIX/bin and checks that the installed
# agentrt starts on this system, i.e. that every shared library it still loads is present. Every
# recipe under sandbox-images/ installs the runtime through this script, so none compiles
# anything and all of them agree on the tarball's layout: each binary is found by name (at most
# two directories deep), whether the tarball has a top-level directory and a bin/ or not.
#
# Usage: install-release.sh TARBALL [PREFIX]     (PREFIX defaults to /usr/local)
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 TARBALL [PREFIX]" >&2
  exit 2
fi
tarball="$1"
prefix="${2:-/usr/local}"

unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
tar -xzf "$tarball" -C "$unpacked" --no-same-owner

find_one() {
  local found
  mapfile -t found < <(find "$unpacked" -maxdepth 3 -type f -name "$1")
  if [ "${#found[@]}" -ne 1 ]; then
    echo "install-release: expected one file named $1 in $tarball, found ${#found[@]}" >&2
    return 1
  fi
  printf '%s\n' "${found[0]}"
}

runtime_bin="$(find_one agentrt)"
client_bin="$(find_one agentrt-client)"
install -D -m 0755 "$runtime_bin" "$prefix/bin/agentrt"
install -D -m 0755 "$client_bin" "$prefix/bin/agentrt-client"

# Fails the image build here, not at the first sandbox start, when a library is missing.
version="$("$prefix/bin/agentrt" --version)"
"$prefix/bin/agentrt-client" --help >/dev/null
echo "install-release: installed $version and agentrt-client into $prefix/bin"
