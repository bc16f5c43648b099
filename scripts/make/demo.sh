#!/usr/bin/env bash
# Usage: scripts/make/demo.sh
# Summary: `make demo` — the 30-second tour on the bundled SmolLM2 model.
#
# Starts the suite's server (gpt-oss-fast.sh) on the small real model that
# `make setup` unpacked, asks it a question, shows status and a short bench, and
# stops everything it started, even when a step fails. Its state lives in a
# temporary directory so a server you already run is never touched.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"

export GPT_OSS_GGUF_MODEL_PATH
GPT_OSS_GGUF_MODEL_PATH=$("$root/scripts/provision/models.sh" smollm2)
XDG_STATE_HOME=$(mktemp -d)
export XDG_STATE_HOME
trap '"$root/scripts/gpt-oss-fast.sh" stop --all 2>/dev/null; rm -rf "$XDG_STATE_HOME"' EXIT

# Port 8000 as the guide says, unless something else already holds it.
port=${GPT_OSS_PORT:-8000}
while (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
export GPT_OSS_PORT=$port GPT_OSS_URL="http://127.0.0.1:$port"

run() { # run CMD... → show the command, then run it
  printf '\n$ %s\n' "$*" >&2
  "$@"
}
cd "$root"
run scripts/gpt-oss-fast.sh
run scripts/gpt-oss-query.sh -n 24 "The capital of France is"
run scripts/gpt-oss-status.sh
run scripts/gpt-oss-bench.sh 10
run scripts/gpt-oss-fast.sh stop
