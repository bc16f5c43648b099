#!/usr/bin/env bash
# Usage: gpt-oss-rpc-worker.sh [start] [options]
#        gpt-oss-rpc-worker.sh stop [--port N]
#        gpt-oss-rpc-worker.sh status [--port N] [--json]
# Summary: start (or reuse), stop or show a llama.cpp RPC worker (ggml-rpc-server) on this host.
#
# A worker lends this machine's devices (its CPU, or its GPU in a build with one) to a
# llama-server on another machine: start one here, then on the main host
# GPT_OSS_RPC=THIS_HOST:PORT[,...] gpt-oss-fast.sh spreads the model over them.
# It is ready when its port accepts connections. Running it again while the same worker
# runs reuses it. stdout: the worker's address HOST:PORT (or JSON with --json).
#
# The RPC protocol has no authentication: whoever reaches the port can use the worker's
# memory and devices, and crash it. It binds 127.0.0.1 unless --host says otherwise; any
# address but a loopback one prints a warning. Use it on private networks only.
#
# Options (flag > environment > default):
#       --host HOST       bind address          GPT_OSS_RPC_WORKER_HOST     (default: 127.0.0.1)
#       --port N          port                  GPT_OSS_RPC_WORKER_PORT     (default: 50052)
#   -t, --threads N       CPU threads           GPT_OSS_RPC_WORKER_THREADS  (default: the worker's own, half the cores)
#       --cache           keep received tensors on disk (ggml-rpc-server -c), so the
#                         next server start sends less; in $LLAMA_CACHE/rpc, else
#                         ~/.cache/llama.cpp/rpc; 1 turns it on  GPT_OSS_RPC_WORKER_CACHE (default: 0)
#       --timeout SECS    start-up limit        GPT_OSS_RPC_WORKER_START_TIMEOUT (default: 30)
#       --restart         replace our running worker on this port even if its settings match
#       --foreground      stay attached; Ctrl-C stops the worker
#       --print-cmd, --dry-run  print the worker's command line and exit
#       --json            print a JSON summary on stdout
#       --version         print the suite's version and exit
#   -h, --help            show this help
#
# stop and status act on the worker on --port, or on every worker of ours without one.
# status exits 0 when the worker (any, without --port) runs, 3 when none does.
# Environment only: GPT_OSS_RPC_WORKER_BIN (the binary; else ggml-rpc-server, then
# rpc-server, on PATH; else the build `make setup` cached), GPT_OSS_DEBUG=1 (trace).
# State (pid, log, argv): ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/rpc-worker-PORT/
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs lifecycle rpc
require_home

# --- knobs: defaults in one place, env overrides, flags override env ---
host=${GPT_OSS_RPC_WORKER_HOST:-127.0.0.1}
port=${GPT_OSS_RPC_WORKER_PORT:-50052}
port_given=${GPT_OSS_RPC_WORKER_PORT:+1}
threads=${GPT_OSS_RPC_WORKER_THREADS:-}
cache=${GPT_OSS_RPC_WORKER_CACHE:-0}
start_timeout=${GPT_OSS_RPC_WORKER_START_TIMEOUT:-30}
action=start restart=0 foreground=0 print_cmd=0 json=0
t_start=0 t_ready=0 started_pid='' reused_pid='' addr_j='' detail_j='' log_j='' # set by helpers

while (($#)); do
  case "$1" in
    start) action=start ;;
    stop) action=stop ;;
    status) action=status ;;
    --host) require_value "$@"; host=$2; shift ;;
    --port) require_value "$@"; port=$2; port_given=1; shift ;;
    -t | --threads) require_value "$@"; threads=$2; shift ;;
    --cache) cache=1 ;;
    --timeout) require_value "$@"; start_timeout=$2; shift ;;
    --restart) restart=1 ;;
    --foreground) foreground=1 ;;
    --print-cmd | --dry-run) print_cmd=1 ;;
    --json) json=1 ;;
    --version) print_version; exit 0 ;;
    -h | --help) print_usage "$script"; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

