#!/usr/bin/env bash
# Usage: scripts/make/bench-report.sh [RUNS]
# Summary: `make bench` — measure the suite against bare curl on the same real server.
#
# Starts the suite's server on the bundled SmolLM2 model with gpt-oss-fast.sh (or uses
# the server at GPT_OSS_URL when set), then measures side by side, in one run:
#   1. gpt-oss-query.sh vs bare curl of the identical request (median ratio, <= 1.10)
#   2. local-infer.sh --raw vs bare curl                        (median ratio, <= 1.30)
#   3. gpt-oss-fast.sh to first answer vs a hand start polling /health every 10 ms (<= 1.15)
#   4. gpt-oss-bench.sh p50 vs an independent curl loop's p50   (within 5 %)
#   5. the guide's fast flags vs llama-server defaults: decode/prompt tok/s, p50
#   6. the Harmony core's share: render + parse ms vs the request ms (tiny gpt-oss model)
# Samples are interleaved (A, B, A, B, ...) so drift on a busy machine hits both sides.
# Writes bench/report.md and bench/report.json; progress on stderr. RUNS defaults to 30.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
# shellcheck source=scripts/lib/json.sh
source "$root/scripts/lib/json.sh"

runs=${1:-30}
require_uint RUNS "$runs" 3
out_dir="$root/bench"
mkdir -p "$out_dir"
scratch=$(mktemp -d)
export XDG_STATE_HOME="$scratch/state" # our servers never touch the user's own state
export GPT_OSS_KEEPALIVE_SECS=0         # no keepalive request between the timed ones
hand_pid=""
cleanup() {
  [[ -n "$hand_pid" ]] && stop_pid "$hand_pid" 5
  "$root/scripts/gpt-oss-fast.sh" stop >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
# shellcheck source=scripts/lib/state.sh
source "$root/scripts/lib/state.sh"
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
  if summary=$("$root/.venv/bin/gpt-oss-py" stats summarize --json "$1"); then
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

a="" b="" c="" rendered="" fast_argv=() # filled by time_ms / json_escape_to / eval
prompt="1+1="
query_body="$scratch/query.json"
# Byte for byte what each script sends, so the only difference is the script itself.
printf '{"prompt":"%s","n_predict":8,"temperature":0,"cache_prompt":true,"response_fields":["content","truncated"]}' \
  "$prompt" >"$query_body"

# 1 and 2: the clients' overhead against bare curl, interleaved
progress "1/6 gpt-oss-query.sh vs curl ($runs runs each)"
raw_body="$scratch/raw.json"
printf '{"prompt":"%s","n_predict":16,"temperature":0,"cache_prompt":true}' "$prompt" >"$raw_body"
for ((i = 0; i < runs; i++)); do
  time_ms a bare_curl /completion "$query_body"
  time_ms b "$root/scripts/gpt-oss-query.sh" "$prompt"
  echo "$a" >>"$scratch/curl-query"
  echo "$b" >>"$scratch/query"
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
  "$root/scripts/gpt-oss-fast.sh" stop >/dev/null 2>&1
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
    "$root/scripts/gpt-oss-fast.sh" stop >/dev/null 2>&1
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

# 6: the Harmony core's time against the request it prepares (tiny gpt-oss model)
progress "6/6 Harmony render + parse vs the request"
tiny=$("$root/scripts/provision/models.sh" tiny-gpt-oss)
harmony_port=$(free_port)
"$binary" -m "$tiny" --host 127.0.0.1 --port "$harmony_port" -c 4096 -np 1 >"$scratch/tiny.log" 2>&1 &
hand_pid=$!
until [[ "$(curl -4 -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$harmony_port/health")" == 200 ]]; do sleep 0.01; done
conversation="$root/tests/fixtures/harmony/one_tool.json"
"$root/.venv/bin/gpt-oss-py" harmony render "$conversation" >"$scratch/rendered.txt"
json_escape_to rendered "$(<"$scratch/rendered.txt")"
printf '{"prompt":"%s","n_predict":32,"temperature":0,"cache_prompt":false}' "$rendered" >"$scratch/harmony.json"
curl -4 -s -H 'Content-Type: application/json' --data-binary "@$scratch/harmony.json" \
  "http://127.0.0.1:$harmony_port/completion" >"$scratch/harmony-reply.json"
# The whole Harmony path of local-infer.sh (render, exact context check, request, parse)
# against its raw path, same server and prompt. The tiny model's reply is random, so a
# non-zero exit (an incomplete Harmony reply) still counts as a finished call.
harmony_url="http://127.0.0.1:$harmony_port"
infer_harmony() { "$root/scripts/local-infer.sh" --url "$harmony_url" --max-tokens 32 "Say hi" || true; }
infer_raw() { "$root/scripts/local-infer.sh" --raw --url "$harmony_url" --max-tokens 32 "Say hi" || true; }
for ((i = 0; i < 10; i++)); do
  time_ms a infer_harmony
  time_ms b infer_raw
  echo "$a" >>"$scratch/infer-harmony"
  echo "$b" >>"$scratch/infer-raw"
done
for ((i = 0; i < 10; i++)); do
  time_ms a "$root/.venv/bin/gpt-oss-py" harmony render "$conversation"
  time_ms b "$root/.venv/bin/gpt-oss-py" harmony parse "$scratch/harmony-reply.json"
  time_ms c curl -4 -s -o /dev/null -H 'Content-Type: application/json' --data-binary "@$scratch/harmony.json" \
    "http://127.0.0.1:$harmony_port/completion"
  echo "$a" >>"$scratch/render"
  echo "$b" >>"$scratch/parse"
  echo "$c" >>"$scratch/harmony-request"
done
stop_pid "$hand_pid" 5
hand_pid=""

# --- the report ---
q_curl=$(stat_of "$scratch/curl-query" p50) q_ours=$(stat_of "$scratch/query" p50)
r_curl=$(stat_of "$scratch/curl-raw" p50) r_ours=$(stat_of "$scratch/raw" p50)
l_curl=$(stat_of "$scratch/curl-loop" p50)
q_ratio=$(ratio "$q_ours" "$q_curl") r_ratio=$(ratio "$r_ours" "$r_curl")
b_ratio=$(ratio "$bench_p50" "$l_curl")
b_dev=$(awk -v r="$b_ratio" 'BEGIN { d = (r - 1) * 100; if (d < 0) d = -d; printf "%.1f", d }')
render_ms=$(stat_of "$scratch/render" p50) parse_ms=$(stat_of "$scratch/parse" p50)
request_ms=$(stat_of "$scratch/harmony-request" p50)
share=$(awk -v a="$render_ms" -v b="$parse_ms" -v c="$request_ms" 'BEGIN { printf "%.0f", 100 * (a + b) / (a + b + c) }')
infer_harmony_ms=$(stat_of "$scratch/infer-harmony" p50) infer_raw_ms=$(stat_of "$scratch/infer-raw" p50)
harmony_added=$(awk -v a="$infer_harmony_ms" -v b="$infer_raw_ms" 'BEGIN { printf "%.1f", a - b }')

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
  echo "| 1 | gpt-oss-query.sh vs curl (p50 ms) | $q_ours | $q_curl | $q_ratio | <= 1.10 | $(verdict "$q_ratio" '<=' 1.10) |"
  echo "| 2 | local-infer.sh --raw vs curl (p50 ms) | $r_ours | $r_curl | $r_ratio | <= 1.30 | $(verdict "$r_ratio" '<=' 1.30) |"
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
  echo "## 6. Harmony core time share (tiny gpt-oss model, one-tool conversation, 32 tokens)"
  echo
  echo "render $render_ms ms + parse $parse_ms ms (each a whole \`gpt-oss-py\` process) against a $request_ms ms request: $share % of the Harmony path."
  echo
  echo "\`local-infer.sh\` end to end (p50 of 10): Harmony path $infer_harmony_ms ms, raw path $infer_raw_ms ms: the Harmony path adds $harmony_added ms (Python start-up, /props, /tokenize, render, parse in one process)."
} >"$out_dir/report.md"

python3 - "$out_dir/report.json" <<EOF
import json, sys
report = {
    "date": "$(date -u +%Y-%m-%dT%H:%MZ)", "cpu": "$cpu", "cores": $(nproc),
    "server_version": "$version", "model": "$model_name", "runs": $runs,
    "query": {"suite_p50_ms": $q_ours, "curl_p50_ms": $q_curl, "ratio": $q_ratio, "target": 1.10},
    "local_infer_raw": {"suite_p50_ms": $r_ours, "curl_p50_ms": $r_curl, "ratio": $r_ratio, "target": 1.30},
    "bench_fidelity": {"bench_p50_ms": $bench_p50, "curl_loop_p50_ms": $l_curl, "deviation_pct": $b_dev, "target_pct": 5},
    "harmony": {"render_ms": $render_ms, "parse_ms": $parse_ms, "request_ms": $request_ms, "share_pct": $share,
                "local_infer_harmony_p50_ms": $infer_harmony_ms, "local_infer_raw_p50_ms": $infer_raw_ms, "added_ms": $harmony_added},
}
if $own_server:
    report["startup"] = {"suite_p50_ms": ${s_suite:-0}, "hand_p50_ms": ${s_hand:-0}, "ratio": ${s_ratio:-0}, "target": 1.15}
json.dump(report, open(sys.argv[1], "w"), indent=2)
EOF

# Sections of their own (one file each under scripts/make/bench-sections/, run in name
# order): each prints a Markdown section on stdout and may write NAME.json into
# $BENCH_SECTIONS_DIR; both are added to the report. They get the running server.
export BENCH_ROOT=$root BENCH_URL=$url BENCH_BINARY=$binary BENCH_RUNS=$runs
export BENCH_MODEL=$GPT_OSS_GGUF_MODEL_PATH BENCH_OWN_SERVER=$own_server
export BENCH_SECTIONS_DIR="$scratch/sections"
mkdir -p "$BENCH_SECTIONS_DIR"
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
