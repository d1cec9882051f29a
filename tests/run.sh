#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite: once in a normal build and once
# with AddressSanitizer + UndefinedBehaviorSanitizer. This is the README's test command and what
# .ci/run calls.
#
#   bash tests/run.sh            # both configurations
#   AGENTRT_SKIP_SANITIZERS=1 bash tests/run.sh   # normal build only (faster, for local loops)
set -euo pipefail
cd "$(dirname "$0")/.."

bash sandbox-images/install-deps.sh test
# The harness tests drive the real CLIs (claude, codex, gemini, opencode) installed from npm.
if command -v npm >/dev/null 2>&1; then
  bash tests/harness/install-clis.sh
else
  echo "WARNING: npm not found: the HarnessCli* tests will be skipped" >&2
fi

jobs="${AGENTRT_JOBS:-$(nproc)}"

# ccache makes the second and later runs on one machine cheap. CCACHE_BASEDIR turns absolute
# paths into relative ones in the hash, so a fresh clone elsewhere still hits the cache.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$PWD"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "=== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
echo "=== tests (RelWithDebInfo)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600

if [ -z "${AGENTRT_SKIP_SANITIZERS:-}" ]; then
  echo "=== build (Debug, ASan+UBSan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAGENTRT_SANITIZE=ON \
        -DAGENTRT_BUILD_SAMPLES=OFF "${launcher[@]}" >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "=== tests (Debug, ASan+UBSan)"
  # detect_leaks: the runtime and the tests must not leak; halt_on_error makes a report fatal.
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900
fi
