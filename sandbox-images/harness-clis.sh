#!/usr/bin/env bash
# The harness CLIs agentrt can drive, pinned in one place: the images install them from here, and
# tests/harness/install-clis.sh installs the same versions for the test suite.
#
# Usage: harness-clis.sh list                     print "NAME PACKAGE@VERSION" lines
#        harness-clis.sh install PREFIX [NAME...]  npm install into PREFIX (default: all four);
#                                                  the commands land in PREFIX/node_modules/.bin
# NAME is claude, codex, gemini or opencode. gemini needs Node.js 20 or later.
set -euo pipefail

declare -A packages=(
  [claude]="@anthropic-ai/claude-code@2.1.197"
  [codex]="@openai/codex@0.169.0"
  [gemini]="@google/gemini-cli@0.61.0"
  [opencode]="opencode-ai@1.18.33"
)
order=(claude codex gemini opencode)

usage() {
  echo "usage: $0 list | install PREFIX [claude|codex|gemini|opencode ...]" >&2
  exit 2
}

case "${1:-}" in
  list)
    for name in "${order[@]}"; do echo "$name ${packages[$name]}"; done
    ;;
  install)
    [ $# -ge 2 ] || usage
    prefix="$2"
    shift 2
    wanted=("$@")
    [ ${#wanted[@]} -gt 0 ] || wanted=("${order[@]}")
    # Check every name before installing anything.
    for name in "${wanted[@]}"; do
      if [ -z "${packages[$name]:-}" ]; then
        echo "unknown CLI: $name (known: ${order[*]})" >&2
        exit 2
      fi
    done
    mkdir -p "$prefix"
    for name in "${wanted[@]}"; do
      echo "installing ${packages[$name]} into $prefix" >&2
      npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" "${packages[$name]}"
    done
    ;;
  *) usage ;;
esac