require_uint "GPT_OSS_RPC_WORKER_PORT (--port)" "$port" 1 65535
port=$((10#$port))
[[ -z "$threads" ]] || require_uint "GPT_OSS_RPC_WORKER_THREADS (--threads)" "$threads" 1
[[ "$cache" == [01] ]] || usage_error "GPT_OSS_RPC_WORKER_CACHE must be 1 or 0, got '$cache'"
require_uint "GPT_OSS_RPC_WORKER_START_TIMEOUT (--timeout)" "$start_timeout" 1
require_ipv4_host "GPT_OSS_RPC_WORKER_HOST (--host)" "$host"

# Probes go to the loopback address when the worker binds every interface.
client_host=$host
[[ "$host" == 0.0.0.0 ]] && client_host=127.0.0.1
address="$host:$port"
dir=$(worker_state_dir "$port")
((json)) && use_libs json

# --- helpers of this command ---

# worker_line DIR → "ADDRESS|PID|PROBE|DETAIL" for the worker recorded in DIR (PID empty
# when it does not run)
worker_line() {
  local wdir=$1 addr pid="" word detail probe_host clients
  addr=$(cat "$wdir/worker.addr" 2>/dev/null) || addr="?:${wdir##*-}"
  pid=$(instance_pid "$wdir" worker) || pid=""
  # Serving a client: a probe would only wait in its queue (one client at a time).
  clients=$(rpc_clients "${addr##*:}" | paste -sd, -)
  if [[ -n "$pid" && -n "$clients" ]]; then
    printf '%s|%s|serving|serving %s\n' "$addr" "$pid" "${clients//,/, }"
    return 0
  fi
  probe_host=${addr%:*}
  [[ "$probe_host" == 0.0.0.0 || "$probe_host" == "::" ]] && probe_host=127.0.0.1
  IFS=$'\t' read -r word detail <<<"$(rpc_probe "$probe_host:${addr##*:}" 1)"
  printf '%s|%s|%s|%s\n' "$addr" "$pid" "$word" "$(rpc_detail "$word" "$detail" 1)"
}

our_worker_dirs() { # our_worker_dirs → the state dirs stop/status act on
  if [[ -n "$port_given" ]]; then printf '%s\n' "$dir"; else instance_dirs rpc-worker worker; fi
}

report() { # report REUSED PID → the address, or JSON, on stdout
  local reused=$1 pid=$2 addr_j log_j
  if ((json)); then
    json_escape_to addr_j "$address"
    json_escape_to log_j "$dir/worker.log"
    printf '{"address":"%s","pid":%s,"reused":%s,"argv":%s,"log":"%s","ready_ms":%s}\n' \
      "$addr_j" "$pid" "$reused" "$(argv_json)" "$log_j" "${ready_ms:-null}"
  else
    printf '%s\n' "$address"
  fi
}

# --- actions ---

if [[ "$action" == stop ]]; then
  stopped=0
  while IFS= read -r d; do
    stop_instance "$d" worker "the RPC worker on port ${d##*-}" 5 && stopped=1
  done < <(our_worker_dirs)
  if ((!stopped)); then
    if [[ -n "$port_given" ]]; then say "no RPC worker of ours runs on port $port; nothing to stop"; else say "no RPC worker of ours is running; nothing to stop"; fi
  fi
  exit 0
fi

if [[ "$action" == status ]]; then
  running=0 entries=""
  while IFS= read -r d; do
    IFS='|' read -r addr pid word detail <<<"$(worker_line "$d")"
    [[ -n "$pid" ]] && running=$((running + 1))
    if ((json)); then
      json_escape_to addr_j "$addr"
      json_escape_to detail_j "$detail"
      json_escape_to log_j "$d/worker.log"
      entries+="${entries:+,}{\"address\":\"$addr_j\",\"running\":$([[ -n "$pid" ]] && echo true || echo false),\"pid\":${pid:-null},\"probe\":\"$word\",\"detail\":\"$detail_j\",\"log\":\"$log_j\"}"
    elif [[ -n "$pid" ]]; then
      printf '%s\trunning (pid %s), %s; log %s\n' "$addr" "$pid" "$detail" "$d/worker.log"
    else
      printf '%s\tnot running (port: %s)\n' "$addr" "$detail"
    fi
  done < <(our_worker_dirs)
  ((json)) && printf '{"workers":[%s]}\n' "$entries"
  if ((running == 0)); then
    if [[ -n "$port_given" ]]; then die "$EXIT_UNREACHABLE" "no RPC worker of ours runs on port $port"; fi
    die "$EXIT_UNREACHABLE" "no RPC worker of ours is running (state: $(state_dir)/rpc-worker-*)"
  fi
  exit 0
fi

# GPT_OSS_RPC_WORKER_BIN, else ggml-rpc-server on PATH (rpc-server: its name in llama.cpp
# trees before late 2025), else the build `make setup` cached.
binary=$(find_binary GPT_OSS_RPC_WORKER_BIN ggml-rpc-server ggml-rpc-server rpc-server)
argv=("$binary" -H "$host" -p "$port")
[[ -n "$threads" ]] && argv+=(-t "$((10#$threads))")
((cache)) && argv+=(-c)
if [[ "$host" != 127.* && "$host" != localhost ]]; then
  warn "the RPC protocol has no authentication: anyone who reaches $address can use this machine's memory and devices, and crash the worker; bind it to a private network only, never the internet"
fi
if ((print_cmd)); then
  quoted_argv
  exit 0
fi

guard_start # from here, an error or a signal stops what the start launched
acquire_lock "$dir" "$start_timeout" "the RPC worker on port $port"
now_ms t_start

stop_worker() { stop_instance "$dir" worker "the RPC worker on port $port" 5 || true; }
if reuse_or_replace "$dir" worker "$restart" stop_worker \
  "our RPC worker on port $port (pid {pid}) runs with other settings; use --restart to replace it (or 'gpt-oss-rpc-worker.sh stop --port $port')"; then
  # Ours and alive: it was ready when its start released the lock. No probe: a worker
  # that serves a llama-server would only queue the connection.
  say "reusing the running RPC worker (pid $reused_pid) at $address with the same settings"
  report true "$reused_pid"
  exit 0
fi

IFS=$'\t' read -r word _ <<<"$(rpc_probe "$client_host:$port" 2)"
if [[ "$word" == answers || "$word" == timeout ]]; then
  die "$EXIT_PORT_BUSY" "port $port on $client_host is already in use by another program; stop it or choose another port (GPT_OSS_RPC_WORKER_PORT or --port)"
fi

wait_port_bindable "$host" "$port" 60 # Linux keeps TIME_WAIT 60 s, whatever --timeout says
say "command: $(quoted_argv)"
record_argv "$dir" worker
printf '%s\n' "$address" >"$dir/worker.addr"
launch_instance "$dir" worker 5

worker_listens() { port_in_use "$client_host" "$port"; }
wait_ready "$started_pid" ggml-rpc-server "$dir/worker.log" "$start_timeout" \
  GPT_OSS_RPC_WORKER_START_TIMEOUT worker_listens
now_ms t_ready
ready_ms=$((t_ready - t_start))
reach=$address
[[ "$client_host" == "$host" ]] || reach="THIS_HOST:$port"
say "ready in ${ready_ms} ms at $address (pid $started_pid); on the main host: GPT_OSS_RPC=$reach"
release_lock
report false "$started_pid"

((foreground)) && stay_in_foreground "$started_pid" worker stop_worker
keep_started # success: the worker stays up after we exit
