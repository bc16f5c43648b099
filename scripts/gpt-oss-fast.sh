#!/usr/bin/env bash
# Usage: gpt-oss-fast.sh [start] [options]
#        gpt-oss-fast.sh stop [--port N | --url URL | --all]
#        gpt-oss-fast.sh --check [--port N | --url URL]
# Summary: start (or reuse) a tuned llama-server for gpt-oss, warm it, keep it warm.
#
# Starts llama-server with the guide's fast flags in the server's own dialect
# (no mmap, -b/-ub 256, 4 slots, f16 KV cache, flash attention) and a context sized for
# the tool-use path (see "Context" below), picks a GGUF quant, waits until /health answers, warms every slot and keeps the
# model resident with a tiny request every GPT_OSS_KEEPALIVE_SECS (the guide's 1 s). Running it again while
# the same server runs reuses it. stdout: the server URL (or JSON with --json).
#
# Options (flag > environment > tuned config > default; see "Tuned config" below):
#   -m, --model FILE      GGUF file             GPT_OSS_GGUF_MODEL_PATH (default: auto-pick in --model-dir)
#       --model-dir DIR   folder to auto-pick   GPT_OSS_MODEL_DIR  (default: ~/models/gpt-oss-20b/gguf)
#   -c, --ctx N           total context         GPT_OSS_CTX        (default: 25600 unified, else 12288 per slot)
#       --kv-unified MODE  auto, 1 or 0          GPT_OSS_KV_UNIFIED (default: auto)
#       --host HOST       bind address          GPT_OSS_HOST       (default: 127.0.0.1)
#       --port N          port                  GPT_OSS_PORT       (default: 8000)
#   -np, --parallel N     slots                 GPT_OSS_PARALLEL   (default: 4)
#   -b, --batch N         batch size            GPT_OSS_BATCH      (default: 256)
#   -ub, --ubatch N       micro-batch size      GPT_OSS_UBATCH     (default: 256)
#       --kv-type TYPE    KV cache type         GPT_OSS_KV_TYPE    (default: f16)
#   -k, --keepalive SECS  keepalive period, 0=off  GPT_OSS_KEEPALIVE_SECS (default: 1)
#       --timeout SECS    start-up limit        GPT_OSS_START_TIMEOUT  (default: 300)
#       --restart         replace our running server even if its settings match
#       --foreground      stay attached; Ctrl-C stops the server and keepalive
#       --no-warmup       skip the warm-up requests
#       --no-tuned        ignore the tuned config gpt-oss-tune.sh wrote
#       --print-cmd, --dry-run  print the llama-server command line and exit
#       --json            print a JSON summary on stdout
#       --check           exit 0 when our server is up and healthy (prints its URL)
#       --url URL         stop and --check: our server at URL (its port)
#       --all             stop: every server of ours, on every port
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
# GPT_OSS_GPU_LAYERS (-ngl) and GPT_OSS_N_CPU_MOE (--n-cpu-moe) (unset: the server's own),
# GPT_OSS_FLASH_ATTN (on or off; default on) and GPT_OSS_MMAP (on or off; default off),
# each in the server's own spelling, GPT_OSS_LOG_MAX_MB (10: the keepalive keeps
# server.log under it, the previous part in server.log.1).
#
# Tuned config: ${XDG_CONFIG_HOME:-~/.config}/gpt-oss-suite/tuned.conf, written by
# gpt-oss-tune.sh, holds settings measured best for one model file and one llama-server
# binary (path, size and mtime); it applies to that pair only, below flags and the
# environment. Each value not at its default is named on stderr with where it came from.
# State (pids, log, argv), one per port: ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/server-PORT/
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs lifecycle model_pick dialect server_cmd server_run
require_home

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
# Empty: the server's own thread count, offload. Read by scripts/lib/tuned.sh (check_knobs)
# and server_cmd.sh, as the flag-less knobs below:
# shellcheck disable=SC2034
threads=${GPT_OSS_THREADS:-} threads_batch=${GPT_OSS_THREADS_BATCH:-} gpu_layers=${GPT_OSS_GPU_LAYERS:-} n_cpu_moe=${GPT_OSS_N_CPU_MOE:-}
# shellcheck disable=SC2034
fa_mode=${GPT_OSS_FLASH_ATTN:-on} mmap_mode=${GPT_OSS_MMAP:-off} # the guide: no mmap
t_start=0 t_ready=0
# Set by the steps in scripts/lib/server_cmd.sh and server_run.sh (declared for readers):
model_quant="" model_reason="" slot_ctx="" slots="" started_pid="" keepalive_started=""
action=start restart=0 foreground=0 warmup=1 print_cmd=0 json=0 no_tuned=0 all=0 at_url=""
use_libs tuned
knob_sources "$@" # which knobs a flag or the environment set (flag > env > tuned > default)

