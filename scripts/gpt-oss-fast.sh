#!/usr/bin/env bash
# Usage: gpt-oss-fast.sh [start] [options]
#        gpt-oss-fast.sh stop
#        gpt-oss-fast.sh --check
# Summary: start (or reuse) a tuned llama-server for gpt-oss, warm it, keep it warm.
#
# Starts llama-server with the guide's fast flags in the server's own dialect
# (no mmap, -b/-ub 256, 4 slots, f16 KV cache, flash attention) and a context sized for
# the tool-use path (see "Context" below), picks a GGUF quant, waits until /health answers, warms every slot and keeps the
# model resident with a tiny request every GPT_OSS_KEEPALIVE_SECS (the guide's 1 s). Running it again while
# the same server runs reuses it. stdout: the server URL (or JSON with --json).
#
# Options (flag > environment > tuned config > default; see "Tuned config" below):
#   -m, --model FILE      GGUF file             GPT_OSS_GGUF_MODEL_PATH
#       --model-dir DIR   folder to auto-pick   GPT_OSS_MODEL_DIR  (~/models/gpt-oss-20b/gguf)
#   -c, --ctx N           total context         GPT_OSS_CTX        (25600 unified, else 12288 per slot)
#       --kv-unified MODE  auto, 1 or 0          GPT_OSS_KV_UNIFIED (auto)
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
#       --no-tuned        ignore the tuned config gpt-oss-tune.sh wrote
#       --print-cmd, --dry-run  print the llama-server command line and exit
#       --json            print a JSON summary on stdout
#       --check           exit 0 when our server is up and healthy (prints its URL)
#       --kv-estimate     print the KV cache memory this context takes for the model, exit
#       --check-model [FILE]  check a GGUF offline (default: the model it would serve), exit
#       --print-service [KIND]  systemd or launchd (default: this OS's): print a user
#                         service that runs --foreground with these settings, exit
#       --version         print the suite's version and the llama-server it would use
#   -h, --help            show this help
#
# Context: a Harmony prompt with the workspace tools, one full-size tool result and the
# default 256-token reply need up to ~10k tokens in ONE request (the tiny test model's
# byte-level vocabulary; ~3k with gpt-oss's own), so by default each request may use
# 12288 tokens. Where the server honours unified KV (-kvu: Nov-2026 builds) the 4 slots
# share one 25600-token pool, each request capped at 12288, so a tool loop, a query
# and the keepalive fit at once; where it does not (it divides -c per
# slot: Aug-2025 builds, found from /props after the first start and remembered per
# binary) the context is 4 x 12288. With GPT_OSS_CTX set, auto means no -kvu: -c is
# divided among the slots as llama-server does (GPT_OSS_CTX=384 is the guide's exact
# -c 384 -np 4). GPT_OSS_KV_UNIFIED=1 always passes -kvu, 0 never.
#
# Environment only: LLAMA_SERVER (binary), GPT_OSS_EXTRA_ARGS (more llama-server
# arguments, split on spaces), GPT_OSS_API_KEY (protects the server; never in argv),
# GPT_OSS_RPC (host:port,... of llama.cpp RPC workers), GPT_OSS_DEBUG=1 (trace),
# GPT_OSS_THREADS (-t) and GPT_OSS_THREADS_BATCH (-tb) (unset: the server's own choice),
# GPT_OSS_FLASH_ATTN (on or off; default on) and GPT_OSS_MMAP (on or off; default off),
# each in the server's own spelling.
#
# Tuned config: ${XDG_CONFIG_HOME:-~/.config}/gpt-oss-suite/tuned.conf, written by
# gpt-oss-tune.sh, holds settings measured best for one model file and one llama-server
# binary (path, size and mtime); it applies to that pair only, below flags and the
# environment. Each value not at its default is named on stderr with where it came from.
# State (pids, log, argv): ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs lifecycle model_pick dialect

