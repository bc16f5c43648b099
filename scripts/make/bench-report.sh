#!/usr/bin/env bash
# Usage: scripts/make/bench-report.sh [RUNS]
# Summary: `make bench` — measure the suite against bare curl on the same real server.
#
# Starts the suite's server on the bundled SmolLM2 model with gpt-oss-fast.sh (or uses
# the server at GPT_OSS_URL when set), then measures rows 1-6 of docs/performance.md
# ("What make bench measures") and runs scripts/make/bench-sections/*.sh after them.
# Samples are interleaved (A, B, A, B, ...) so drift on a busy machine hits both sides.
# Writes bench/report.md and bench/report.json; progress on stderr. RUNS defaults to 41.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
# shellcheck source=scripts/lib/json.sh
source "$root/scripts/lib/json.sh"

runs=${1:-41} # 41 interleaved runs: the median holds row 1's 5 % within noise
require_uint RUNS "$runs" 3
out_dir="$root/bench"
mkdir -p "$out_dir"
scratch=$(mktemp -d)
export XDG_STATE_HOME="$scratch/state" # our servers never touch the user's own state
export GPT_OSS_KEEPALIVE_SECS=0         # no keepalive request between the timed ones
hand_pid=""
cleanup() {
  [[ -n "$hand_pid" ]] && stop_pid "$hand_pid" 5
  "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
use_libs lifecycle # stop_pid
trap cleanup EXIT

progress() { printf 'bench: %s\n' "$*" >&2; }

free_port() {
  local port=18100
  while (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  printf '%s\n' "$port"
}

# time_ms VAR CMD... → wall milliseconds (3 decimals) of CMD, its output discarded
time_ms() {
  local __var=$1 t0 t1
  shift
  t0=${EPOCHREALTIME/[.,]/}
  "$@" >/dev/null 2>&1 || { progress "failed: $*"; return 1; }
  t1=${EPOCHREALTIME/[.,]/}
  printf -v "$__var" '%d.%03d' "$(((t1 - t0) / 1000))" "$(((t1 - t0) % 1000))"
}

# stat_of FILE KEY → one statistic of the samples in FILE (from the Python core)
stat_of() {
  local summary value=n/a
  if summary=$("$root/.venv/bin/gpt-oss-py" bench summarize --samples "$1"); then
    json_number_field_to value "$summary" "$2" || value=n/a
  fi
  [[ "$value" == n/a ]] || printf -v value '%.1f' "$value"
  printf '%s\n' "$value"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { # verdict VALUE OP TARGET → PASS or MISS
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "PASS" : "MISS" }'
}

bare_curl() { # bare_curl PATH BODY_FILE → the plain request, as a user would type it
  curl -4 -s -o /dev/null -H 'Content-Type: application/json' --data-binary "@$2" "$url$1"
}

# --- the server under test ---
export GPT_OSS_GGUF_MODEL_PATH
GPT_OSS_GGUF_MODEL_PATH=$("$root/scripts/provision/models.sh" smollm2)
binary=$("$root/scripts/provision/llama-server.sh")
export LLAMA_SERVER=$binary
own_server=1
if [[ -n "${GPT_OSS_URL:-}" ]]; then
  url=${GPT_OSS_URL%/}
  own_server=0
  progress "using the server at $url (start-up and flag comparisons need our own server: skipped)"
else
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  url="http://127.0.0.1:$GPT_OSS_PORT"
  export GPT_OSS_URL=$url
  progress "starting the suite's server on $GPT_OSS_GGUF_MODEL_PATH"
  "$root/scripts/gpt-oss-fast.sh" >/dev/null
fi

a="" b="" fast_argv=() # filled by time_ms / eval
prompt="1+1="
query_body="$scratch/query.json"
# Byte for byte what each script sends, so the only difference is the script itself.
printf '{"prompt":"%s","n_predict":8,"temperature":0,"cache_prompt":true,"response_fields":["content","truncated"]}' \
  "$prompt" >"$query_body"

# 1 and 2: the clients' overhead against bare curl, interleaved
progress "1/6 gpt-oss-query.sh vs curl ($runs runs each)"
raw_body="$scratch/raw.json"
printf '{"prompt":"%s","n_predict":16,"temperature":0,"cache_prompt":true,"response_fields":["content","stop","stop_type","tokens_evaluated","tokens_predicted","truncated","timings"]}' \
  "$prompt" >"$raw_body"
# with the floors of a Bash entrypoint (scripts/make/query-floor.sh): rows 1a and 1b
for ((i = 0; i < runs; i++)); do
  time_ms a bare_curl /completion "$query_body"
  time_ms b "$root/scripts/gpt-oss-query.sh" "$prompt"
  echo "$a" >>"$scratch/curl-query"
  echo "$b" >>"$scratch/query"
  for floor in exec coproc; do
    time_ms a "$root/scripts/make/query-floor.sh" "$floor" "$url/completion" "$query_body"
    echo "$a" >>"$scratch/floor-$floor"
  done
done
progress "2/6 local-infer.sh --raw vs curl ($runs runs each)"
for ((i = 0; i < runs; i++)); do
  time_ms a bare_curl /completion "$raw_body"
  time_ms b "$root/scripts/local-infer.sh" --backend gpt-oss --raw --url "$url" \
    --max-tokens 16 --temperature 0 "$prompt"
  echo "$a" >>"$scratch/curl-raw"
  echo "$b" >>"$scratch/raw"
done

# 4: gpt-oss-bench.sh's own p50 against a plain curl loop of the same request
progress "4/6 gpt-oss-bench.sh vs a curl loop ($runs runs each)"
bench_body="$scratch/bench.json"
printf '{"prompt":"%s","n_predict":8,"temperature":0,"cache_prompt":false,"ignore_eos":true,"stream":true}' \
  "$prompt" >"$bench_body"
stream_curl() {
  curl -4 -s -N -o /dev/null -H 'Content-Type: application/json' -H 'Expect:' \
    --data-binary "@$bench_body" "$url/completion"
}
# Blocks of 5 alternate so that background load hits both sides alike.
bench_rows="$scratch/bench-rows.csv"
for ((block = 0; block < runs / 5; block++)); do
  "$root/scripts/gpt-oss-bench.sh" 5 -p "$prompt" -n 8 --csv 2>/dev/null | tail -n +2 >>"$bench_rows"
  for ((i = 0; i < 5; i++)); do
    time_ms a stream_curl
    echo "$a" >>"$scratch/curl-loop"
  done
done
cut -d, -f4 "$bench_rows" >"$scratch/bench-ms"
bench_p50=$(stat_of "$scratch/bench-ms" p50)

# 3 and 5 need servers we start ourselves
if ((own_server)); then
  "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1
  eval "fast_argv=($("$root/scripts/gpt-oss-fast.sh" --print-cmd 2>/dev/null))"
  first_answer() { bare_curl /completion "$query_body"; }
  suite_start() {
    "$root/scripts/gpt-oss-fast.sh" --no-warmup >/dev/null 2>&1
    first_answer
  }
  hand_start() { # the same argv by hand, polling /health every 10 ms
    "${fast_argv[@]}" >"$scratch/hand.log" 2>&1 &
    hand_pid=$!
    until [[ "$(curl -4 -s -o /dev/null -w '%{http_code}' "$url/health")" == 200 ]]; do sleep 0.01; done
    first_answer
  }
  progress "3/6 start-up: gpt-oss-fast.sh vs a hand start (5 runs each)"
  for ((i = 0; i < 5; i++)); do
    time_ms a suite_start
    "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1
    time_ms b hand_start
    stop_pid "$hand_pid" 5
    hand_pid=""
    echo "$a" >>"$scratch/start-suite"
    echo "$b" >>"$scratch/start-hand"
  done

  # 5: the guide's flags against the server's defaults, same model, same requests
  long_prompt=$(printf 'The quick brown fox jumps over the lazy dog. %.0s' {1..12})
  printf '{"prompt":"%s","n_predict":32,"temperature":0,"cache_prompt":false}' "$long_prompt" >"$scratch/long.json"
  measure_flags() { # measure_flags NAME ARGV... → NAME-ms, NAME-decode, NAME-prompt files
    local name=$1 reply timings t0 t1 v
    shift
    "$@" >"$scratch/$name.log" 2>&1 &
    hand_pid=$!
    until [[ "$(curl -4 -s -o /dev/null -w '%{http_code}' "$url/health")" == 200 ]]; do
      kill -0 "$hand_pid" 2>/dev/null || { progress "$name server died"; return 1; }
      sleep 0.01
    done
    for ((i = 0; i < 3; i++)); do curl -4 -s -o /dev/null --data-binary "@$scratch/long.json" "$url/completion"; done
    for ((i = 0; i < runs; i++)); do
      t0=${EPOCHREALTIME/[.,]/}
      reply=$(curl -4 -s -H 'Content-Type: application/json' --data-binary "@$scratch/long.json" "$url/completion")
      t1=${EPOCHREALTIME/[.,]/}
      printf '%d.%03d\n' "$(((t1 - t0) / 1000))" "$(((t1 - t0) % 1000))" >>"$scratch/$name-ms"
      json_object_field_to timings "$reply" timings || continue
      json_number_field_to v "$timings" predicted_per_second && echo "$v" >>"$scratch/$name-decode"
      json_number_field_to v "$timings" prompt_per_second && echo "$v" >>"$scratch/$name-prompt"
    done
    stop_pid "$hand_pid" 5
    hand_pid=""
  }
  progress "5/6 fast flags vs llama-server defaults ($runs runs each)"
  measure_flags fast "${fast_argv[@]}"
  measure_flags defaults "$binary" -m "$GPT_OSS_GGUF_MODEL_PATH" --host 127.0.0.1 --port "$GPT_OSS_PORT"
fi

# 6: the Harmony path's cost over the raw path (tiny gpt-oss model, the suite's defaults)
progress "6/6 the Harmony path vs the raw path ($runs interleaved runs each)"
tiny=$("$root/scripts/provision/models.sh" tiny-gpt-oss)
harmony_port=$(free_port)
harmony_state="$scratch/harmony-state"
XDG_STATE_HOME=$harmony_state GPT_OSS_GGUF_MODEL_PATH=$tiny GPT_OSS_KEEPALIVE_SECS=0 \
  "$root/scripts/gpt-oss-fast.sh" --port "$harmony_port" >/dev/null 2>&1
harmony_url="http://127.0.0.1:$harmony_port"
# cpu_timed NAME CMD... → appends wall ms to NAME and user+sys ms to NAME-cpu. The tiny
# model's reply is random, so a non-zero exit (an incomplete Harmony reply) still counts.
cpu_timed() {
  local name=$1 line TIMEFORMAT='%R %U %S'
  shift
  line=$({ time "$@" >/dev/null 2>&1; } 2>&1 || true)
  read -r wall user sys <<<"$line"
  awk -v w="$wall" 'BEGIN { printf "%.1f\n", w * 1000 }' >>"$scratch/$name"
  awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f\n", (u + s) * 1000 }' >>"$scratch/$name-cpu"
}
infer() { "$root/scripts/local-infer.sh" --url "$harmony_url" -n 32 "$@" Hello || true; }
for ((i = 0; i < runs; i++)); do
  cpu_timed infer-harmony infer
  cpu_timed infer-raw infer --raw
  cpu_timed infer-tools infer --tools --workspace "$root/docs"
done
"$root/.venv/bin/gpt-oss-py" bench harmony-split --url "$harmony_url" --runs 10 >"$scratch/split.json"
"$root/.venv/bin/gpt-oss-py" bench harmony-split --url "$harmony_url" --runs 10 --tools >"$scratch/split-tools.json"
XDG_STATE_HOME=$harmony_state "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1

# --- the report ---
q_curl=$(stat_of "$scratch/curl-query" p50) q_ours=$(stat_of "$scratch/query" p50)
f_exec=$(stat_of "$scratch/floor-exec" p50) f_coproc=$(stat_of "$scratch/floor-coproc" p50)
r_curl=$(stat_of "$scratch/curl-raw" p50) r_ours=$(stat_of "$scratch/raw" p50)
l_curl=$(stat_of "$scratch/curl-loop" p50)
q_ratio=$(ratio "$q_ours" "$q_curl") r_ratio=$(ratio "$r_ours" "$r_curl")
b_ratio=$(ratio "$bench_p50" "$l_curl")
b_dev=$(awk -v r="$b_ratio" 'BEGIN { d = (r - 1) * 100; if (d < 0) d = -d; printf "%.1f", d }')
infer_harmony_ms=$(stat_of "$scratch/infer-harmony" p50) infer_raw_ms=$(stat_of "$scratch/infer-raw" p50)
infer_tools_ms=$(stat_of "$scratch/infer-tools" p50)
harmony_added=$(awk -v a="$infer_harmony_ms" -v b="$infer_raw_ms" 'BEGIN { printf "%.1f", a - b }')
tools_added=$(awk -v a="$infer_tools_ms" -v b="$infer_raw_ms" 'BEGIN { printf "%.1f", a - b }')
cpu_harmony=$(stat_of "$scratch/infer-harmony-cpu" p50) cpu_raw=$(stat_of "$scratch/infer-raw-cpu" p50)
cpu_tools=$(stat_of "$scratch/infer-tools-cpu" p50)
cpu_added=$(awk -v a="$cpu_harmony" -v b="$cpu_raw" 'BEGIN { printf "%.1f", a - b }')
split=$(<"$scratch/split.json") split_tools=$(<"$scratch/split-tools.json")
split_line() { # split_line JSON → the split as one Markdown sentence
  python3 -c 'import json, sys; print(
    "start-up {startup_ms} ms, imports {imports_ms} ms, render {render_ms} ms, GET /props"
    " {props_ms} ms, POST /tokenize {tokenize_ms} ms ({prompt_tokens} tokens), POST"
    " /completion {completion_ms} ms, parse {parse_ms} ms".format(**json.loads(sys.argv[1])))' "$1"
}

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || uname -m)
version=$("$binary" --version 2>&1 | grep -m1 version || echo unknown)
model_name=${GPT_OSS_GGUF_MODEL_PATH##*/}
{
  echo "# make bench — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $cpu, $(nproc) cores. Server: llama-server $version. Model: $model_name."
  echo "Median of $runs interleaved runs unless said otherwise; ms are wall-clock per command."
  echo
  echo "| # | measure | suite | baseline | ratio | target | result |"
  echo "|---|---|---|---|---|---|---|"
  echo "| 1 | gpt-oss-query.sh vs curl, same request (p50 ms of $runs interleaved) | $q_ours | $q_curl | $q_ratio | <= 1.05 | $(verdict "$q_ratio" '<=' 1.05) |"
  echo "| 1a | floor: a Bash script that only execs curl (env, Bash start-up, exec) vs curl | $f_exec | $q_curl | $(ratio "$f_exec" "$q_curl") | (reported) | |"
  echo "| 1b | floor: the query's design alone (coproc curl, its configuration, the reply read and printed) vs curl | $f_coproc | $q_curl | $(ratio "$f_coproc" "$q_curl") | (reported) | |"
  echo "| 2 | local-infer.sh --raw vs curl, same request (p50 ms of $runs interleaved) | $r_ours | $r_curl | $r_ratio | <= 1.10 | $(verdict "$r_ratio" '<=' 1.10) |"
  if ((own_server)); then
    s_suite=$(stat_of "$scratch/start-suite" p50) s_hand=$(stat_of "$scratch/start-hand" p50)
    s_ratio=$(ratio "$s_suite" "$s_hand")
    echo "| 3 | start to first answer: gpt-oss-fast.sh vs hand start, 10 ms polls (p50 of 5, warm-up excluded) | $s_suite | $s_hand | $s_ratio | <= 1.15 | $(verdict "$s_ratio" '<=' 1.15) |"
  fi
  echo "| 4 | gpt-oss-bench.sh p50 vs curl loop p50 (ms) | $bench_p50 | $l_curl | $b_ratio | within 5 % | $(verdict "$b_dev" '<=' 5) |"
  if ((own_server)); then
    echo
    echo "## 5. The guide's fast flags vs llama-server defaults (same model, ~130-token prompt, 32 tokens, no prompt cache)"
    echo
    echo "| flags | p50 ms | decode tok/s (median) | prompt tok/s (median) |"
    echo "|---|---|---|---|"
    for name in fast defaults; do
      echo "| $name | $(stat_of "$scratch/$name-ms" p50) | $(stat_of "$scratch/$name-decode" p50) | $(stat_of "$scratch/$name-prompt" p50) |"
    done
    echo
    echo "fast = \`$(printf '%s ' "${fast_argv[@]:1}" | sed 's/ $//')\`; defaults = \`-m MODEL --host 127.0.0.1 --port N\`."
  fi
  echo
  echo "## 6. The Harmony path's cost over the raw path (tiny gpt-oss model, the suite's default server)"
  echo
  echo "\`local-infer.sh -n 32 Hello\` (Harmony, no tools) against the same with \`--raw\`, whole processes, p50 of $runs interleaved runs:"
  echo
  echo "| path | wall ms p50 | added over --raw | CPU ms p50 (user+sys) | target | result |"
  echo "|---|---|---|---|---|---|"
  echo "| --raw | $infer_raw_ms | | $cpu_raw | | |"
  echo "| Harmony | $infer_harmony_ms | $harmony_added | $cpu_harmony | added <= 70 ms | $(verdict "$harmony_added" '<=' 70) |"
  echo "| Harmony --tools | $infer_tools_ms | $tools_added | $cpu_tools | (reported) | |"
  echo
  echo "Added CPU time of the Harmony path: $cpu_added ms per call (before the fast path: ~200 ms; target: at most half, <= 100 ms): $(verdict "$cpu_added" '<=' 100)."
  echo
  echo "Where it goes (\`gpt-oss-py bench harmony-split\`, medians): $(split_line "$split"). With the tools: $(split_line "$split_tools")."
} >"$out_dir/report.md"

python3 - "$out_dir/report.json" <<EOF
import json, sys
false, true, null = False, True, None  # the JSON pasted in below
report = {
    "date": "$(date -u +%Y-%m-%dT%H:%MZ)", "cpu": "$cpu", "cores": $(nproc),
    "server_version": "$version", "model": "$model_name", "runs": $runs,
    "query": {"suite_p50_ms": $q_ours, "curl_p50_ms": $q_curl, "ratio": $q_ratio, "target": 1.05,
              "floor_exec_p50_ms": $f_exec, "floor_coproc_p50_ms": $f_coproc},
    "local_infer_raw": {"suite_p50_ms": $r_ours, "curl_p50_ms": $r_curl, "ratio": $r_ratio, "target": 1.10},
    "bench_fidelity": {"bench_p50_ms": $bench_p50, "curl_loop_p50_ms": $l_curl, "deviation_pct": $b_dev, "target_pct": 5},
    "harmony": {"local_infer_harmony_p50_ms": $infer_harmony_ms, "local_infer_raw_p50_ms": $infer_raw_ms,
                "local_infer_tools_p50_ms": $infer_tools_ms, "added_ms": $harmony_added, "target_added_ms": 70,
                "tools_added_ms": $tools_added, "cpu_ms": {"harmony": $cpu_harmony, "raw": $cpu_raw, "tools": $cpu_tools},
                "cpu_added_ms": $cpu_added, "split": $split, "split_tools": $split_tools},
}
if $own_server:
    report["startup"] = {"suite_p50_ms": ${s_suite:-0}, "hand_p50_ms": ${s_hand:-0}, "ratio": ${s_ratio:-0}, "target": 1.15}
json.dump(report, open(sys.argv[1], "w"), indent=2)
EOF

# Sections (scripts/make/bench-sections/*.sh, in name order) print Markdown on stdout and
# may write NAME.json into $BENCH_SECTIONS_DIR: both go into the report.
export BENCH_ROOT=$root BENCH_URL=$url BENCH_BINARY=$binary BENCH_RUNS=$runs
export BENCH_MODEL=$GPT_OSS_GGUF_MODEL_PATH BENCH_OWN_SERVER=$own_server
export BENCH_SECTIONS_DIR="$scratch/sections"
mkdir -p "$BENCH_SECTIONS_DIR"
# Sections 3 and 5 stopped the suite's server: sections get it running again.
((own_server)) && "$root/scripts/gpt-oss-fast.sh" >/dev/null 2>&1
for section in "$root"/scripts/make/bench-sections/*.sh; do
  [[ -e "$section" ]] || continue
  name=${section##*/}
  name=${name%.sh}
  progress "section $name"
  if section_md=$("$section"); then
    printf '\n%s\n' "$section_md" >>"$out_dir/report.md"
  else
    progress "section $name failed (exit $?); the report goes on without it"
    printf '\n## %s\n\nFAILED: see the bench log.\n' "$name" >>"$out_dir/report.md"
  fi
done
python3 - "$out_dir/report.json" "$BENCH_SECTIONS_DIR" <<'EOF'
import json, pathlib, sys
report_path, sections = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
report = json.loads(report_path.read_text())
report["sections"] = {p.stem: json.loads(p.read_text()) for p in sorted(sections.glob("*.json"))}
report_path.write_text(json.dumps(report, indent=2) + "\n")
EOF
cat "$out_dir/report.md"
progress "wrote bench/report.md and bench/report.json"