# shellcheck disable=SC2034 # knobs read by the libraries of the steps
while (($#)); do
  case "$1" in
    start) action=start ;;
    stop) action=stop ;;
    --check) action=check ;;
    --url) require_value "$@"; at_url=$2; shift ;;
    --all) all=1 ;;
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
    --print-service) action=print-service service_kind=""
      [[ ! "${2:-}" =~ ^(systemd|launchd)$ ]] || { service_kind=$2; shift; } ;;
    --version) action=version ;;
    -h | --help) print_usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

check_knobs # the tunable knobs' rules: TUNED_KNOBS in scripts/lib/tuned.sh
require_uint "GPT_OSS_PORT (--port)" "$port" 1 65535
require_uint "GPT_OSS_KEEPALIVE_SECS (--keepalive)" "$keepalive" 0
require_uint "GPT_OSS_START_TIMEOUT (--timeout)" "$start_timeout" 1
require_uint GPT_OSS_LOG_MAX_MB "${GPT_OSS_LOG_MAX_MB:-10}" 1 1048576
require_ipv4_host "GPT_OSS_HOST (--host)" "$host"
[[ -z "$rpc" || "$rpc" =~ ^[A-Za-z0-9.:-]+:[0-9]+(,[A-Za-z0-9.:-]+:[0-9]+)*$ ]] \
  || usage_error "GPT_OSS_RPC must be host:port[,host:port...], got '$rpc'"

if [[ -n "$at_url" ]]; then
  require_http_url "$at_url"
  port=$(url_port "$at_url")
fi
port=$((10#$port))
state=$(server_state_dir "$port")
stop_this() { stop_ours "$state"; } # this port's server and keepalive
# Clients talk to the loopback address when the server binds every interface.
client_host=$host
[[ "$host" == 0.0.0.0 ]] && client_host=127.0.0.1
url="http://$client_host:$port"

# --- the steps, as the guide takes them by hand ---

case "$action" in
  stop) if ((all)); then stop_all; else migrate_old_state; stop_this; fi; exit 0 ;;
  check) migrate_old_state; run_check; exit 0 ;;
  # Answers that start nothing: scripts/lib/preflight.sh and scripts/lib/service.sh.
  version | check-model | print-service) use_libs preflight service; "run_${action//-/_}"; exit ;;
esac

# 1. Find the server, pick the model, build the command (scripts/lib/server_cmd.sh).
binary=$(find_server_binary)
resolve_model
((no_tuned)) || apply_tuned "$binary" # scripts/lib/tuned.sh: flag > env > tuned > default
build_argv "$binary"
if [[ "$action" == kv-estimate ]]; then run_kv_estimate; exit 0; fi
if ((print_cmd)); then run_print_cmd; exit 0; fi

# 2. Start it, or reuse ours (scripts/lib/server_run.sh; the lock and the clean-up of a
#    failed start: scripts/lib/lifecycle.sh).
migrate_old_state
guard_start # from here, an error or a signal stops what the start launched
acquire_lock "$state" "$start_timeout" "the server"
now_ms t_start
if reuse_running; then exit 0; fi
if [[ -n "$rpc" ]]; then
  use_libs rpc
  rpc_require_workers "$rpc"
fi
refuse_busy_port
say "model: $model ($model_quant: $model_reason)"
explain_settings 0
launch_server
check_kv_layout
now_ms t_ready
ready_ms=$((t_ready - t_start))
say "ready in ${ready_ms} ms at $url; per-slot context $slot_ctx tokens, $slots slots"

# 3. Warm every slot, keep it warm, say where it is.
warm_up
start_keepalive "$started_pid"
((keepalive > 0)) && say "keepalive: a tiny request every ${keepalive}s (pid $keepalive_started)"
release_lock
report false "$started_pid"

((foreground)) && stay_in_foreground "$started_pid" server stop_this
keep_started # success: the server stays up after we exit