# --- knobs: defaults in one place, env overrides, flags override env ---
model=${GPT_OSS_GGUF_MODEL_PATH:-}
model_dir=${GPT_OSS_MODEL_DIR:-$HOME/models/gpt-oss-20b/gguf}
ctx=${GPT_OSS_CTX:-} # empty: chosen with the KV layout in choose_context
kv_unified=${GPT_OSS_KV_UNIFIED:-auto}
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
threads=${GPT_OSS_THREADS:-}             # empty: the server's own thread count
threads_batch=${GPT_OSS_THREADS_BATCH:-}
fa_mode=${GPT_OSS_FLASH_ATTN:-on}
mmap_mode=${GPT_OSS_MMAP:-off} # the guide: no mmap
t_start=0 t_ready=0
action=start restart=0 foreground=0 warmup=1 print_cmd=0 json=0 no_tuned=0
use_libs tuned
knob_sources "$@" # which knobs a flag or the environment set (flag > env > tuned > default)

while (($#)); do
  case "$1" in
    start) action=start ;;
    stop) action=stop ;;
    --check) action=check ;;
    -m | --model) require_value "$@"; model=$2; shift ;;
    --model-dir) require_value "$@"; model_dir=$2; shift ;;
    -c | --ctx) require_value "$@"; ctx=$2; shift ;;
    --kv-unified) require_value "$@"; kv_unified=$2; shift ;;
    --kv-estimate) action=kv-estimate ;;
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
    --no-tuned) no_tuned=1 ;;
    --print-cmd | --dry-run) print_cmd=1 ;;
    --json) json=1 ;;
    --check-model) action=check-model; [[ -z "${2:-}" || "${2:-}" == -* ]] || { model=$2; shift; } ;;
    --print-service) action=print-service; [[ ! "${2:-}" =~ ^(systemd|launchd)$ ]] || { action+=-$2; shift; } ;;
    --version) action=version ;;
    -h | --help) print_usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

[[ -z "$ctx" ]] || require_uint "GPT_OSS_CTX (--ctx)" "$ctx" 1
[[ "$kv_unified" =~ ^(auto|0|1)$ ]] || usage_error "GPT_OSS_KV_UNIFIED (--kv-unified) must be auto, 1 or 0, got '$kv_unified'"
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
[[ -z "$threads" ]] || require_uint GPT_OSS_THREADS "$threads" 1
[[ -z "$threads_batch" ]] || require_uint GPT_OSS_THREADS_BATCH "$threads_batch" 1
[[ "$fa_mode" =~ ^(on|off)$ ]] || usage_error "GPT_OSS_FLASH_ATTN must be on or off, got '$fa_mode'"
[[ "$mmap_mode" =~ ^(on|off)$ ]] || usage_error "GPT_OSS_MMAP must be on or off, got '$mmap_mode'"
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
    cached=$(suite_build_bin llama-server)
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

# The tool-use path's need in ONE request, measured on the tiny test model (the larger
# token counts): Harmony prompt with the tools (780) + one full-size tool result (the
# tools' 8000-byte cap, ~8400 tokens with its turn markup) + the default 256-token reply.
PER_REQUEST_CTX=12288
# The shared pool with unified KV: two requests at PER_REQUEST_CTX (a tool loop and a
# query) and the keepalive fit at once. More live tokens than the pool holds make the
# server fail every running request (HTTP 500 "Context size has been exceeded").
POOL_CTX=$((2 * PER_REQUEST_CTX + 1024))
# Below this per-slot size a Harmony prompt with the tools and a 256-token reply does not
# fit (780 + 256 on the tiny model): local-infer.sh --tools falls back to raw.
TOOLS_MIN_CTX=1100

