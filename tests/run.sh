#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test pass. This is the README's test command and
# what .ci/run calls. The passes, in order:
#   1. RelWithDebInfo build with the portable binaries too (-DAGENTRT_PORTABLE=ON: agentrt-portable
#      and agentrt-client-portable are linked from the same objects), the whole CTest suite (the
#      images checks run the portable binaries in a chroot; `package` builds programs against the
#      installed client library; `release` packs this tree with packaging/release.sh, runs the
#      tarball's binaries in a bare chroot and installs the .debs into a debootstrap Debian 12
#      root, cached in ~/.cache/agentrt-release and made while the build compiles if missing;
#      bench runs --quick: figures, no pass/fail)
#   2. Debug build with AddressSanitizer + UndefinedBehaviorSanitizer, the whole suite but the
#      real-CLI harness tests
#   3. ThreadSanitizer: the runtime's session/process tests and the client's session tests
#   4. libFuzzer: every target for AGENTRT_FUZZ_SECONDS (default 30) from its committed corpus,
#      with a fixed seed (AGENTRT_FUZZ_SEED, default 1): the same tree gives the same verdict,
#      so a red fuzz pass is the change's and replays. Exploring (new seeds, longer runs) is
#      tests/fuzz/run-fuzzers.sh on its own; what it finds becomes a regression test first.
#
#   bash tests/run.sh                              # everything
#   AGENTRT_SKIP_SANITIZERS=1 bash tests/run.sh    # pass 1 only (local loops)
#   AGENTRT_SKIP_PORTABLE=1                        # no portable binaries (no static archives
#                                                  # needed) and so no release check
#   AGENTRT_SKIP_TSAN=1 / AGENTRT_SKIP_FUZZ=1      # skip one pass
#   AGENTRT_RELEASE_FULL=1                         # also `debian-toolchain`: programs built
#                                                  # against the installed libagentrt-client-dev
#                                                  # in the Debian 12 root (~2 more minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

phase_start=$(date +%s)
timings=()
phase_done() {
  local now
  now=$(date +%s)
  timings+=("$(printf '%-34s %5d s' "$1" $((now - phase_start)))")
  phase_start=$now
}
trap 'printf "\n=== run.sh timings\n"; printf "%s\n" "${timings[@]}"' EXIT

bash sandbox-images/install-deps.sh test
if [ -z "${AGENTRT_SKIP_PORTABLE:-}" ]; then
  # portable + dpkg-dev and debootstrap for the release check
  bash sandbox-images/install-deps.sh release
fi
# The harness tests drive the real CLIs (claude, codex, gemini, opencode) installed from npm.
if command -v npm >/dev/null 2>&1; then
  bash tests/harness/install-clis.sh
else
  echo "WARNING: npm not found: the HarnessCli* tests will be skipped" >&2
fi
phase_done "dependencies and CLIs"

jobs="${AGENTRT_JOBS:-$(nproc)}"
export AGENTRT_JOBS="$jobs"

# shellcheck source=tests/ccache-launcher.sh
source tests/ccache-launcher.sh

# Line tables only (-g1): sanitizer reports and backtraces still name functions, files and
# lines, and compiling the template-heavy Asio/websocketpp code takes about a third less time
# than with full debug info (-g), which CI's budget needs.
export AGENTRT_DEBUG_INFO_FLAGS="-g1"

portable=(-DAGENTRT_PORTABLE=ON)
[ -n "${AGENTRT_SKIP_PORTABLE:-}" ] && portable=(-DAGENTRT_PORTABLE=OFF)

# The release check's Debian 12 root (debootstrap, minutes of downloading and unpacking) is made
# once and cached; a machine without it makes it now, alongside the compiler, not in the tests.
prepare_root_pid=""
if [ -z "${AGENTRT_SKIP_PORTABLE:-}" ]; then
  mkdir -p build
  python3 tests/package/check_release.py --prepare-root >build/prepare-root.log 2>&1 &
  prepare_root_pid=$!
fi

echo "=== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $AGENTRT_DEBUG_INFO_FLAGS -DNDEBUG" \
      "${portable[@]}" "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
phase_done "build (RelWithDebInfo)"
if [ -n "$prepare_root_pid" ]; then
  wait "$prepare_root_pid" || { cat build/prepare-root.log; exit 1; }
  cat build/prepare-root.log
  phase_done "waiting for the Debian 12 root"
fi
echo "=== tests (RelWithDebInfo)"
skip_labels=()
[ -z "${AGENTRT_RELEASE_FULL:-}" ] && skip_labels=(-LE debian-toolchain)
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600 "${skip_labels[@]}"
phase_done "tests (RelWithDebInfo)"

if [ -z "${AGENTRT_SKIP_SANITIZERS:-}" ]; then
  echo "=== build (Debug, ASan+UBSan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAGENTRT_SANITIZE=ON \
        -DCMAKE_CXX_FLAGS_DEBUG="$AGENTRT_DEBUG_INFO_FLAGS" \
        -DAGENTRT_BUILD_SAMPLES=OFF "${launcher[@]}" >/dev/null
  cmake --build build-asan -j"$jobs"
  phase_done "build (ASan+UBSan)"
  echo "=== tests (Debug, ASan+UBSan)"
  # detect_leaks: the runtime and the tests must not leak; halt_on_error makes a report fatal.
  # -LE harness: the real-CLI tests (a third of this pass's test time, mostly node starting
  # up) ran in pass 1; what they exercise of ours under ASan, the adapters' parsers and the
  # process code, the runtime suite's replay and stand-in-script tests and the fuzzers cover.
  # debian-toolchain: release artifacts come from a normal build (it would only skip).
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900 -LE "harness|debian-toolchain"
  phase_done "tests (ASan+UBSan)"

  if [ -z "${AGENTRT_SKIP_TSAN:-}" ]; then
    bash tests/tsan/run-tsan.sh
    phase_done "ThreadSanitizer (build and tests)"
  fi
  if [ -z "${AGENTRT_SKIP_FUZZ:-}" ]; then
    AGENTRT_FUZZ_SEED="${AGENTRT_FUZZ_SEED:-1}" bash tests/fuzz/run-fuzzers.sh "${AGENTRT_FUZZ_SECONDS:-30}"
    phase_done "fuzzers (build and runs)"
  fi
fi
