#!/usr/bin/env bash
# Installs the harness CLIs that the HarnessCli* tests drive (about 1.5 GB for all four) into a
# cache directory outside the repository. The tests look for them in
# ${AGENTRT_HARNESS_CLIS:-$HOME/.cache/agentrt-harness-clis}/node_modules/.bin and skip a CLI that
# is missing. Usage: install-clis.sh [claude|codex|gemini|opencode ...]  (default: all four)
set -euo pipefail

prefix="${AGENTRT_HARNESS_CLIS:-$HOME/.cache/agentrt-harness-clis}"
declare -A packages=(
  [claude]="@anthropic-ai/claude-code@2.1.197"
  [codex]="@openai/codex@0.169.0"
  [gemini]="@google/gemini-cli@0.61.0"
  [opencode]="opencode-ai@1.18.33"
)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(claude codex gemini opencode)

mkdir -p "$prefix"
for name in "${wanted[@]}"; do
  pkg="${packages[$name]:-}"
  if [ -z "$pkg" ]; then
    echo "unknown CLI: $name (known: ${!packages[*]})" >&2
    exit 2
  fi
  echo "installing $pkg into $prefix" >&2
  npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" "$pkg"
done
ls -l "$prefix/node_modules/.bin"
