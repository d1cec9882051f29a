#!/usr/bin/env bash
# Builds agentrt, unit_tests, runtime_tests and client_tests with ThreadSanitizer (build dir build-tsan,
# -DAGENTRT_SANITIZE=thread) and runs the tests that exercise the runtime's threads: sessions,
# command execution, child processes, the reaper and process scopes, the files API (its
# workers), and the client's session and concurrency tests. The agentrt processes those tests
# start are instrumented too; every process writes its reports to one log directory, and any
# report fails the run (so does a failing test).
#
#   bash tests/tsan/run-tsan.sh
#   AGENTRT_TSAN_FILTER='Session\.' bash tests/tsan/run-tsan.sh     # a CTest -R regex instead
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
build="$repo/build-tsan"
jobs="${AGENTRT_JOBS:-$(nproc)}"

# The runtime's threads: the WebSocket loop, the transfer/extraction worker pool, the reaper.
# The client's: its io_loop thread against callers waiting on futures.
default_filter='^(Session|CommandExecution|ChildProcess|ProcessReaper|ProcessScope)\.'
default_filter+='|^(FilesApi|FilesApiHostile|FilesApiRoot)\.'
default_filter+='|^(ClientSession|ClientAsync|ClientConcurrency)\.'
filter="${AGENTRT_TSAN_FILTER:-$default_filter}"
# Left out: tests whose assertion is a memory figure that ThreadSanitizer distorts (its shadow
# memory grows the RSS the test requires to stay flat; the files API's 1 GiB round trip is one),
# and the 256 MiB stream, which takes four minutes under TSan and runs no thread code the 1 MiB
# streams do not. They run in the other passes.
exclude='^(CommandExecution\.SlowClientStallsTheChildInsteadOfGrowingMemory'
exclude+='|CommandExecution\.Stream256MiBArrivesByteExact'
exclude+='|FilesApi\.OneGibUpAndDownByteExactWithFlatRss)$'
# Run on its own: 1,000 sessions against one instrumented runtime saturate both cores; next to
# other tests, on a loaded machine, a few dozen sessions were closed before their request was
# read (no ThreadSanitizer report; see the issue's fault/load tests).
alone='^ClientConcurrency\.|^ChildProcess\.StreamedStdinOf100MiB'

# shellcheck source=tests/ccache-launcher.sh
source tests/ccache-launcher.sh

start=$(date +%s)
echo "=== tsan: build (Debug, ThreadSanitizer)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DAGENTRT_SANITIZE=thread \
      -DCMAKE_CXX_FLAGS_DEBUG="${AGENTRT_DEBUG_INFO_FLAGS:--g}" \
      -DAGENTRT_BUILD_SAMPLES=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs" --target agentrt unit_tests runtime_tests client_tests
built=$(date +%s)

logs="$(mktemp -d "${TMPDIR:-/tmp}/agentrt-tsan.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
# log_path: reports of the test binaries and of every agentrt they start land in
# $logs/report.<pid>; they are printed below and fail the run. halt_on_error=0 lets a test
# finish so that one run shows every race. second_deadlock_stack: both stacks of a
# lock-order inversion.
export TSAN_OPTIONS="log_path=$logs/report:halt_on_error=0:second_deadlock_stack=1:\
suppressions=$repo/tests/tsan/suppressions.txt:print_suppressions=0"

echo "=== tsan: tests matching $filter"
rc=0
ctest --test-dir "$build" -R "$filter" -E "$exclude|$alone" --output-on-failure -j"$jobs" \
      --timeout 900 || rc=$?
if [ -z "${AGENTRT_TSAN_FILTER:-}" ]; then
  ctest --test-dir "$build" -R "$alone" --output-on-failure --timeout 900 || rc=$?
fi

reports=("$logs"/report.*)
if [ -e "${reports[0]}" ]; then
  echo
  echo "=== tsan: ${#reports[@]} process(es) reported data races or other thread errors:"
  for r in "${reports[@]}"; do
    echo "--- $(basename "$r")"
    cat "$r"
  done
  rc=1
else
  echo "=== tsan: no ThreadSanitizer reports"
fi
echo "tsan: build $((built - start)) s, tests $(( $(date +%s) - built )) s"
exit "$rc"
