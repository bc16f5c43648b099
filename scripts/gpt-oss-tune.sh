#!/usr/bin/env bash
# Usage: gpt-oss-tune.sh [options]
# Summary: find the fastest llama-server settings for a model on this machine, and keep them.
#
# Starts llama-server through gpt-oss-fast.sh (its flags, dialect and context rules) with
# one setting at a time on its own free port, measures it on your workload with
# gpt-oss-bench.sh (start-up to first answer, p50/p95, TTFT, prompt and decode tok/s,
# spikes, RSS) and searches one knob at a time from the current best (coordinate
# descent), then re-measures the best candidates interleaved with the defaults. A
# setting wins only when its gain is larger than the spread measured; otherwise the
# report says "no measurable difference" and the defaults stay. The result (the winner,
# or that the defaults measured best) goes into
# ${XDG_CONFIG_HOME:-~/.config}/gpt-oss-suite/tuned.conf for this model and binary, and
# gpt-oss-fast.sh starts with it from then on (flag > environment > tuned > default).
# stdout: the report (a table sorted by the objective; --json, --csv).
#
# Options:
#   -m, --model FILE        the GGUF to tune (default: the one gpt-oss-fast.sh would serve)
#       --objective NAME    latency, decode or throughput (default: latency)
#       --budget SECS       time for the whole search (default: 300)
#   -p, --prompt TEXT       your prompt, or a file holding it (default: the 8-token query
#                           and a ~130-token prompt, two workloads)
#   -n, --max-tokens N      tokens per request (default: 8)
#   -c, --concurrency N     clients at once (default: 1)
#       --runs N            requests per workload per measurement (default: 8)
#       --only KNOBS        tune only these (comma-separated; names below)
#       --skip KNOBS        leave these at their defaults
#       --allow-small-context  allow settings whose per-request context no longer holds
#                           the suite's tool-use prompt
#       --stop-running      stop the suite's running server first, restart it afterwards
#       --dry-run           print the plan and its estimated time; start nothing
#       --json              the report as JSON on stdout
#       --csv               the measurements as CSV on stdout
#       --version           print the suite's version and exit
#   -h, --help              show this help
#
# Knobs: threads (-t), flash-attn (on/off), batch (-b), ubatch (-ub), kv-type (f16,
# q8_0), mmap (on/off), context (-c and unified KV), slots (-np), threads-batch (-tb),
# quant (other quants of the model in its folder), gpu-layers (-ngl 0 or 999) and
# n-cpu-moe (half or all layers; a mixture of experts) only when llama-server
# --list-devices shows a device. Values a build does not take are skipped with a note;
# a setting that cannot start is reported as failed with the end of its log. A setting
# whose per-request context (/props n_ctx) is below the suite's tool-use prompt (the
# workspace tools, counted by the server, + a 256-token reply) is never picked unless
# --allow-small-context. When nothing beats the defaults, no config is written (an
# earlier section for this model and binary is removed). Each setting gets a fresh port.
# A running server of the suite competes for the CPU: the tuner refuses (exit 8) unless
# --stop-running. Ctrl-C or SIGTERM stops the tuner's servers, prints what was measured
# and writes no config. The bar chart of the scores: on a terminal only, never with
# NO_COLOR. Results: ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/tune/results.jsonl.
#
# Environment: LLAMA_SERVER, GPT_OSS_GGUF_MODEL_PATH, GPT_OSS_MODEL_DIR (as for
# gpt-oss-fast.sh), NO_COLOR, GPT_OSS_DEBUG=1 (trace).
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs lifecycle dialect model_pick server_measure tuned

ALL_KNOBS=(threads flash-attn batch ubatch kv-type mmap context slots threads-batch quant gpu-layers n-cpu-moe)
model=${GPT_OSS_GGUF_MODEL_PATH:-}
objective=latency budget=300 prompt="" max_tokens=8 concurrency=1 runs=8
only="" skip="" allow_small=0 stop_running=0 dry_run=0 format=text

