#!/usr/bin/env bash
# Usage: gpt-oss-bench.sh [options] [N]
# Summary: send N requests (default 10) to the running llama-server and summarize latency.
#
# Each run is one streaming /completion request (temperature 0, cache_prompt false so
# the whole prompt is processed every time, ignore_eos so every run decodes exactly
# --max-tokens tokens). A line per run goes to stderr while it runs (a progress bar
# too, on a terminal without NO_COLOR); the summary goes to stdout: runs, min, mean,
# stdev, p50, p90, p95, p99, max of the end-to-end ms, time to first token p50/p95,
# median decode and prompt tok/s (the server's own timings), and spikes — runs over
# 2x p50, the guide's paging sign. Percentiles are nearest-rank (always a measured run).
#
# Options:
#   -n, --max-tokens N     tokens per request (default: 8)
#   -p, --prompt TEXT      the prompt (default: "Write one sentence about the sea.");
#                          `-p -` reads it from stdin
#       --prompt-file FILE the prompt from FILE (`-`: stdin); one trailing newline is
#                          dropped, as gpt-oss-query.sh does for stdin
#   -c, --concurrency K    K clients at once, each sending its share of the N runs; K
#                          may not exceed the server's slots (default: 1). The summary
#                          adds aggregate requests/s and decode tok/s over the wall time
#       --warmup K         K requests first, not counted (default: 0)
#       --json             the summary as JSON on stdout (shape below)
#       --csv              the per-run rows as CSV on stdout
#       --histogram        a text histogram of the latencies: on stdout after the text
#                          summary, on stderr with --json/--csv (stdout stays parseable)
#       --save FILE        also write the summary JSON, plus its per-run "rows", to FILE
#       --compare FILE     show the change against a run saved with --save
#       --url URL          server (default: $GPT_OSS_URL, else
#                          http://$GPT_OSS_HOST:$GPT_OSS_PORT, else http://127.0.0.1:8000)
#       --timeout SECS     limit of each run: a request with no complete reply by then
#                          ends the bench with exit 10; 0 = no limit (default: 60)
#       --version          print the suite's version and exit
#   -h, --help             show this help
#
# Timing: per run, end-to-end ms is from just before curl starts to the end of the
# stream, as a bare `curl` loop would measure it; TTFT is until the first byte of the
# first SSE event (curl -N, read in Bash with $EPOCHREALTIME: one read per event, no
# extra process per request). The loop is Bash + curl; Python (gpt-oss-py bench
# summarize) runs once, at the end, for the statistics.
#
# JSON (--json; --save adds "rows", a list of the --csv rows as objects):
#   {"schema": 1, "tool": "gpt-oss-bench", "created": ISO-8601 UTC, "url", "model",
#    "params": {"runs", "warmup", "max_tokens", "concurrency", "prompt_bytes"},
#    "runs": N, "latency_ms": STATS, "ttft_ms": STATS,
#    "decode_tps_median", "prompt_tps_median", "tokens_median",
#    "spikes", "spike_threshold_ms",
#    "aggregate": {"wall_ms", "requests_per_s", "decode_tps", "tokens"},
#    "compare": null | {"file", "latency_ms": {KEY: {old, new, delta, pct}},
#                       "ttft_ms": {...}, "decode_tps_median": {...}, "prompt_tps_median": {...}}}
#   STATS = {"count","min","mean","stdev","p50","p90","p95","p99","max","spikes"}
# CSV columns: run,client,start_ms,ms,ttft_ms,prompt_n,prompt_ms,prompt_tps,
#   predicted_n,predicted_ms,decode_tps (start_ms: from the first measured run's start).
# Every run also leaves the summary in ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/
# last-bench.json, which gpt-oss-status.sh compares its probe with.
#
# Environment: GPT_OSS_URL (or GPT_OSS_HOST/GPT_OSS_PORT), GPT_OSS_API_KEY (bearer
# token, never on the command line), NO_COLOR, GPT_OSS_DEBUG=1 (trace).
# Exit codes: 0 ok, 2 usage (non-numeric N, empty prompt, K above the slot count...),
# 3 server unreachable, 4 model still loading, 5 prompt longer than the per-slot
# context, 6 server error or dropped connection, 10 a run got no complete reply within
# --timeout. --save's file and the Python core are checked before the first request.
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs options timed_request

runs=10
max_tokens=8
prompt=$TR_DEFAULT_PROMPT
prompt_source=arg # arg | file
prompt_file=
concurrency=1
warmup=0
format=text
want_json=false
histogram=false
save_file=
compare_file=
url=
timeout=60
positional=()

