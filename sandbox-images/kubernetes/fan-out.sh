#!/usr/bin/env bash
# Fan-out on Kubernetes: starts N pods, each running agentrt (fan-out-job.yaml, an Indexed Job),
# waits until every pod is ready (its readiness probe: GET /health), forwards a local port to
# each, runs the same commands on all of them at once with the fan_out sample, prints its table,
# and deletes the Job (each agentrt drains on SIGTERM). Exits with fan_out's status.
#
#   kubectl create secret generic agentrt-token --from-literal=token="$(openssl rand -hex 32)"
#   sandbox-images/kubernetes/fan-out.sh -n 8 -- 'uname -a' 'nproc'
#
# Environment: AGENTRT_IMAGE (default: the image in kustomization.yaml), AGENTRT_FAN_OUT (the
# fan_out binary; default: fan_out on PATH, else build/samples/fan_out), KUBECTL (default
# kubectl; the current context and namespace are used), FAN_OUT_BASE_PORT (default 18080: the
# local ports are BASE .. BASE+N-1), FAN_OUT_READY_TIMEOUT (seconds, default 300).
set -euo pipefail

die() {
  echo "fan-out: $*" >&2
  exit 1
}

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
kubectl="${KUBECTL:-kubectl}"
job=agentrt-fanout
count=4

usage() {
  echo "usage: $0 [-n N] -- COMMAND..." >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    -n) [ $# -ge 2 ] || usage; count="$2"; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage
[[ "$count" =~ ^[1-9][0-9]*$ ]] || usage

fan_out="${AGENTRT_FAN_OUT:-$(command -v fan_out || echo "$repo/build/samples/fan_out")}"
[ -x "$fan_out" ] || die "no fan_out binary at $fan_out (set AGENTRT_FAN_OUT)"
image="${AGENTRT_IMAGE:-$(awk '/newName:/ {n=$2} /newTag:/ {gsub(/"/, "", $2); t=$2}
                              END {print n ":" t}' "$here/kustomization.yaml")}"
base_port="${FAN_OUT_BASE_PORT:-18080}"
ready_timeout="${FAN_OUT_READY_TIMEOUT:-300}"

forwards=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  for pid in "${forwards[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$kubectl" delete job "$job" --ignore-not-found --wait=false >/dev/null || true
  "$kubectl" delete service "$job" --ignore-not-found --wait=false >/dev/null || true
}
trap cleanup EXIT

# N workers: completions and parallelism are the pod count; the image is the one to run.
sed -e "s|^  completions: .*|  completions: $count|" \
    -e "s|^  parallelism: .*|  parallelism: $count|" \
    -e "s|^\(          image:\) .*|\1 $image|" \
    "$here/fan-out-job.yaml" | "$kubectl" apply -f - >/dev/null

# Every pod exists and passes its readiness probe.
deadline=$((SECONDS + ready_timeout))
pods=()
while :; do
  mapfile -t pods < <("$kubectl" get pods -l "job-name=$job" \
    -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
  [ "${#pods[@]}" -ge "$count" ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "only ${#pods[@]} of $count pods after ${ready_timeout}s"
  sleep 1
done
"$kubectl" wait --for=condition=Ready pod -l "job-name=$job" \
  --timeout="$((deadline - SECONDS > 0 ? deadline - SECONDS : 1))s" >/dev/null

token="$("$kubectl" get secret agentrt-token -o jsonpath='{.data.token}' | base64 -d)"

urls=()
for i in "${!pods[@]}"; do
  port=$((base_port + i))
  "$kubectl" port-forward "pod/${pods[$i]}" "$port:8080" >/dev/null &
  forwards+=($!)
  urls+=("ws://127.0.0.1:$port/")
done
# A forward is up when /health answers through it.
for i in "${!pods[@]}"; do
  until bash "$repo/sandbox-images/healthcheck.sh" $((base_port + i)) 2>/dev/null; do
    kill -0 "${forwards[$i]}" 2>/dev/null || die "the port-forward to ${pods[$i]} ended"
    [ "$SECONDS" -lt "$deadline" ] || die "${pods[$i]} not reachable"
    sleep 0.2
  done
done

status=0
"$fan_out" --token "$token" "${urls[@]}" -- "$@" || status=$?
exit "$status"
