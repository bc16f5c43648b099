#!/usr/bin/env bats
# scripts/local-infer.sh against the REAL llama-server: the raw path and the OpenAI chat
# backend on SmolLM2 (real text, has a chat template), the Harmony path on the tiny
# gpt-oss model (random output: shapes and exit codes only) — render, exact context
# check against the per-slot context, and the fallback to raw.

bats_require_minimum_version 1.5.0
load helpers/test_helper

SCRIPT="$SUITE_ROOT/scripts/local-infer.sh"

setup_file() {
  load helpers/real_server
  start_real_server smollm2 -c 2048 -np 1
  export SMOL_URL=$REAL_URL
  # The guide's small context: 384 over 4 slots gives 256 tokens per slot.
  start_real_server tiny-gpt-oss -c 384 -np 4
  export TINY_URL=$REAL_URL
  start_real_server tiny-gpt-oss -c 4096 -np 1
  export TINY_BIG_URL=$REAL_URL
}
teardown_file() {
  load helpers/real_server
  stop_real_server
}
setup() { common_setup; }
teardown() { common_teardown; }

output_json() { # output_json EXPR → evaluates EXPR on the JSON in $output as `d`
  python3 -c 'import json, sys; d = json.loads(sys.argv[2]); print(eval(sys.argv[1]))' "$1" "$output"
}

@test "real raw: the documented command shape answers on SmolLM2, deterministic at temperature 0" {
  run --separate-stderr "$SCRIPT" --backend gpt-oss --raw --url "$SMOL_URL" \
    --model gpt-oss-20b --max-tokens 16 --temperature 0 "1+1="
  assert_success
  [[ -n "$output" ]]
  local first=$output
  run --separate-stderr "$SCRIPT" --raw --url "$SMOL_URL" --max-tokens 16 --temperature 0 "1+1="
  assert_output "$first"
  run --separate-stderr "$SCRIPT" --raw --url "$SMOL_URL" --max-tokens 16 --temperature 0 --stream "1+1="
  assert_success
  assert_output "$first"
}

@test "real raw --json: text, token counts and timings from the server" {
  run --separate-stderr "$SCRIPT" --raw --url "$SMOL_URL" --max-tokens 8 --temperature 0 --json "The sky is"
  assert_success
  [[ $(output_json 'd["mode"], d["tokens"]["predicted"] <= 8, d["tokens"]["prompt"] > 0') == "('raw', True, True)" ]]
  [[ $(output_json 'd["timings"]["predicted_n"] == d["tokens"]["predicted"]') == True ]]
  [[ $(output_json 'd["finish_reason"] in ("stop", "length")') == True ]]
}

@test "real raw: --backend openai uses /v1/completions" {
  run --separate-stderr "$SCRIPT" --backend openai --raw --url "$SMOL_URL" --max-tokens 8 --temperature 0 --json "The sky is"
  assert_success
  [[ $(output_json '(d["backend"], d["tokens"]["predicted"] <= 8, len(d["text"]) > 0)') == "('openai', True, True)" ]]
}

@test "real openai chat backend answers on SmolLM2 (plain and streamed)" {
  run --separate-stderr "$SCRIPT" --backend openai --url "$SMOL_URL" --max-tokens 12 --temperature 0 --json "What is 1+1?"
  assert_success
  [[ $(output_json '(d["mode"], d["fallback"], len(d["text"]) > 0)') == "('chat', None, True)" ]]
  local text
  text=$(output_json 'd["text"]')
  run --separate-stderr "$SCRIPT" --backend openai --url "$SMOL_URL" --max-tokens 12 --temperature 0 --stream "What is 1+1?"
  assert_success
  assert_output "$text"
}

@test "real harmony: the prompt fits a large slot and the reply is parsed" {
  run --separate-stderr "$SCRIPT" --url "$TINY_BIG_URL" --max-tokens 16 --seed 1 --json "Say hi"
  assert_success
  [[ $(output_json '(d["mode"], d["fallback"], d["requests"])') == "('harmony', None, 1)" ]]
  [[ $(output_json 'd["tokens"]["predicted"] <= 16') == True ]]
}

@test "real harmony: the documented tools command falls back to raw on 256-token slots" {
  cd "$SUITE_ROOT"
  GPT_OSS_URL=$TINY_URL run --separate-stderr "$SCRIPT" --backend gpt-oss --tools "Summarize this repo"
  assert_success
  [[ $stderr == *"does not fit"*"> 256 per-slot context"*"falling back to --raw"*GPT_OSS_CTX* ]]
}

@test "real harmony: the context check counts with the server's tokenizer" {
  run --separate-stderr "$SCRIPT" --url "$TINY_URL" --tools --max-tokens 8 --json "Summarize this repo"
  assert_success
  [[ $(output_json '(d["mode"], d["fallback"]["reason"], d["fallback"]["n_ctx"], d["fallback"]["max_tokens"])') == \
    "('raw', 'context', 256, 8)" ]]
  local counted
  counted=$(output_json 'd["fallback"]["prompt_tokens"]')
  ((counted > 256))
  [[ $stderr == *"$counted prompt tokens + 8 reserved for the reply > 256 per-slot context"* ]]
}

@test "real harmony: the server's HTTP 400 also falls back; --no-fallback exits 5" {
  GPT_OSS_CONTEXT_CHECK=0 run --separate-stderr "$SCRIPT" --url "$TINY_URL" --tools --max-tokens 8 --json "hi"
  assert_success
  [[ $(output_json '(d["fallback"]["reason"], d["fallback"]["n_ctx"])') == "('http_400', 256)" ]]
  run --separate-stderr "$SCRIPT" --url "$TINY_URL" --tools --max-tokens 8 --no-fallback "hi"
  assert_failure 5
  [[ $stderr == *"256 per-slot context"* ]]
}