# choose_context BINARY KVU_FLAG PER_SLOT_FLAG → run_ctx, kv_flags, unified (1 when -kvu
# is passed), expect_slot_ctx (per-slot size the choice relies on, 0 = none) and
# ctx_why, following the rule in the help text ("Context").
choose_context() {
  local bin=$1 kvu_flag=$2 per_slot_flag=$3 honoured
  kv_flags=() unified=0 expect_slot_ctx=0
  honoured=$(dialect_fact "$bin" kvu_shared)
  case "$kv_unified" in
    1) unified=1 ;;
    0) ctx_why="GPT_OSS_KV_UNIFIED=0" ;;
    auto)
      if [[ -n "$ctx" ]]; then
        ctx_why="GPT_OSS_CTX given: divided among the $parallel slots as llama-server does"
      elif [[ -z "$kvu_flag" ]]; then
        ctx_why="this llama-server has no unified KV"
      elif [[ "$honoured" == no ]]; then
        ctx_why="this llama-server divides -kvu per slot (seen in its /props)"
      else
        unified=1
      fi
      ;;
  esac
  if ((unified)); then
    [[ -n "$kvu_flag" ]] || usage_error "GPT_OSS_KV_UNIFIED=1 but $bin has no -kvu/--kv-unified"
    kv_flags=("$kvu_flag")
    run_ctx=${ctx:-$POOL_CTX}
    if [[ -z "$ctx" ]]; then
      expect_slot_ctx=$PER_REQUEST_CTX
      ctx_why="unified KV: $parallel slots share one $run_ctx-token pool"
      if [[ -n "$per_slot_flag" ]]; then
        kv_flags+=("$per_slot_flag" "$PER_REQUEST_CTX")
        ctx_why+=", each request at most $PER_REQUEST_CTX (a full tool loop, a query and the keepalive fit at once)"
      fi
    else
      ctx_why="unified KV: $parallel slots share one $run_ctx-token pool (GPT_OSS_CTX)"
    fi
  else
    run_ctx=${ctx:-$((parallel * PER_REQUEST_CTX))}
    [[ -n "$ctx" ]] || ctx_why+="; $PER_REQUEST_CTX per slot, room for the tool loop"
  fi
}

# build_argv BINARY → fills the array `argv` in the binary's dialect
build_argv() {
  local bin=$1 key value
  local -a no_mmap=() flash_attn=() jinja=() extra=()
  local rpc_ok=no kvu_flag="" per_slot_flag=""
  while IFS='=' read -r key value; do
    case "$key" in
      no_mmap) read -ra no_mmap <<<"$value" ;;
      flash_attn) read -ra flash_attn <<<"$value" ;;
      jinja) read -ra jinja <<<"$value" ;;
      rpc) rpc_ok=$value ;;
      kvu) kvu_flag=$value ;;
      kvu_per_slot) per_slot_flag=$value ;;
      notice) say "notice: $value" ;;
    esac
  done < <(dialect_for "$bin")
  choose_context "$bin" "$kvu_flag" "$per_slot_flag"
  [[ "$mmap_mode" == off ]] || no_mmap=() # every build maps the model by default
  [[ "$fa_mode" == on ]] || read -ra flash_attn <<<"$(flash_attn_off "${flash_attn[*]}")"
  argv=("$bin" -m "$model" --host "$host" --port "$port" -c "$run_ctx"
    -b "$batch" -ub "$ubatch" -np "$parallel" -ctk "$kv_type" -ctv "$kv_type"
    "${kv_flags[@]}" "${no_mmap[@]}" "${flash_attn[@]}" "${jinja[@]}")
  [[ -z "$threads" ]] || argv+=(-t "$threads")
  [[ -z "$threads_batch" ]] || argv+=(-tb "$threads_batch")
  if [[ -n "$rpc" ]]; then
    if [[ "$rpc_ok" != yes ]] || ! rpc_supported "$bin"; then
      usage_error "GPT_OSS_RPC is set but $bin was built without RPC support; the suite's build has it (make setup builds it): LLAMA_SERVER=\$($SUITE_ROOT/scripts/provision/llama-server.sh --cached)"
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

