#!/usr/bin/env bash
# The README's first command: install dependencies, build, start the runtime on loopback, drive
# it with the commands sample (no network, no API key needed), and stop it again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash sandbox-images/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTRT_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target agentrt commands_sample

port="${AGENTRT_PORT:-18080}"
./build/runtime/agentrt --host 127.0.0.1 --port "$port" &
runtime_pid=$!
trap 'kill "$runtime_pid" 2>/dev/null; wait "$runtime_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

./build/samples/commands_sample "ws://127.0.0.1:$port/" "$@"