while (($#)); do
  common_option "$@" && { shift "$OPT_SHIFT"; continue; } # -n --url --json --timeout...
  case $1 in
    -p | --prompt) require_value "$@"; prompt=$2; prompt_source=arg; shift 2 ;;
    --prompt-file) require_value "$@"; prompt_file=$2; prompt_source='file'; shift 2 ;;
    -c | --concurrency) require_value "$@"; concurrency=$2; shift 2 ;;
    --warmup) require_value "$@"; warmup=$2; shift 2 ;;
    --csv) $want_json && usage_error "--json and --csv exclude each other"; format=csv; shift ;;
    --histogram) histogram=true; shift ;;
    --save) require_value "$@"; save_file=$2; shift 2 ;;
    --compare) require_value "$@"; compare_file=$2; shift 2 ;;
    --prompt=* | --prompt-file=* | --concurrency=* | --warmup=* | --save=* | --compare=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;; # --flag=VALUE as --flag VALUE
    --) shift; break ;;
    -?*) usage_error "unknown option '$1'" ;;
    *) positional+=("$1"); shift ;;
  esac
done
positional+=("$@")
if $want_json; then
  [[ $format != csv ]] || usage_error "--json and --csv exclude each other"
  format=json
fi
((${#positional[@]} <= 1)) || usage_error "give one N, got: ${positional[*]}"
((${#positional[@]} == 0)) || runs=${positional[0]}

require_uint N "$runs" 1
require_uint --max-tokens "$max_tokens" 1
require_uint --concurrency "$concurrency" 1
require_uint --warmup "$warmup" 0
require_number --timeout "$timeout"
runs=$((10#$runs)) max_tokens=$((10#$max_tokens))
concurrency=$((10#$concurrency)) warmup=$((10#$warmup))
((concurrency <= runs)) || usage_error "--concurrency ($concurrency) is more than the $runs runs"
[[ -n $url ]] || default_url_to url
url=${url%/}
require_http_url "$url"

# The prompt: `-` (or --prompt-file -) is stdin; from stdin or a file one trailing
# newline goes, as in gpt-oss-query.sh. -N reads in blocks, even from a pipe.
[[ $prompt_source == arg && $prompt == - ]] && prompt_source=file prompt_file=-
if [[ $prompt_source == file ]]; then
  if [[ $prompt_file == - ]]; then
    [[ -t 0 ]] && usage_error "the prompt is to come from stdin, but stdin is a terminal"
    IFS= read -r -N 2147483647 prompt || true
  else
    [[ -f $prompt_file && -r $prompt_file ]] || usage_error "cannot read the prompt file '$prompt_file'"
    IFS= read -r -N 2147483647 prompt <"$prompt_file" || true
  fi
  prompt=${prompt%$'\n'}
fi
[[ -n $prompt ]] || usage_error "the prompt is empty"
require_utf8 "the prompt" "$prompt"
byte_length() { local LC_ALL=C; printf -v "$1" '%d' "${#2}"; }
prompt_bytes=0
byte_length prompt_bytes "$prompt"

if [[ -n $compare_file ]]; then
  [[ -f $compare_file && -r $compare_file ]] || usage_error "cannot read --compare file '$compare_file'"
  compare_text=$(<"$compare_file")
  [[ $compare_text == *'"latency_ms"'* ]] ||
    usage_error "--compare file '$compare_file' is not a summary saved by gpt-oss-bench.sh --save"
  unset compare_text
fi
# What would fail after the last run (losing every result) is checked before the first.
if [[ -n $save_file ]]; then
  [[ ! -d $save_file ]] || usage_error "--save '$save_file' is a directory; give a file name"
  save_dir=$(dirname -- "$save_file")
  [[ -d $save_dir && -w $save_dir ]] || usage_error "cannot write --save file '$save_file' (no such writable folder)"
  [[ ! -e $save_file || -w $save_file ]] || usage_error "cannot write --save file '$save_file' (not writable)"
fi
require_gpt_oss_py # the summary at the end
show_bar=false
color_ok 2 && show_bar=true

# --- the server: up, loaded, how many slots ---
tr_health "$url"
[[ $TR_HEALTH == ok ]] || die "$TR_ERR_CODE" "$TR_HEALTH_ERR"
props=$(curl_json --max-time 10 "$url/props" 2>/dev/null) || props=
json_string_field_to model "$props" model_path || model=
json_number_field_to slots "$props" total_slots || slots=
[[ -z $slots ]] || ((concurrency <= slots)) ||
  usage_error "--concurrency $concurrency is more than the server's $slots slots (-np)"

# --- scratch space; nothing of ours outlives the run ---
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpt-oss-bench.XXXXXX")
client_pids=()
cleanup() {
  local pid
  for pid in ${client_pids[@]+"${client_pids[@]}"}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
body_file=$tmp/body.json
rows_file=$tmp/rows.tsv
tr_request_body "$body_file" "$prompt" "$max_tokens"
unset prompt

# run_one RUN CLIENT → one request; sets `row` (tab-separated: run, client, t0, t1, t2,
# tokens, timings JSON) or fails with TR_ERR_CODE/TR_ERR_MSG set.
run_one() {
  timed_completion "$url" "$body_file" "$timeout"
  tr_check "$url" || return 1
  row="$1"$'\t'"$2"$'\t'"$TR_T0"$'\t'"$TR_T1"$'\t'"$TR_T2"$'\t'"$TR_PREDICTED_N"$'\t'"$TR_TIMINGS"
}

bar_hashes='##############################' bar_dots='..............................'
clear_bar() { $show_bar && printf '\r\033[K' >&2; return 0; }
draw_bar() { # draw_bar DONE TOTAL
  $show_bar || return 0
  local filled=$(($1 * 30 / $2))
  printf '\r\033[K%s: [%s%s] %d/%d' "$PROG" "${bar_hashes:0:filled}" "${bar_dots:0:30-filled}" "$1" "$2" >&2
}
report_row() { # report_row LABEL ROW → the per-run line on stderr
  local label=$1 run client t0 t1 t2 tokens rest ms ttft
  IFS=$'\t' read -r run client t0 t1 t2 tokens rest <<<"$2"
  ms_of ms $((t2 - t0))
  ms_of ttft $((t1 - t0))
  clear_bar
  if [[ $label == warm-up ]]; then
    label="warm-up $run/$warmup"
  else
    label="run $run/$runs"
    ((concurrency == 1)) || label+=" (client $client)"
  fi
  say "$label: $ms ms, TTFT $ttft ms, $tokens tokens"
}

# --- warm-up: sequential, not counted ---
for ((i = 1; i <= warmup; i++)); do
  run_one "$i" 1 || die "$TR_ERR_CODE" "warm-up $i: $TR_ERR_MSG"
  report_row warm-up "$row"
done

# --- the measured runs ---
exec {rows_fd}>"$rows_file"
done_runs=0
draw_bar 0 "$runs"
if ((concurrency == 1)); then
  for ((i = 1; i <= runs; i++)); do
    run_one "$i" 1 || { clear_bar; die "$TR_ERR_CODE" "run $i: $TR_ERR_MSG"; }
    printf '%s\n' "$row" >&"$rows_fd"
    report_row run "$row"
    draw_bar "$i" "$runs"
  done
else
  # K clients in the background, each writing one line per run (shorter than
  # PIPE_BUF, so lines never interleave) to a FIFO that this shell reads and reports.
  # Opened read-write so that it never reports EOF between two clients' lifetimes.
  mkfifo "$tmp/rows.fifo"
  exec {fifo_fd}<>"$tmp/rows.fifo"
  client_loop() { # client_loop CLIENT
    local run
    trap - EXIT INT TERM # the scratch dir and the other clients belong to the main shell
    for ((run = $1; run <= runs; run += concurrency)); do
      if ! run_one "$run" "$1"; then
        printf 'ERR\t%s\t%s\n' "$TR_ERR_CODE" "run $run: $TR_ERR_MSG"
        return 0
      fi
      printf '%s\n' "$row"
    done
    printf 'DONE\t%s\n' "$1"
  }
  for ((c = 1; c <= concurrency; c++)); do
    client_loop "$c" >&"$fifo_fd" &
    client_pids+=($!)
  done
  finished=0
  while ((finished < concurrency)); do
    if ! IFS= read -r -t 1 -u "$fifo_fd" line; then
      # No line for a second: make sure the clients still live (one killed from outside
      # would otherwise leave us waiting forever).
      kill -0 "${client_pids[@]}" 2>/dev/null || # (true while at least one lives)
        { clear_bar; die "$EXIT_ERROR" "the bench clients ended without reporting"; }
      continue
    fi
    case $line in
      DONE$'\t'*) finished=$((finished + 1)) ;;
      ERR$'\t'*)
        IFS=$'\t' read -r _ code message <<<"$line"
        clear_bar
        die "$code" "$message"
        ;;
      *)
        printf '%s\n' "$line" >&"$rows_fd"
        report_row run "$line"
        done_runs=$((done_runs + 1))
        draw_bar "$done_runs" "$runs"
        ;;
    esac
  done
  for pid in "${client_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  client_pids=()
fi
exec {rows_fd}>&-
clear_bar

# --- statistics: the Python core, once ---
mkdir -p "$(state_dir)"
py_args=(bench summarize --rows "$rows_file" --format "$format" --prog "$PROG"
  --url "$url" --model "$model" --runs "$runs" --warmup "$warmup"
  --max-tokens "$max_tokens" --concurrency "$concurrency" --prompt-bytes "$prompt_bytes"
  --state-file "$(state_dir)/last-bench.json")
$histogram && py_args+=(--histogram)
[[ -n $save_file ]] && py_args+=(--save "$save_file")
[[ -n $compare_file ]] && py_args+=(--compare "$compare_file")
gpt_oss_py "${py_args[@]}"
