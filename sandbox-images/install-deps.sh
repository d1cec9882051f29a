#!/usr/bin/env bash
# The one place that installs agentrt's build and test dependencies (Debian 12).
# Called by the README, .ci/run and the Dockerfiles so the three never drift apart.
#
# Usage: install-deps.sh [build|test|runtime|portable|release]
#        install-deps.sh --list PROFILE   (print the profile's packages, one a line; installs nothing)
#   build    - compiler, CMake and the -dev packages the libraries compile against (default)
#   test     - build + GoogleTest and the tools the test suite drives
#   runtime  - only what the agentrt binary needs at run time (tests/images checks this list
#              against ldd of the built binary)
#   portable - build + the static archives of libcurl's and libarchive's dependencies, for
#              cmake -DAGENTRT_PORTABLE=ON
#   release  - portable + what packaging/release.sh and its test need: dpkg-dev
#              (dpkg-shlibdeps computes the .debs' Depends) and debootstrap (the clean Debian 12
#              chroot the packages are installed into)
set -euo pipefail

list_only=0
if [ "${1:-}" = "--list" ]; then
  list_only=1
  shift
fi
profile="${1:-build}"

# The binary's own NEEDED entries (libc6 is Essential, listed for the check's sake); libcurl4
# and libarchive13 bring the rest of the closure as their Depends.
runtime_pkgs=(libcurl4 libarchive13 libstdc++6 libgcc-s1 libc6 ca-certificates)
build_pkgs=(g++ cmake make pkg-config
            libwebsocketpp-dev libasio-dev rapidjson-dev
            libcurl4-openssl-dev libarchive-dev libssl-dev libcli11-dev)
# clang + its runtime: the libFuzzer targets (tests/fuzz); g++ builds everything else.
# clang-format and clang-tidy (with run-clang-tidy): the docs.format and docs.tidy checks.
test_pkgs=(libgtest-dev libgmock-dev procps python3 python3-prometheus-client ccache clang clang-format
           clang-tidy libclang-rt-14-dev)
# One -dev package per library in the NEEDED closure of libcurl4/libarchive13 that Debian ships
# as a .a. libkrb5-dev (GSSAPI) and libp11-kit-dev ship no archive: those stay shared.
portable_pkgs=(libnghttp2-dev libidn2-dev librtmp-dev libssh2-1-dev libpsl-dev libldap-dev
               libsasl2-dev libkrb5-dev libzstd-dev libbrotli-dev zlib1g-dev nettle-dev
               libacl1-dev liblzma-dev liblz4-dev libbz2-dev libxml2-dev libicu-dev
               libunistring-dev libgnutls28-dev libgmp-dev libtasn1-6-dev libp11-kit-dev)

release_pkgs=(dpkg-dev debootstrap)

case "$profile" in
  runtime)  pkgs=("${runtime_pkgs[@]}") ;;
  build)    pkgs=("${build_pkgs[@]}") ;;
  test)     pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  portable) pkgs=("${build_pkgs[@]}" "${portable_pkgs[@]}") ;;
  release)  pkgs=("${build_pkgs[@]}" "${portable_pkgs[@]}" "${release_pkgs[@]}") ;;
  *) echo "usage: $0 [--list] [build|test|runtime|portable|release]" >&2; exit 2 ;;
esac

if [ "$list_only" -eq 1 ]; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages for '$profile' already installed"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