while (($#)); do
  case $1 in
    -m | --model) require_value "$@"; model=$2; shift ;;
    --objective) require_value "$@"; objective=$2; shift ;;
    --budget) require_value "$@"; budget=$2; shift ;;
    -p | --prompt) require_value "$@"; prompt=$2; shift ;;
    -n | --max-tokens) require_value "$@"; max_tokens=$2; shift ;;
    -c | --concurrency) require_value "$@"; concurrency=$2; shift ;;
    --runs) require_value "$@"; runs=$2; shift ;;
    --only) require_value "$@"; only=$2; shift ;;
    --skip) require_value "$@"; skip=$2; shift ;;
    --allow-small-context) allow_small=1 ;;
    --stop-running) stop_running=1 ;;
    --dry-run) dry_run=1 ;;
    --json) [[ $format == csv ]] && usage_error "--json and --csv exclude each other"; format=json ;;
    --csv) [[ $format == json ]] && usage_error "--json and --csv exclude each other"; format=csv ;;
    --version) print_version; exit 0 ;;
    -h | --help) print_usage "$script"; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

[[ "$objective" =~ ^(latency|decode|throughput)$ ]] || usage_error "--objective must be latency, decode or throughput, got '$objective'"
require_uint --budget "$budget" 1
require_uint --max-tokens "$max_tokens" 1
require_uint --concurrency "$concurrency" 1
require_uint --runs "$runs" 2
for name in ${only//,/ } ${skip//,/ }; do
  [[ " ${ALL_KNOBS[*]} " == *" $name "* ]] || usage_error "unknown knob '$name' (knobs: ${ALL_KNOBS[*]})"
done
((concurrency <= runs)) || usage_error "--concurrency ($concurrency) is more than the $runs runs"
# The workloads: your prompt (a file's text when it names one), else the suite's two.
prompts=() workload_names=()
if [[ -n "$prompt" ]]; then
  if [[ -f "$prompt" ]]; then
    IFS= read -r -N 2147483647 prompt <"$prompt" || true
    prompt=${prompt%$'\n'}
  fi
  [[ -n "$prompt" ]] || usage_error "the prompt is empty"
  prompts=("$prompt") workload_names=("your prompt")
else
  prompts=("1+1=" "$(printf 'The quick brown fox jumps over the lazy dog. %.0s' {1..12})")
  workload_names=("8-token query" "~130-token prompt")
fi
# The search starts from the suite's defaults: the knobs it varies are not inherited.
for var in GPT_OSS_CTX GPT_OSS_KV_UNIFIED GPT_OSS_PARALLEL GPT_OSS_BATCH GPT_OSS_UBATCH \
  GPT_OSS_KV_TYPE GPT_OSS_THREADS GPT_OSS_THREADS_BATCH GPT_OSS_FLASH_ATTN GPT_OSS_MMAP GPT_OSS_EXTRA_ARGS; do
  [[ -z "${!var:-}" ]] || say "notice: $var=${!var} is ignored: the search starts from the built-in defaults"
  unset "$var"
done

# --- what would be served: gpt-oss-fast.sh's own choice of binary and model ---
[[ -z "$model" ]] || export GPT_OSS_GGUF_MODEL_PATH=$model
err_file="${TMPDIR:-/tmp}/gpt-oss-tune.$$.err" status=0
cmd=$("$SUITE_ROOT/scripts/gpt-oss-fast.sh" --print-cmd --no-tuned 2>"$err_file") || status=$?
((status == 0)) || cat "$err_file" >&2
rm -f "$err_file"
((status == 0)) || exit "$status"
{ read -r binary; read -r model; } < <(python3 -c '
import shlex, sys
argv = shlex.split(sys.argv[1])
print(argv[0]); print(argv[argv.index("-m") + 1])' "$cmd")

# --- the plan: knob<TAB>assignment|assignment...  or  knob<TAB><TAB>why skipped ---
plan=() skipped=()
knob() { # knob NAME VALUE... (assignments) | knob NAME "" WHY; NAME as --only/--skip choose
  local name=$1
  shift
  [[ -z "$only" || ",$only," == *",$name,"* ]] && [[ ",$skip," != *",$name,"* ]] || return 0
  if [[ -z "$1" ]]; then
    skipped+=("$name: $2")
    return 0
  fi
  plan+=("$name"$'\t'"$(IFS='|'; echo "$*")")
}
make_plan() {
  local help devices cpus half key value fa="" nm="" others=() file base
  help=$("$binary" --help 2>&1) || true
  while IFS='=' read -r key value; do
    case $key in flash_attn) fa=$value ;; no_mmap) nm=$value ;; esac
  done < <(dialect_for "$binary")
  cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  half=$((cpus / 2))
  local -a thread_values=("$cpus")
  ((half >= 1 && half != cpus)) && thread_values=("$half" "$cpus")
  if [[ "$help" =~ (^|[[:space:]])-t,[[:space:]] ]]; then
    knob threads "${thread_values[@]/#/GPT_OSS_THREADS=}"
  else knob threads "" "this llama-server has no -t"; fi
  if [[ -n "$fa" ]]; then knob flash-attn GPT_OSS_FLASH_ATTN=off
  else knob flash-attn "" "this llama-server has no --flash-attn"; fi
  knob batch GPT_OSS_BATCH=128 GPT_OSS_BATCH=512
  knob ubatch GPT_OSS_UBATCH=128 GPT_OSS_UBATCH=512
  if [[ "$help" == *--cache-type-k* ]]; then knob kv-type GPT_OSS_KV_TYPE=q8_0
  else knob kv-type "" "this llama-server has no -ctk"; fi
  if [[ -n "$nm" ]]; then knob mmap GPT_OSS_MMAP=on
  else knob mmap "" "this llama-server has no way to turn mmap off (it always maps)"; fi
  if [[ "$help" == *--kv-unified* ]]; then knob context GPT_OSS_CTX=1536 GPT_OSS_CTX=4096 GPT_OSS_KV_UNIFIED=0
  else knob context GPT_OSS_CTX=1536 GPT_OSS_CTX=4096; fi
  local -a slot_values=()
  for value in 1 2; do ((value >= concurrency)) && slot_values+=("GPT_OSS_PARALLEL=$value"); done
  if ((${#slot_values[@]})); then knob slots "${slot_values[@]}"
  else knob slots "" "fewer slots than --concurrency $concurrency cannot serve it"; fi
  if [[ "$help" == *--threads-batch* ]]; then
    knob threads-batch "${thread_values[@]/#/GPT_OSS_THREADS_BATCH=}"
  else knob threads-batch "" "this llama-server has no -tb"; fi
  # Other quants of the same model: the file name without its quant tag is the same.
  base=${model##*/}
  base=${base^^}
  [[ "$base" =~ (IQ[1-4]_[A-Z0-9]+|Q[2-8]_[0-9A-Z](_[A-Z])?|MXFP4|BF16|F16|F32) ]] && base=${base/"${BASH_REMATCH[1]}"/}
  for file in "${model%/*}"/*.gguf; do
    if [[ ! -f "$file" || "$file" == "$model" ]] || ! is_model_candidate "$file"; then continue; fi
    local other=${file##*/}
    other=${other^^}
    [[ "$other" =~ (IQ[1-4]_[A-Z0-9]+|Q[2-8]_[0-9A-Z](_[A-Z])?|MXFP4|BF16|F16|F32) ]] && other=${other/"${BASH_REMATCH[1]}"/}
    [[ "$other" == "$base" ]] && others+=("GPT_OSS_GGUF_MODEL_PATH=$file")
  done
  if ((${#others[@]})); then knob quant "${others[@]}"
  else knob quant "" "no other quant of this model in ${model%/*}"; fi
  # GPU offload only means something where the build sees a device: -ngl 0 (all on the
  # CPU) or 999 (all it can), and for a mixture of experts the experts of half or all
  # the layers kept on the CPU (--n-cpu-moe). The device layout (-sm, -ts) is not varied.
  local layers="" experts=0
  devices=$(timeout 20 "$binary" --list-devices 2>&1 | sed -n '/^Available devices:/,$p' | sed 1d | grep -v '(none)' | grep -c '[^[:space:]]' || true)
  if ((devices == 0)); then
    knob gpu-layers "" "no GPU backend in this build (llama-server --list-devices lists none)"
    knob n-cpu-moe "" "no GPU backend in this build"
    return 0
  fi
  if [[ "$help" == *--gpu-layers* ]]; then knob gpu-layers GPT_OSS_GPU_LAYERS=0 GPT_OSS_GPU_LAYERS=999
  else knob gpu-layers "" "this llama-server has no -ngl"; fi
  read -r layers experts <<<"$(py_main tune_search model-layers "$model")" || true
  if [[ "$help" != *--n-cpu-moe* ]]; then knob n-cpu-moe "" "this llama-server has no --n-cpu-moe"
  elif [[ -z "$layers" ]]; then knob n-cpu-moe "" "the model's layer count is unknown (its GGUF header cannot be read)"
  elif ((experts == 0)); then knob n-cpu-moe "" "not a mixture-of-experts model"
  else knob n-cpu-moe "GPT_OSS_N_CPU_MOE=$((layers / 2))" "GPT_OSS_N_CPU_MOE=$layers"; fi
}
make_plan

printf -v separators '%s' "${plan[@]//[!|]/}" # each knob has one value more than it has "|"s
n_values=$((${#plan[@]} + ${#separators}))
# A rough first guess before anything is measured: start ~3 s, ~(50 + 20/token) ms a
# request, plus the bench's own ~0.3 s per workload; measured times replace it.
per_setting=$((3000 + ${#prompts[@]} * ((runs + 2) * (50 + 20 * max_tokens) + 300)))
confirm_rounds=3 confirm_count=2
estimate_ms=$(((n_values + 1) * per_setting + (confirm_count + 1) * (3000 + confirm_rounds * per_setting / 2)))

if ((dry_run)); then
  printf 'model      %s\nbinary     %s\nobjective  %s\nworkloads  %s; %s runs each, %s tokens, concurrency %s\n' \
    "$model" "$binary" "$objective" "$(printf '%s, ' "${workload_names[@]}" | sed 's/, $//')" "$runs" "$max_tokens" "$concurrency"
  printf 'baseline   the built-in defaults\n'
  for row in "${plan[@]}"; do
    printf 'knob       %-14s %s\n' "${row%%$'\t'*}" "${row#*$'\t'}"
  done
  for row in "${skipped[@]}"; do printf 'skipped    %s\n' "$row"; done
  printf 'confirm    the top %s candidates and the defaults, %s interleaved rounds\n' "$confirm_count" "$confirm_rounds"
  printf 'estimate   %s s for %s settings (budget %s s%s)\n' "$((estimate_ms / 1000))" "$((n_values + 1))" "$budget" \
    "$( ((estimate_ms / 1000 > budget)) && echo ": the search stops at the budget, unmeasured knobs keep their defaults")"
  exit 0
fi

# --- servers of ours (on any port) would compete for the CPU ---
# Each one stopped with --stop-running is restarted afterwards from its own state: its
# command line, URL and keepalive as they were.
declare -A restart_argv=() restart_url=() restart_keepalive=()
running_pids=()
while IFS= read -r dir; do
  pid=$(instance_pid "$dir" server) || continue
  running_pids+=("$pid")
  ((stop_running)) || continue
  restart_argv[$dir]=$(<"$dir/server.argv")
  restart_url[$dir]=$(cat "$dir/server.url" 2>/dev/null || true)
  if instance_pid "$dir" keepalive >/dev/null; then restart_keepalive[$dir]=$(<"$dir/keepalive.argv"); fi
  say "stopping the suite's llama-server (pid $pid) while tuning; it is restarted afterwards"
  stop_ours "$dir" >/dev/null 2>&1
done < <(server_state_dirs)
if ((${#running_pids[@]})) && ((!stop_running)); then
  die "$EXIT_PORT_BUSY" "the suite's llama-server runs (pid ${running_pids[*]}) and would compete for the CPU; stop it ('gpt-oss-fast.sh stop --all') or pass --stop-running (it is restarted afterwards with its own settings)"
fi
# shellcheck disable=SC2329 # restart_ours and on_signal run from traps
restart_ours() {
  local dir url i argv=() started_pid keepalive=()
  # shellcheck disable=SC2034 # argv and started_pid: launch_instance's (dynamic scope)
  for dir in "${!restart_argv[@]}"; do
    mapfile -t argv <<<"${restart_argv[$dir]}"
    url=${restart_url[$dir]}
    say "restarting the suite's llama-server with its own settings${url:+ at $url}"
    launch_instance "$dir" server 5
    keep_started
    for ((i = 0; i < 3000; i++)); do
      [[ -z "$url" || "$(curl -4 -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/health" || true)" == 200 ]] && break
      kill -0 "$started_pid" 2>/dev/null || { warn "the restarted llama-server exited; see $dir/server.log"; continue 2; }
      sleep 0.1
    done
    mapfile -t keepalive <<<"${restart_keepalive[$dir]:-}" # keepalive.sh URL SERVER_PID SECONDS ...
    if ((${#keepalive[@]} >= 4)); then
      launch_keepalive "$dir" "${keepalive[1]}" "$started_pid" "${keepalive[@]:3}"
      keep_started # it stays up after the tuner exits, as the server does
    fi
  done
  restart_argv=()
}

# --- measuring ---
run_dir="$(state_dir)/tune"
rm -rf "$run_dir"
mkdir -p "$run_dir"
results="$run_dir/results.jsonl"
t0=$SECONDS n=0 interrupted="" tool_need=0
declare -A server_url=() server_state=() server_start=() server_ctx=() server_argv=()

progress() { say "[$((SECONDS - t0))s] $*"; }

stop_settings() { # every server the tuner started
  local key
  for key in "${!server_state[@]}"; do sm_stop "${server_state[$key]}"; done
  server_state=() server_url=()
}
# shellcheck disable=SC2329
on_signal() {
  interrupted=$1
  trap '' INT TERM
  stop_settings
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'stop_settings; restart_ours' EXIT

record() { # record FIELD=VALUE... [-- BENCH_FILES...] → appends to results, prints status
  py_main tune_search record "$results" "$objective" "$@"
}

# start SETTING → a server with it, under its own state dir; status 1 (recorded) when it
# cannot start or its per-request context is too small. PHASE and KNOB for the record.
start_setting() {
  local setting=$1 phase=$2 knob=$3 state port props
  local -a env_args=()
  read -ra env_args <<<"$setting"
  n=$((n + 1))
  state="$run_dir/s$n"
  mkdir -p "$state"
  port=$(sm_free_port) # a fresh port each time: the Aug-2025 server cannot bind one in TIME_WAIT
  if ! sm_start "$state" "$port" LLAMA_SERVER="$binary" GPT_OSS_GGUF_MODEL_PATH="$model" "${env_args[@]}"; then
    # The reason: the server's last word (or gpt-oss-fast.sh's, when it never ran); the
    # tail: what gpt-oss-fast.sh said, with the end of the server's log in it.
    local last
    last=$(tail -n 1 "$state/gpt-oss/server-$port/server.log" 2>/dev/null || tail -n 1 "$state.err" 2>/dev/null || echo "$SM_ERROR")
    record phase="$phase" knob="$knob" setting="$setting" status=failed \
      reason="could not start: ${last:-$SM_ERROR}" log_tail="$(tail -n 15 "$state.err" 2>/dev/null)" >/dev/null
    progress "${setting:-defaults}: failed to start"
    sm_stop "$state"
    return 1
  fi
  server_state[":$setting"]=$state server_url[":$setting"]=$SM_URL server_start[":$setting"]=$SM_START_MS
  server_argv[":$setting"]=$SM_ARGV
  props=$(curl -4 -s --max-time 5 "$SM_URL/props" || true)
  server_ctx[":$setting"]=$(sm_field "$props" default_generation_settings n_ctx)
  if [[ -z "$setting" && "$tool_need" == 0 ]]; then
    tool_need=$(py_main tune_search tool-need "$SM_URL" 2>/dev/null || echo 0)
    progress "the suite's tool-use prompt needs $tool_need tokens per request (workspace tools + 256-token reply)"
  fi
  local slot_ctx=${server_ctx[":$setting"]}
  if [[ -n "$setting" ]] && ((!allow_small)) && [[ "$slot_ctx" =~ ^[0-9]+$ ]] && ((slot_ctx < tool_need)); then
    record phase="$phase" knob="$knob" setting="$setting" status=excluded n_ctx="${server_ctx[":$setting"]}" \
      start_ms="$SM_START_MS" argv="$SM_ARGV" \
      reason="per-request context ${server_ctx[":$setting"]} < $tool_need the tool-use prompt needs (--allow-small-context allows it)" >/dev/null
    progress "${setting:-defaults}: excluded: per-request context ${server_ctx[":$setting"]} < $tool_need"
    stop_setting "$setting"
    return 1
  fi
}
stop_setting() {
  [[ -n "${server_state[":$1"]:-}" ]] && sm_stop "${server_state[":$1"]}"
  unset 'server_state[":$1"]' 'server_url[":$1"]'
}

# bench_setting SETTING PHASE KNOB ROUND RUNS → one measurement of a running setting.
bench_setting() {
  local setting=$1 phase=$2 knob=$3 round=$4 count=$5 i status out
  local -a files=()
  for i in "${!prompts[@]}"; do
    out="${server_state[":$setting"]}.$phase-$round-$i.json"
    # In the background, so a signal is handled at once rather than after the bench.
    sm_bench "${server_url[":$setting"]}" "$count" "$max_tokens" "${prompts[i]}" "$concurrency" >"$out" &
    wait $! || true
    [[ -z "$interrupted" ]] || return 1
    files+=("$out")
  done
  status=$(record phase="$phase" knob="$knob" setting="$setting" round="$round" status=ok \
    start_ms="${server_start[":$setting"]}" rss_mib="$(sm_rss_mib "$(cat "${server_state[":$setting"]}"/gpt-oss/server-*/server.pid 2>/dev/null || echo 0)")" \
    n_ctx="${server_ctx[":$setting"]}" argv="${server_argv[":$setting"]}" -- "${files[@]}")
  progress "${setting:-defaults}: $status"
}

measure() { # measure SETTING KNOB → descent measurement
  start_setting "$1" descent "$2" || return 0
  [[ -z "$interrupted" ]] && bench_setting "$1" descent "$2" 1 "$runs"
  stop_setting "$1"
}

# with SETTING ASSIGNMENT → the setting with that knob's value replaced
with() {
  local setting=$1 assignment=$2 word
  local -a words=()
  for word in $setting; do [[ "${word%%=*}" == "${assignment%%=*}" ]] || words+=("$word"); done
  words+=("$assignment")
  printf '%s\n' "${words[@]}" | LC_ALL=C sort | paste -sd' ' -
}

say "tuning $model with $binary for $objective (budget ${budget}s)"
for row in "${skipped[@]}"; do say "skipped: $row"; done
current=""
measure "" baseline
[[ -n "$interrupted" ]] || grep -q '"status": "ok"' "$results" \
  || die "$EXIT_START_FAILED" "the defaults could not be measured; see $results"
# What one setting costs, from the defaults' own measurement; the confirmation needs
# its candidates started once and benched in rounds of about half the runs.
per_setting=$(((SECONDS - t0) * 1000 + 1000))
start_cost=$((SM_START_MS + 1000))
confirm_cost=$(((confirm_count + 1) * (start_cost + confirm_rounds * (per_setting - start_cost) / 2)))
budget_note=""
for row in "${plan[@]}"; do
  [[ -z "$interrupted" ]] || break
  name=${row%%$'\t'*}
  IFS='|' read -ra values <<<"${row#*$'\t'}"
  for value in "${values[@]}"; do
    [[ -z "$interrupted" ]] || break
    # Keep time for the confirmation: the defaults and two candidates, three rounds.
    if (((SECONDS - t0) * 1000 + per_setting + confirm_cost > budget * 1000)); then
      budget_note="the budget ran out before $name=${value#*=}: unmeasured knobs keep their defaults"
      break 2
    fi
    candidate=$(with "$current" "$value")
    [[ "$candidate" != "$current" ]] || continue
    measure "$candidate" "$name"
  done
  current=$(py_main tune_search descent-best "$results" "$objective" "$current" "$name")
done
[[ -z "$budget_note" ]] || say "$budget_note"

# --- confirmation: the best candidates and the defaults, all up, interleaved rounds ---
if [[ -z "$interrupted" ]]; then
  mapfile -t top < <(py_main tune_search top "$results" "$objective" "$current" "$confirm_count")
  if ((${#top[@]})); then
    progress "confirming $(printf '[%s] ' "${top[@]}")against the defaults"
    confirmed=()
    for setting in "" "${top[@]}"; do
      [[ -z "$interrupted" ]] || break
      start_setting "$setting" confirm "" && confirmed+=("$setting")
    done
    count=$(((runs + 1) / 2 > 3 ? (runs + 1) / 2 : 3))
    round_start=$SECONDS
    for ((round = 1; round <= confirm_rounds; round++)); do
      # Two rounds at least (a spread needs two); a third only if it fits the budget.
      ((round <= 2)) || (((SECONDS - t0) + (SECONDS - round_start) / (round - 1) <= budget)) || break
      for setting in "${confirmed[@]}"; do
        [[ -z "$interrupted" ]] || break 2
        bench_setting "$setting" confirm "" "$round" "$count" || break 2
      done
    done
    stop_settings
  fi
fi

# --- the verdict, the config, the report ---
decision="$run_dir/decision.json"
py_main tune_search decide "$results" "$objective" >"$decision"
{ read -r compared; read -r winner; } < <(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d["candidates"])); print(d["winner"])' "$decision")
config=$(tuned_config_file) written=""
if [[ -n "$interrupted" ]]; then
  say "interrupted ($interrupted): results so far in $results; no config written"
elif [[ -n "$winner" ]] || ((compared)); then
  # No winner: the defaults were measured as good as anything, that is this pair's result
  # too, and it replaces an earlier tuning of the pair (a section without knob lines).
  read -ra assignments <<<"$winner"
  # The same rules gpt-oss-fast.sh will check the file with (scripts/lib/tuned.sh).
  # shellcheck disable=SC2154 # knob_why: set by knob_problem
  for assignment in "${assignments[@]}"; do
    knob_problem "${assignment%%=*}" "$(knob_rule "${assignment%%=*}")" "${assignment#*=}" \
      || die "$EXIT_ERROR" "the winner is not a valid setting: $knob_why"
  done
  py_main tune_config write "$config" "$model" "$binary" "$objective" "${assignments[@]}" \
    || die "$EXIT_ERROR" "could not write $config"
  written=$config
  if [[ -n "$winner" ]]; then
    say "wrote $config: $winner for this model and llama-server; gpt-oss-fast.sh starts with it"
  else
    say "no setting beat the defaults measurably: the defaults stay; wrote $config: the defaults measured best for this model and llama-server"
  fi
else
  say "nothing was compared with the defaults (see the report): no config written"
fi
extra=$(python3 -c 'import json, sys; a = sys.argv[1:]; print(json.dumps({"schema": 1, "tool": "gpt-oss-tune", "model": a[0], "binary": a[1], "objective": a[2], "budget_s": int(a[3]), "elapsed_s": int(a[4]), "interrupted": a[5] or None, "tool_need_tokens": int(a[6]), "allow_small_context": a[7] == "1", "config_file": a[8] or None, "winner": dict(w.split("=", 1) for w in a[9].split()), "skipped": a[10:]}))' \
  "$model" "$binary" "$objective" "$budget" "$((SECONDS - t0))" "$interrupted" "$tool_need" "$allow_small" "$written" "$winner" ${skipped[@]+"${skipped[@]}"})
bars=""
color_ok 1 && bars=bars # the one colour rule (common.sh): a terminal, no NO_COLOR, not dumb
case $format in
  json) py_main tune_search report "$results" "$decision" json "$bars" "$extra" ;;
  csv) py_main tune_search report "$results" "$decision" csv ;;
  *) py_main tune_search report "$results" "$decision" text "$bars" ;;
esac
case $interrupted in INT) exit 130 ;; TERM) exit 143 ;; esac
exit 0
