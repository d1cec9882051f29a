#!/usr/bin/env bash
# Installs the harness CLIs that the HarnessCli* tests drive (about 1.5 GB for all four) into a
# cache directory outside the repository. The tests look for them in
# ${AGENTRT_HARNESS_CLIS:-$HOME/.cache/agentrt-harness-clis}/node_modules/.bin and skip a CLI that
# is missing. Usage: install-clis.sh [claude|codex|gemini|opencode ...]  (default: all four)
# The versions are pinned in sandbox-images/harness-clis.sh, which the images use too.
set -euo pipefail

prefix="${AGENTRT_HARNESS_CLIS:-$HOME/.cache/agentrt-harness-clis}"
bash "$(dirname "$0")/../../sandbox-images/harness-clis.sh" install "$prefix" "$@"
ls -l "$prefix/node_modules/.bin"
