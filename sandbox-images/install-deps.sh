#!/usr/bin/env bash
# The one place that installs agentrt's build and test dependencies (Debian 12).
# Called by the README, .ci/run and the Dockerfiles so the three never drift apart.
#
# Usage: install-deps.sh [build|test|runtime]
#   build   - compiler, CMake and the -dev packages the libraries compile against (default)
#   test    - build + GoogleTest and the tools the test suite drives
#   runtime - only the shared libraries the agentrt binary links at run time
set -euo pipefail

profile="${1:-build}"

runtime_pkgs=(libcurl4 libarchive13 ca-certificates)
build_pkgs=(g++ cmake make pkg-config
            libwebsocketpp-dev libasio-dev rapidjson-dev
            libcurl4-openssl-dev libarchive-dev libssl-dev)
test_pkgs=(libgtest-dev libgmock-dev procps python3 ccache)

case "$profile" in
  runtime) pkgs=("${runtime_pkgs[@]}") ;;
  build)   pkgs=("${build_pkgs[@]}") ;;
  test)    pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|runtime]" >&2; exit 2 ;;
esac

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
