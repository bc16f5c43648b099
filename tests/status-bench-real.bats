#!/usr/bin/env bats
# gpt-oss-status.sh and gpt-oss-bench.sh on the REAL llama-server with SmolLM2 (real
# weights, real timings): the fields they read exist where they look for them.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/real_server
  start_real_server smollm2 -c 384 -np 4 -b 256 -ub 256 -ctk f16 -ctv f16 -lm none -fa on
}

teardown_file() {
  load helpers/real_server
  stop_real_server
}

setup() {
  load helpers/test_helper
  common_setup
  export GPT_OSS_URL=$REAL_URL
}

teardown() { common_teardown; }

@test "status on the real server: model, quant, size, slots, context and a probe" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --json
  assert_success
  json=$output
  size=$(stat -c %s "$REAL_MODEL_PATH")
  [[ $(json_get 'd["health"], d["model"]["path"] == "'"$REAL_MODEL_PATH"'", d["model"]["quant"], d["model"]["size_bytes"], d["model"]["local"]' <<<"$json") == "ok True Q4_1 $size True" ]]
  [[ $(json_get 'd["slots"]["total"], d["slots"]["busy"], d["n_ctx_per_slot"], d["ours"]' <<<"$json") == "4 0 256 False" ]]
  [[ $(json_get 'd["probe"]["predicted_n"], d["probe"]["prompt_n"] > 0' <<<"$json") == "8 True" ]]
  [[ $(json_get '0 < d["probe"]["ttft_ms"] < d["probe"]["total_ms"], d["probe"]["decode_tps"] > 0, d["probe"]["prompt_tps"] > 0' <<<"$json") == "True True True" ]]
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" -n 4
  assert_success
  assert_line "slots        4 total, 0 busy"
  assert_line "context      256 tokens per slot"
  assert_line --regexp '^probe        4 tokens in [0-9.]+ ms: TTFT [0-9.]+ ms, prompt [0-9.]+ tok/s \([0-9]+ tokens\), decode [0-9.]+ tok/s$'
}

@test "a short bench on the real server, then status compares its probe with it" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-bench.sh" --json 3
  assert_success
  json=$output
  [[ $(json_get 'd["runs"], d["latency_ms"]["count"], d["tokens_median"], d["aggregate"]["tokens"]' <<<"$json") == "3 3 8 24" ]]
  [[ $(json_get 'd["decode_tps_median"] > 0, d["prompt_tps_median"] > 0, d["model"] == "'"$REAL_MODEL_PATH"'"' <<<"$json") == "True True True" ]]
  [[ $(json_get 'd["ttft_ms"]["p50"] < d["latency_ms"]["p50"]' <<<"$json") == True ]]
  [[ $(grep -c 'run [0-9]/3: [0-9.]* ms, TTFT [0-9.]* ms, 8 tokens' <<<"$stderr") == 3 ]]
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --json -n 8
  assert_success
  [[ $(json_get 'd["last_bench"]["decode_tps_median"] > 0, d["last_bench"]["model"] == "'"$REAL_MODEL_PATH"'"' <<<"$output") == "True True" ]]
}

@test "bench with two clients on the real server" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-bench.sh" --csv -c 2 -n 4 4
  assert_success
  [[ ${#lines[@]} == 5 ]]
  [[ $(cut -d, -f2 <<<"$output" | sort -u | tr '\n' ' ') == "1 2 client " ]]
  [[ $(cut -d, -f9 <<<"$output" | tail -n +2 | sort -u) == 4 ]]
}
