# shellcheck shell=bash
# shellcheck disable=SC2034 # the SM_* results are read by the scripts that source this
# Measuring one llama-server setting as a user meets it: start it, time it to its first
# answer, run a workload with gpt-oss-bench.sh (the suite's own bench and statistics),
# read its memory, stop it. Used by make bench (context and layout sections) and by
# gpt-oss-tune.sh, so both measure the same way. Needs common.sh and lifecycle.sh.
#
#   sm_start STATE PORT [VAR=value...] → starts a server with gpt-oss-fast.sh (so the
#       suite's own flags, dialect handling and context choice apply), the knobs given as
#       environment assignments, its state under STATE (one per server: several may run
#       at once), no warm-up and no keepalive; returns after a first 1-token answer.
#       Sets SM_PID, SM_URL, SM_ARGV (the command line it started),
#       SM_START_MS (launch to first answer). Status 1 with SM_ERROR when it fails.
#   sm_stop STATE → stops that server.
#   sm_rss_mib PID → resident memory of the process, MiB with one decimal.
#   sm_kv_mib LOG → the KV cache memory the server reported in its log (MiB; the sum of
#       every "llama_kv_cache: size = N MiB" / "KV self size = N MiB" line), or n/a.
#   sm_bench URL RUNS MAX_TOKENS PROMPT [CONCURRENCY] → gpt-oss-bench.sh --json output.
#   sm_field JSON KEY... → one number from that JSON (nested keys), or n/a.
#   sm_free_port → a loopback port nothing listens on (a fresh one per server: the
#       Aug-2025 server cannot bind a port left in TIME_WAIT).

SM_PID="" SM_URL="" SM_ARGV="" SM_START_MS=0 SM_ERROR=""

sm_start() {
  local state=$1 port=$2 t0 t1 out
  shift 2
  t0=${EPOCHREALTIME/[.,]/}
  # The built-in defaults unless asked (SM_USE_TUNED=1): a tuned config must not move
  # the baseline the tuner and make bench compare with.
  local -a tuned=(--no-tuned)
  [[ "${SM_USE_TUNED:-0}" == 1 ]] && tuned=()
  if ! out=$(env XDG_STATE_HOME="$state" GPT_OSS_KEEPALIVE_SECS=0 "$@" \
    "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --port "$port" --no-warmup --json "${tuned[@]}" 2>"$state.err"); then
    SM_ERROR="gpt-oss-fast.sh failed: $(tail -n 2 "$state.err" | tr '\n' ' ')"
    return 1
  fi
  SM_URL="http://127.0.0.1:$port"
  SM_PID=$(sm_field "$out" pid)
  SM_ARGV=$(python3 -c 'import json, shlex, sys; print(shlex.join(json.loads(sys.argv[1])["argv"][1:]))' "$out")
  curl -4 -s -o /dev/null --max-time 120 -H 'Content-Type: application/json' \
    --data-binary '{"prompt":"Hi","n_predict":1,"cache_prompt":false}' "$SM_URL/completion" || true
  t1=${EPOCHREALTIME/[.,]/}
  SM_START_MS=$(((t1 - t0) / 1000))
}

sm_stop() {
  XDG_STATE_HOME=$1 "$SUITE_ROOT/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
}

sm_rss_mib() {
  local kb
  kb=$(ps -o rss= -p "$1" 2>/dev/null | tr -d ' ')
  [[ "$kb" =~ ^[0-9]+$ ]] || { echo n/a; return 0; }
  printf '%d.%d\n' $((kb / 1024)) $((kb % 1024 * 10 / 1024))
}

sm_kv_mib() {
  awk '
    /llama_kv_cache(_unified)?: +size = +[0-9.]+ MiB/ || /KV self size += +[0-9.]+ MiB/ {
      for (i = 1; i <= NF; i++) if ($(i + 1) == "MiB" && $i ~ /^[0-9.]+$/) { sum += $i; found = 1; break }
    }
    END { if (found) printf "%.1f\n", sum; else print "n/a" }' "$1"
}

sm_bench() {
  local url=$1 runs=$2 max_tokens=$3 prompt=$4 concurrency=${5:-1}
  "$SUITE_ROOT/scripts/gpt-oss-bench.sh" "$runs" --url "$url" -n "$max_tokens" \
    -c "$concurrency" --warmup 2 --json -p "$prompt" 2>/dev/null
}

sm_field() {
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
for key in sys.argv[2:]:
    d = d.get(key) if isinstance(d, dict) else None
print("n/a" if d is None else (f"{d:.1f}" if isinstance(d, float) else d))' "$@" 2>/dev/null || echo n/a
}

sm_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