http_status() { # http_status URL → the HTTP status, 000 when nothing answers
  curl -4 -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

# The lock, the clean-up of a failed start, stop_ours and wait_ready: scripts/lib/lifecycle.sh.
keepalive_started="" started_pid="" # started_pid: set by launch_instance

# wait_until_ready PID → polls /health every 20 ms; dies at once if the process exits
wait_until_ready() {
  loading_said=0
  wait_ready "$1" llama-server "$state/server.log" "$start_timeout" GPT_OSS_START_TIMEOUT \
    server_healthy explain_rpc_refusal
}
server_healthy() {
  local code
  code=$(curl -4 -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/health" 2>/dev/null || true)
  [[ "$code" == 200 ]] && return 0
  if [[ "$code" == 503 ]] && ((!loading_said)) && stderr_is_tty; then
    say "loading the model..."
    loading_said=1
  fi
  return 1
}
explain_rpc_refusal() {
  if grep -q "RPC not supported" "$state/server.log" 2>/dev/null; then
    die "$EXIT_START_FAILED" "this llama-server was built without RPC support; unset GPT_OSS_RPC"
  fi
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
  nohup "${script%/*}/lib/keepalive.sh" "$url" "$1" "$keepalive" "$((${slots:-$parallel} - 1))" >/dev/null 2>&1 &
  keepalive_started=$!
  echo "$keepalive_started" >"$state/keepalive.pid"
  on_failure_stop "$keepalive_started" 1 "$state/keepalive.pid"
}

read_props() { # read_props → sets slot_ctx and slots from /props
  local props
  props=$(curl_json --max-time 5 "$url/props" 2>/dev/null || true)
  slot_ctx=unknown slots=$parallel
  # [[:space:]]*: a proxy may pretty-print the JSON ("n_ctx": 256).
  [[ "$props" =~ \"n_ctx\"[[:space:]]*:[[:space:]]*([0-9]+) ]] && slot_ctx=${BASH_REMATCH[1]}
  [[ "$props" =~ \"total_slots\"[[:space:]]*:[[:space:]]*([0-9]+) ]] && slots=${BASH_REMATCH[1]}
  return 0
}

report() { # report REUSED → human lines on stderr, URL or JSON on stdout
  local reused=$1 arg args_json="" pid=$2
  if [[ "$slot_ctx" =~ ^[0-9]+$ ]] && ((slot_ctx < TOOLS_MIN_CTX)); then
    warn "per-slot context is $slot_ctx tokens: a Harmony prompt with the tools and a 256-token reply needs ~$TOOLS_MIN_CTX, so local-infer.sh --tools falls back to raw; unset GPT_OSS_CTX for the default ($PER_REQUEST_CTX per request)"
  fi
  if ((json)); then
    for arg in "${argv[@]}"; do
      json_escape_to arg "$arg"
      args_json+="${args_json:+,}\"$arg\""
    done
    local model_json
    json_escape_to model_json "$model"
    printf '{"url":"%s","pid":%s,"reused":%s,"model":"%s","quant":"%s","argv":[%s],"ctx":%s,"kv_unified":%s,"n_ctx_per_slot":%s,"slots":%s,"ready_ms":%s,"warmup_ms":%s,"keepalive_secs":%s}\n' \
      "$url" "$pid" "$reused" "$model_json" "$model_quant" "$args_json" "$run_ctx" \
      "$( ((unified)) && echo true || echo false)" \
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
# Answers that start nothing: scripts/lib/preflight.sh and scripts/lib/service.sh.
case "$action" in version | check-model | print-service*) use_libs preflight service; "run_${action//-/_}"; exit ;; esac

binary=$(find_server_binary)
resolve_model
((no_tuned)) || apply_tuned "$binary" # scripts/lib/tuned.sh: flag > env > tuned > default
build_argv "$binary"
if [[ "$action" == kv-estimate ]]; then
  estimate_args=(kv-estimate "$model" --ctx "$run_ctx" --parallel "$parallel" --kv-type "$kv_type")
  ((unified)) && estimate_args+=(--unified)
  ((expect_slot_ctx)) && estimate_args+=(--per-slot "$expect_slot_ctx")
  ((json)) && estimate_args+=(--json)
  gpt_oss_py "${estimate_args[@]}"
  exit 0
fi
if ((print_cmd)); then
  explain_settings 1
  ((unified && expect_slot_ctx)) && say "unified KV is checked after the start: a server that divides it per slot is restarted with -c $((parallel * PER_REQUEST_CTX)) instead"
  quoted_argv
  exit 0
fi
((json)) && use_libs json

trap cleanup_on_exit EXIT
acquire_lock "$state" "$start_timeout" "the server"
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

if [[ -n "$rpc" ]]; then
  use_libs rpc
  rpc_require_workers "$rpc"
fi
if port_in_use "$client_host" "$port"; then
  die "$EXIT_PORT_BUSY" "port $port on $client_host is already in use by another program; stop it or choose another port (GPT_OSS_PORT or --port)"
fi

say "model: $model ($model_quant: $model_reason)"
explain_settings 0

# launch_server → starts argv with its state written, waits for /health, reads /props.
launch_server() {
  say "command: $(quoted_argv)"
  mkdir -p "$state"
  printf '%s\n' "${argv[@]}" >"$state/server.argv"
  printf '%s\n' "$url" >"$state/server.url"
  # Its RPC workers, one per line, for the clients' messages when one of them dies.
  if [[ -n "$rpc" ]]; then printf '%s\n' "${rpc//,/$'\n'}" >"$state/server.rpc"; else rm -f "$state/server.rpc"; fi
  # The key reaches the server through its environment, never through argv (ps shows argv).
  # Only when there is one: the Aug-2025 server treats an empty LLAMA_API_KEY as a key.
  if [[ -n "${GPT_OSS_API_KEY:-}" ]]; then
    export LLAMA_API_KEY=$GPT_OSS_API_KEY
  fi
  launch_instance "$state" server 5
  wait_until_ready "$started_pid"
  read_props
}
launch_server
# Both dialects list -kvu, but only some share the pool: /props tells. One that divides
# it is restarted with the per-slot layout, and the answer is kept for this binary.
# A model trained on a shorter context caps every slot at that (SmolLM2: 8192): that is
# not a divided pool, so the check compares with the smaller of the two.
if ((unified && expect_slot_ctx)) && [[ "$slot_ctx" =~ ^[0-9]+$ ]]; then
  models=$(curl_json --max-time 5 "$url/v1/models" 2>/dev/null || true)
  [[ "$models" =~ \"n_ctx_train\":[[:space:]]*([0-9]+) ]] && ((BASH_REMATCH[1] < expect_slot_ctx)) &&
    expect_slot_ctx=${BASH_REMATCH[1]}
  if ((slot_ctx < expect_slot_ctx)); then
    dialect_fact "$binary" kvu_shared no
    say "this llama-server divides -kvu per slot (/props n_ctx $slot_ctx); restarting with $PER_REQUEST_CTX per slot (remembered for this binary)"
    stop_pid "$started_pid" 10
    build_argv "$binary" # auto now reads the fact just recorded
    say "context: -c $run_ctx: $ctx_why"
    launch_server
  else
    dialect_fact "$binary" kvu_shared yes
  fi
fi
now_ms t_ready
ready_ms=$((t_ready - t_start))
say "ready in ${ready_ms} ms at $url; per-slot context $slot_ctx tokens, $slots slots"
if ((warmup)); then
  warm_up
  say "warm-up: $parallel requests in ${warmup_ms} ms"
fi
start_keepalive "$started_pid"
((keepalive > 0)) && say "keepalive: a tiny request every ${keepalive}s (pid $keepalive_started)"
release_lock
report false "$started_pid"

((foreground)) && stay_in_foreground "$started_pid" server stop_ours
keep_started # success: the server stays up after we exit
