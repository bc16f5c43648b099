#!/usr/bin/env bash
# Usage: keepalive.sh URL SERVER_PID SECONDS
# Summary: send a tiny request every SECONDS while SERVER_PID lives (started by gpt-oss-fast.sh).
#
# The guide's cure for paging spikes: a model that is touched every second stays
# resident. The loop ends by itself when the server process is gone.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

url=$1 server=$2 every=$3
body='{"prompt":"ok","n_predict":1,"cache_prompt":true}'
while kill -0 "$server" 2>/dev/null; do
  curl_json --max-time 30 -o /dev/null --data-binary "$body" "$url/completion" || true
  sleep "$every"
done
