#!/usr/bin/env bash
# Usage: keepalive.sh URL SERVER_PID SECONDS [SLOT [LOG]]
# Summary: send a tiny request every SECONDS while SERVER_PID lives (started by gpt-oss-fast.sh).
#
# The guide's cure for paging spikes: a model that is touched every second stays
# resident. The loop ends by itself when the server process is gone. Its requests go to
# one slot (SLOT, gpt-oss-fast.sh gives the last one): a request lands on a slot and
# replaces the prompt cached there, so a keepalive wandering over the slots would evict
# a tool loop's conversation between two turns (the server sends the next turn to the
# slot holding its longest prefix), and being the most recently used, this slot is the
# one the server picks last for anyone else.
#
# A server kept for days writes its log for days: every few seconds the loop checks the
# server's LOG and, past GPT_OSS_LOG_MAX_MB (10), keeps it as LOG.1 (replacing the older
# one) and empties LOG. The server appends to it (O_APPEND), so it goes on writing at the
# new end; lines written during the copy are lost.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

url=$1 server=$2 every=$3 slot=${4:-} log=${5:-}
max_bytes=$((${GPT_OSS_LOG_MAX_MB:-10} * 1024 * 1024))
body='{"prompt":"ok","n_predict":1,"cache_prompt":true'${slot:+,\"id_slot\":$slot}'}'
since=5 # seconds since the log's size was checked: check at once
while kill -0 "$server" 2>/dev/null; do
  curl_json --max-time 30 -o /dev/null --data-binary "$body" "$url/completion" || true
  # About every 5 s whatever the period: one `wc` then, not a fork per ping.
  if [[ -n "$log" ]] && (((since += every) >= 5)); then
    since=0
    size=$(wc -c <"$log" 2>/dev/null) || size=0
    if ((size > max_bytes)); then
      cp -f "$log" "$log.1" && : >"$log"
    fi
  fi
  sleep "$every"
done
