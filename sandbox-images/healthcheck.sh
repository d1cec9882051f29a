#!/usr/bin/env bash
# Exits 0 when the agentrt on 127.0.0.1:${1:-8080} answers GET /health with {"status":"ok",...}.
# Needs only bash and coreutils' timeout (no curl in the slim images): the Docker HEALTHCHECK,
# the E2B ready command and the Modal example's probe inside the sandbox all use it.
set -uo pipefail

port="${1:-${AGENTRT_PORT:-8080}}"
timeout 3 bash -c '
  exec 3<>"/dev/tcp/127.0.0.1/$0" 2>/dev/null || exit 1
  printf "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
  response=$(cat <&3)
  case "$response" in
    "HTTP/1.1 200"*"\"status\":\"ok\""*) exit 0 ;;
    *) exit 1 ;;
  esac
' "$port"
