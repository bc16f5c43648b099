#!/usr/bin/env bash
# Usage: scripts/make/bench-sections/10-context.sh   (run by make bench)
# Summary: the guide's "small context wins", measured on both server dialects.
#
# Each setting (the table below) is started by gpt-oss-fast.sh, so its own flags, dialect
# and context rules apply; what is measured is in the Markdown it prints and in
# docs/performance.md. Markdown on stdout, numbers in $BENCH_SECTIONS_DIR/10-context.json.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$BENCH_ROOT/scripts/lib/common.sh"
use_libs lifecycle server_measure

runs=$((BENCH_RUNS < 20 ? BENCH_RUNS : 20))
interleaved=$((BENCH_RUNS > 41 ? BENCH_RUNS : 41))
scratch=$(mktemp -d)
cleanup() {
  local state
  for state in "$scratch"/state-*; do [[ -d "$state" ]] && sm_stop "$state"; done
  rm -rf "$scratch"
}
trap cleanup EXIT
progress() { printf 'bench: context: %s\n' "$*" >&2; }
long_prompt=$(printf 'The quick brown fox jumps over the lazy dog. %.0s' {1..12})
query_body='{"prompt":"1+1=","n_predict":8,"temperature":0,"cache_prompt":true}'

new_bin=$BENCH_BINARY
old_bin=$("$BENCH_ROOT/scripts/provision/llama-server.sh" --aug2025)
# label, then the knobs gpt-oss-fast.sh gets (none: its default)
settings=(
  "-c 384 (the guide)|GPT_OSS_CTX=384"
  "-c 384 -kvu|GPT_OSS_CTX=384 GPT_OSS_KV_UNIFIED=1"
  "-c 1024|GPT_OSS_CTX=1024"
  "-c 1024 -kvu|GPT_OSS_CTX=1024 GPT_OSS_KV_UNIFIED=1"
  "-c 4096|GPT_OSS_CTX=4096"
  "-c 4096 -kvu|GPT_OSS_CTX=4096 GPT_OSS_KV_UNIFIED=1"
  "suite default|"
)
rows_json=() n=0

measure_setting() { # measure_setting DIALECT BINARY LABEL KNOBS → one table row
  local dialect=$1 bin=$2 label=$3 knobs=$4 state port short long props slot_ctx rss kv
  local -a env_args=()
  read -ra env_args <<<"$knobs"
  n=$((n + 1))
  state="$scratch/state-$n"
  port=$(sm_free_port)
  if ! sm_start "$state" "$port" LLAMA_SERVER="$bin" GPT_OSS_GGUF_MODEL_PATH="$BENCH_MODEL" \
    "${env_args[@]}"; then
    progress "$dialect $label: $SM_ERROR"
    echo "| $dialect | $label | failed | | | | | | | |"
    return 0
  fi
  short=$(sm_bench "$SM_URL" "$runs" 8 "1+1=")
  long=$(sm_bench "$SM_URL" "$runs" 32 "$long_prompt")
  props=$(curl -4 -s "$SM_URL/props")
  slot_ctx=$(sm_field "$props" default_generation_settings n_ctx)
  rss=$(sm_rss_mib "$SM_PID")
  # The 2026 server logs its KV size only at trace level: the suite's estimate, which
  # tests/tool-defaults-real.bats checks against both servers' own report.
  kv=$(env XDG_STATE_HOME="$state" LLAMA_SERVER="$bin" GPT_OSS_GGUF_MODEL_PATH="$BENCH_MODEL" \
    "${env_args[@]}" "$BENCH_ROOT/scripts/gpt-oss-fast.sh" --kv-estimate --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["mib"])' || echo n/a)
  sm_stop "$state"
  local cells=(
    "$(sm_field "$short" latency_ms p50)" "$(sm_field "$short" latency_ms p95)"
    "$(sm_field "$long" latency_ms p50)" "$(sm_field "$long" latency_ms p95)"
    "$(sm_field "$long" prompt_tps_median)" "$(sm_field "$long" decode_tps_median)"
  )
  progress "$dialect $label: query p50 ${cells[0]} ms, RSS $rss MiB"
  echo "| $dialect | $label \`${SM_ARGV#* -c }\` | $slot_ctx | ${cells[0]} / ${cells[1]} | ${cells[2]} / ${cells[3]} | ${cells[4]} | ${cells[5]} | $rss | $kv | $SM_START_MS |"
  rows_json+=("$(python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
    dialect "$dialect" setting "$label" argv "$SM_ARGV" n_ctx_per_slot "$slot_ctx" \
    query_p50_ms "${cells[0]}" query_p95_ms "${cells[1]}" prompt130_p50_ms "${cells[2]}" \
    prompt130_p95_ms "${cells[3]}" prompt_tps "${cells[4]}" decode_tps "${cells[5]}" \
    rss_mib "$rss" kv_mib "$kv" start_to_first_answer_ms "$SM_START_MS")")
}

