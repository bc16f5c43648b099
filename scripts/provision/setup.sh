#!/usr/bin/env bash
# Usage: scripts/provision/setup.sh [--plan]
# Summary: what `make setup` runs: the dev tools, the real servers and the test models.
#
# Before anything is built it says what it will build, about how long each build
# takes on this machine's cores, and the total (a fresh machine only: everything is
# cached under ${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/ after the first run).
# A step that fails shows its tool's own error lines and a hint at the cause; the
# other steps still run with what is cached, and the last lines say what is
# unavailable and what that stops (exit 1).
# --plan  build nothing: print the budget only.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=scripts/lib/provision.sh
source "$here/../lib/provision.sh"
PROVISION_PREFIX=setup
say() { provision_say "$@"; }

provision_plan_option "$0" "$@"
plan_only=$PROVISION_PLAN

# The builds still to do, each once (openai-server.sh names the shared Aug-2025 build too).
announce_budget() {
  local -a plan=()
  local line total=0 cores
  mapfile -t plan < <({
    "$here/llama-server.sh" --cached --plan
    "$here/llama-server.sh" --aug2025 --plan
    "$here/openai-server.sh" --plan
  } 2>/dev/null | awk -F '\t' 'NF == 2 && !seen[$0]++')
  if ((${#plan[@]} == 0)); then
    say "nothing to build: llama-server (both), its RPC worker and llama_cpp.server are cached"
    return 0
  fi
  cores=$(provision_cores)
  for line in "${plan[@]}"; do
    say "to build: ${line#*$'\t'}: ~$(provision_minutes "${line%%$'\t'*}") min"
    total=$((total + ${line%%$'\t'*}))
  done
  say "build total: ~$(provision_minutes "$total") min on $cores cores (first run only, then cached)"
}

unavailable=()
# step WHAT-IS-LOST CMD... → runs a step; when it fails, records what is unavailable.
step() {
  local lost=$1
  shift
  "$@" >/dev/null || unavailable+=("$lost")
}

announce_budget
[[ -z "$plan_only" ]] || exit 0
step ".venv or .deps (above): lint and tests" "$here/dev-env.sh"
step "the Nov-2026 llama-server + ggml-rpc-server: real-server tests, make bench, make demo" \
  "$here/llama-server.sh" --cached
step "the Aug-2025 llama-server: the old-dialect tests" "$here/llama-server.sh" --aug2025
step "llama_cpp.server: the tests against an OpenAI-compatible server" "$here/openai-server.sh"
step "the test models (SmolLM2, tiny gpt-oss): every real-server test" "$here/models.sh" all
((${#unavailable[@]} == 0)) && exit 0
for lost in "${unavailable[@]}"; do
  say "unavailable: $lost"
done
say "everything else is ready; fix the cause above and run make setup again (finished builds stay cached)"
exit 1
