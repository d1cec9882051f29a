#!/usr/bin/env bash
# Manual conformance check against the published runtimeuse packages, both directions:
#
#   1. the runtimeuse Python client's own end-to-end suite (test/e2e/test_e2e.py) against the
#      agentrt binary, with tests/conformance/echo_handler.py as agentrt's --handler;
#   2. the agentrt C++ client and agentrt-client CLI against the runtimeuse TypeScript runtime
#      (tests/client/runtimeuse_conformance_test.cpp, started with runtimeuse's echo handler).
#
# Usage: tests/conformance/run-runtimeuse-check.sh RUNTIMEUSE_SRC [BUILD_DIR]
#
# RUNTIMEUSE_SRC is a checkout of github.com/getlark/runtimeuse (or a tree with the same layout):
#   packages/runtimeuse-client-python/{src/runtimeuse_client,test/e2e/{conftest.py,test_e2e.py,
#   echo_handler.js}} and packages/runtimeuse/{package.json,tsconfig.json,src}.
# Nothing of it is copied into this repository: the Python client runs from a scratch copy whose
# only change is the e2e fixture that starts the server (agentrt instead of `node cli.js`), and
# the TypeScript runtime is built in place (npm install + tsc) if its dist/cli.js is missing.
#
# Needs: python3 with pydantic 2, websockets, pytest, pytest-asyncio (on Debian 12:
# apt-get install python3-websockets python3-pytest python3-pytest-asyncio; they are found in
# /usr/lib/python3/dist-packages), node + npm, and a configured agentrt build dir.
# Exit status: 0 when both directions pass.
set -uo pipefail

src=${1:?usage: $0 RUNTIMEUSE_SRC [BUILD_DIR]}
src=$(cd "$src" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${2:-$repo/build}" && pwd) || exit 64
pyclient=$src/packages/runtimeuse-client-python
tsruntime=$src/packages/runtimeuse
for f in "$pyclient/src/runtimeuse_client/client.py" "$pyclient/test/e2e/test_e2e.py" \
         "$pyclient/test/e2e/conftest.py" "$pyclient/test/e2e/echo_handler.js" \
         "$tsruntime/package.json"; do
  [[ -f $f ]] || { echo "missing $f (is $src a runtimeuse checkout?)" >&2; exit 64; }
done

if [[ ! -x $build/runtime/agentrt || ! -x $build/client/agentrt-client ]] ||
   [[ ! -x $build/tests/client_tests ]]; then
  echo "== building agentrt, agentrt-client and client_tests in $build"
  cmake --build "$build" -j2 --target agentrt agentrt-client client_tests || exit 1
fi

# Python: Debian's packages are appended, never prepended, so a pip pydantic 2 wins.
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}/usr/lib/python3/dist-packages
python3 - <<'EOF' || exit 69
import pydantic, websockets, pytest, pytest_asyncio
assert pydantic.VERSION.startswith("2"), "pydantic 2 required, found " + pydantic.VERSION
print("python", __import__("sys").version.split()[0], "pydantic", pydantic.VERSION,
      "websockets", websockets.__version__, "pytest", pytest.__version__,
      "pytest-asyncio", pytest_asyncio.__version__)
EOF

status=0
work=$(mktemp -d /tmp/runtimeuse-check-XXXXXX)
echo "== 1. runtimeuse Python client e2e suite -> agentrt   (scratch copy: $work)"
cp -r "$pyclient" "$work/client"
python3 - "$work/client" <<'EOF' || exit 1
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
conftest = root / "test/e2e/conftest.py"
text = conftest.read_text()
start = text.index("@pytest.fixture\ndef ws_url(")
end = text.index("@pytest.fixture", start + 1)
fixture = '''@pytest.fixture
def ws_url():
    """agentrt conformance check: the agentrt binary with its echo handler instead of the
    runtimeuse node CLI. The only change made to the upstream suite."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.environ["AGENTRT_LOG"], "ab")
    proc = subprocess.Popen(
        [os.environ["AGENTRT_BIN"], "--host", "127.0.0.1", "--port", str(port),
         "--handler", os.environ["AGENTRT_HANDLER"], "--log-level", "debug"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not _port_is_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"agentrt did not start (exit {proc.poll()})")
        time.sleep(0.05)
    yield f"ws://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


'''
conftest.write_text(text[:start] + fixture + text[end:])
# Some upstream revisions of test_e2e.py still pass the deprecated artifacts_dir= to a client
# whose options only have artifacts_dirs; translate that one keyword so the suite can run.
types = (root / "src/runtimeuse_client/types.py").read_text()
test = root / "test/e2e/test_e2e.py"
if not re.search(r"^\s+artifacts_dir:", types, re.M) and "artifacts_dir=artifacts_dir" in test.read_text():
    test.write_text(test.read_text().replace("artifacts_dir=artifacts_dir,", "artifacts_dirs=[artifacts_dir],"))
    print("note: test_e2e.py artifacts_dir=X rewritten to artifacts_dirs=[X] for this client")
EOF
(
  cd "$work/client" &&
  AGENTRT_BIN=$build/runtime/agentrt AGENTRT_HANDLER=$repo/tests/conformance/echo_handler.py \
  AGENTRT_LOG=$work/agentrt.log \
    python3 -m pytest test/e2e -p no:cacheprovider -o log_cli=false -rA -q \
      --junitxml="$work/e2e.xml" 2>&1 | tee "$work/pytest.log" | grep -E "^(PASSED|FAILED|ERROR) test/|^[0-9]+ (passed|failed)|^=+ .*(passed|failed)"
  exit "${PIPESTATUS[0]}"
) || status=1
echo "   agentrt log: $work/agentrt.log   pytest log: $work/pytest.log"

# The client's own unit tests (fakes only, no runtime): shows the client tree itself is sound.
# An empty test/__init__.py makes `from test.conftest import ...` find this package rather
# than the standard library's `test` package.
if [[ -f $work/client/test/test_client.py ]]; then
  echo "== 1b. runtimeuse Python client unit tests (in-memory fakes; sanity of the client tree)"
  if python3 -c "import dotenv" 2>/dev/null; then
    touch "$work/client/test/__init__.py"
    (cd "$work/client" &&
       python3 -m pytest test/test_client.py -p no:cacheprovider -o log_cli=false -q \
         > "$work/unit.log" 2>&1
     rc=$?; echo "   $(tail -1 "$work/unit.log")   (log: $work/unit.log)"; exit $rc) || status=1
  else
    echo "   skipped: python-dotenv is not installed (apt-get install python3-dotenv)"
  fi
fi

echo "== 2. agentrt C++ client + agentrt-client -> runtimeuse TypeScript runtime"
if [[ ! -f $tsruntime/dist/cli.js ]]; then
  (cd "$tsruntime" && npm install --no-audit --no-fund && npx tsc -p .) || exit 1
fi
AGENTRT_RUNTIMEUSE_CLI=$tsruntime/dist/cli.js \
AGENTRT_RUNTIMEUSE_HANDLER=$pyclient/test/e2e/echo_handler.js \
  "$build/tests/client_tests" --gtest_filter='RuntimeuseConformance.*' 2>&1 |
  tee "$work/gtest.log" | grep -E "^\[ +(OK|FAILED|SKIPPED|PASSED) +\]|figures" || true
grep -q "^\[  FAILED  \]" "$work/gtest.log" && status=1
grep -q "^\[  PASSED  \]" "$work/gtest.log" || status=1
echo "   gtest log: $work/gtest.log"
exit "$status"
