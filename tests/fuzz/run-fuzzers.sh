#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build dir build-fuzz) and runs each for a
# bounded time from a scratch copy of its committed seed corpus (tests/fuzz/corpus/<name>), two
# at a time. Fails when any target finds a crash, a sanitizer report, a leak, a timeout or a
# broken invariant; the reproducer is kept in build-fuzz/findings/<name>/.
#
#   bash tests/fuzz/run-fuzzers.sh [seconds-per-target]     # default 60
#   AGENTRT_FUZZ_TARGETS="protocol_decode ignore_rules" bash tests/fuzz/run-fuzzers.sh 30
#   AGENTRT_FUZZ_PARALLEL=1   run one target at a time (default: nproc, at most 2)
#   AGENTRT_FUZZ_SEED=N       libFuzzer's -seed (default: a new random seed each run, which
#                             explores; tests/run.sh fixes it so a CI verdict is reproducible)
#
# Reproduce a finding: build-fuzz/tests/fuzz/fuzz_<name> build-fuzz/findings/<name>/crash-...
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"

seconds="${1:-60}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;;
esac
all_targets=(protocol_decode ignore_rules harness_parsers archive_extract)
read -r -a targets <<<"${AGENTRT_FUZZ_TARGETS:-${all_targets[*]}}"
parallel="${AGENTRT_FUZZ_PARALLEL:-$(nproc)}"
[ "$parallel" -gt 2 ] && parallel=2
[ "$parallel" -lt 1 ] && parallel=1
build="$repo/build-fuzz"

if ! command -v clang++ >/dev/null 2>&1; then
  echo "run-fuzzers: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

# shellcheck source=tests/ccache-launcher.sh
source tests/ccache-launcher.sh

start=$(date +%s)
echo "=== fuzz: build (clang, libFuzzer + ASan + UBSan)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DAGENTRT_FUZZ=ON \
      -DCMAKE_CXX_FLAGS_DEBUG="${AGENTRT_DEBUG_INFO_FLAGS:--g}" \
      -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_SAMPLES=OFF "${launcher[@]}" >/dev/null
build_targets=()
for name in "${targets[@]}"; do build_targets+=("fuzz_$name"); done
cmake --build "$build" -j"${AGENTRT_JOBS:-$(nproc)}" --target "${build_targets[@]}"
built=$(date +%s)

scratch="$(mktemp -d "${TMPDIR:-/tmp}/agentrt-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
rm -rf "$build/findings"

# halt_on_error/abort_on_error: every report is fatal and leaves a crash-* reproducer;
# detect_leaks: a leak in a parser is a bug too.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"

run_one() {
  local name="$1" dir="$scratch/$1"
  mkdir -p "$dir/tmp" "$dir/findings"
  cp -r "$repo/tests/fuzz/corpus/$name" "$dir/corpus"
  # -timeout: one input taking 10 s is a finding (e.g. exponential pattern matching).
  # -rss_limit_mb: well above what a target needs, below what would hurt the machine.
  # -dict: the format's tokens (field names, awkward numbers), which mutation alone finds late.
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$dir/findings/")
  [ -n "${AGENTRT_FUZZ_SEED:-}" ] && args+=(-seed="$AGENTRT_FUZZ_SEED")
  [ -f "$repo/tests/fuzz/dict/$name.dict" ] && args+=(-dict="$repo/tests/fuzz/dict/$name.dict")
  (cd "$dir" && AGENTRT_FUZZ_SCRATCH="$dir/tmp" "$build/tests/fuzz/fuzz_$name" "${args[@]}" \
      corpus) >"$dir/log" 2>&1
}

declare -A status=()
declare -A pid_of=()
running=0
for name in "${targets[@]}"; do
  if [ ! -d "tests/fuzz/corpus/$name" ]; then
    echo "run-fuzzers: unknown target '$name' (no tests/fuzz/corpus/$name)" >&2
    exit 2
  fi
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "=== fuzz: $name for ${seconds} s"
  run_one "$name" &
  pid_of[$name]=$!
  running=$((running + 1))
done
for name in "${targets[@]}"; do
  if wait "${pid_of[$name]}"; then status[$name]=ok; else status[$name]=FAILED; fi
done

failed=0
printf '\n%-18s %-7s %12s %9s %10s %8s\n' target status executions exec/s new_units rss_mb
for name in "${targets[@]}"; do
  log="$scratch/$name/log"
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  printf '%-18s %-7s %12s %9s %10s %8s\n' "$name" "${status[$name]}" \
    "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
    "$(stat new_units_added)" "$(stat peak_rss_mb)"
  if [ "${status[$name]}" != ok ]; then
    failed=1
    mkdir -p "$build/findings/$name"
    cp "$scratch/$name/findings/"* "$build/findings/$name/" 2>/dev/null || true
    cp "$log" "$build/findings/$name/log"
  fi
done
for name in "${targets[@]}"; do
  [ "${status[$name]}" = ok ] && continue
  echo
  echo "=== fuzz: $name FAILED; the end of its log:"
  tail -n 60 "$scratch/$name/log"
  echo "reproducers in $build/findings/$name/:"
  ls "$build/findings/$name/"
  echo "reproduce: $build/tests/fuzz/fuzz_$name $build/findings/$name/<file>"
done
[ -n "${AGENTRT_FUZZ_SEED:-}" ] && echo "fuzz: seed $AGENTRT_FUZZ_SEED (AGENTRT_FUZZ_SEED)"
echo "fuzz: build $((built - start)) s, fuzzing $(( $(date +%s) - built )) s"
exit "$failed"