# interleave DIALECT BINARY → the 3 % criterion: default vs -c 384 -np 4, both running
interleave() {
  local dialect=$1 bin=$2 base_state="$scratch/state-base-$1" def_state="$scratch/state-def-$1"
  local i side t0 t1 p50_base p50_def ratio verdict
  local -A url_of=()
  sm_start "$base_state" "$(sm_free_port)" LLAMA_SERVER="$bin" GPT_OSS_GGUF_MODEL_PATH="$BENCH_MODEL" GPT_OSS_CTX=384 || return 1
  url_of[base]=$SM_URL
  sm_start "$def_state" "$(sm_free_port)" LLAMA_SERVER="$bin" GPT_OSS_GGUF_MODEL_PATH="$BENCH_MODEL" || return 1
  url_of[def]=$SM_URL
  for ((i = 0; i < interleaved + 2; i++)); do
    for side in base def; do
      t0=${EPOCHREALTIME/[.,]/}
      curl -4 -s -o /dev/null -H 'Content-Type: application/json' --data-binary "$query_body" "${url_of[$side]}/completion"
      t1=${EPOCHREALTIME/[.,]/}
      ((i < 2)) || printf '%d.%03d\n' $(((t1 - t0) / 1000)) $(((t1 - t0) % 1000)) >>"$scratch/$side-$dialect"
    done
  done
  sm_stop "$base_state"
  sm_stop "$def_state"
  p50_base=$("$BENCH_ROOT/.venv/bin/gpt-oss-py" bench summarize --samples "$scratch/base-$dialect" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p50"])')
  p50_def=$("$BENCH_ROOT/.venv/bin/gpt-oss-py" bench summarize --samples "$scratch/def-$dialect" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p50"])')
  ratio=$(awk -v a="$p50_def" -v b="$p50_base" 'BEGIN { printf "%.3f", a / b }')
  verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.03) ? "PASS" : "MISS" }')
  progress "$dialect: default $p50_def ms vs -c 384 $p50_base ms: $ratio $verdict"
  echo "| $dialect | $p50_def | $p50_base | $ratio | <= 1.03 | $verdict |"
  rows_json+=("{\"criterion\":\"query_p50_default_vs_c384\",\"dialect\":\"$dialect\",\"default_p50_ms\":$p50_def,\"c384_p50_ms\":$p50_base,\"ratio\":$ratio,\"target\":1.03,\"runs\":$interleaved,\"result\":\"$verdict\"}")
}

echo "## Context size and unified KV, measured (the guide's \"small context wins\")"
echo
echo "Model: ${BENCH_MODEL##*/}. Each row is a server started by gpt-oss-fast.sh with those knobs"
echo "(4 slots). Query: 8 tokens of \"1+1=\"; long: a ~130-token prompt, 32 tokens, no prompt"
echo "cache; p50 / p95 ms of $runs runs each (gpt-oss-bench.sh). RSS: the server process after"
echo "the runs; KV: the KV cache (\`gpt-oss-fast.sh --kv-estimate\`, which matches what the servers"
echo "report in their logs); start: gpt-oss-fast.sh to a first answer."
echo
echo "| server | setting (llama-server args from -c on) | per-slot n_ctx | query ms p50 / p95 | long ms p50 / p95 | prompt tok/s | decode tok/s | RSS MiB | KV MiB | start ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for dialect in Nov-2026 Aug-2025; do
  bin=$new_bin
  [[ $dialect == Aug-2025 ]] && bin=$old_bin
  for setting in "${settings[@]}"; do
    measure_setting "$dialect" "$bin" "${setting%%|*}" "${setting#*|}"
  done
done
echo
echo "The default against the guide's \`-c 384 -np 4\`: 8-token query p50, both servers up, $interleaved requests each, interleaved."
echo
echo "| server | default p50 ms | -c 384 p50 ms | ratio | target | result |"
echo "|---|---|---|---|---|---|"
interleave Nov-2026 "$new_bin"
interleave Aug-2025 "$old_bin"
printf '[%s]\n' "$(IFS=,; echo "${rows_json[*]}")" >"$BENCH_SECTIONS_DIR/10-context.json"
