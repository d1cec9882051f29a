# Sourced by the scripts that configure a build (tests/run.sh, tests/tsan/run-tsan.sh,
# tests/fuzz/run-fuzzers.sh) from the repository root: sets `launcher` to the CMake arguments
# that compile through ccache when it is installed (empty otherwise). ccache makes the second
# and later runs on one machine cheap; CCACHE_BASEDIR turns absolute paths into relative ones
# in the hash, so a fresh clone elsewhere still hits the cache. CCACHE_NOHASHDIR: with -g the
# compiler's working directory is hashed too, so without it two checkouts never share a hit.
# shellcheck shell=bash
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$PWD"
  export CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
