#!/usr/bin/env bash
# Usage: keepalive.sh URL SERVER_PID SECONDS [SLOT]
# Summary: send a tiny request every SECONDS while SERVER_PID lives (started by gpt-oss-fast.sh).
#
# The guide's cure for paging spikes: a model that is touched every second stays
# resident. The loop ends by itself when the server process is gone. Its requests go to
# one slot (SLOT, gpt-oss-fast.sh gives the last one): a request lands on a slot and
# replaces the prompt cached there, so a keepalive wandering over the slots would evict
# a tool loop's conversation between two turns (the server sends the next turn to the
# slot holding its longest prefix), and being the most recently used, this slot is the
# one the server picks last for anyone else.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

url=$1 server=$2 every=$3 slot=${4:-}
body='{"prompt":"ok","n_predict":1,"cache_prompt":true'${slot:+,\"id_slot\":$slot}'}'
while kill -0 "$server" 2>/dev/null; do
  curl_json --max-time 30 -o /dev/null --data-binary "$body" "$url/completion" || true
  sleep "$every"
done
