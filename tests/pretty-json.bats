#!/usr/bin/env bats
# The Bash JSON readers behind a proxy that pretty-prints JSON (issue 13, item 18): the
# stub llama-server behind tests/helpers/pretty_proxy.py, which indents every JSON reply
# over many lines and writes each stream event with a space after every colon.

bats_require_minimum_version 1.5.0
load helpers/test_helper

PROXY="$SUITE_ROOT/tests/helpers/pretty_proxy.py"

setup() {
  common_setup
  start_stub STUB_REPLY=' Paris' -c 1024 -np 4 -m /models/SmolLM2-135M-Instruct.Q4_1.gguf
  start_proxy
}
teardown() { common_teardown; }

# start_proxy → the pretty-printing proxy in front of the stub; GPT_OSS_URL points at it.
start_proxy() {
  local port tries=0
  port=$(free_port)
  python3 "$PROXY" --port "$port" --upstream "$STUB_URL" >/dev/null 2>&1 3>&- &
  echo $! >>"$TEST_PIDS_FILE"
  until (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    ((tries++ < 100)) || fail "the proxy did not come up"
    sleep 0.05
  done
  export GPT_OSS_URL="http://127.0.0.1:$port"
}

@test "the proxy really pretty-prints (replies over many lines, events with spaces)" {
  run curl -4 -s "$GPT_OSS_URL/props"
  [[ $output == $'{\n  "'* ]]
  run curl -4 -s -d '{"prompt":"x","stream":true}' "$GPT_OSS_URL/completion"
  [[ $output == *'"timings": {'* ]]
}

@test "status reads /props, /slots and the probe through a pretty-printing proxy" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --json
  assert_success
  [[ $(output_json_of "$output" 'd["model"]["path"]') == /models/SmolLM2-135M-Instruct.Q4_1.gguf ]]
  [[ $(output_json_of "$output" '(d["slots"]["total"], d["slots"]["busy"], d["n_ctx_per_slot"])') == "4 0 256" ]]
  [[ $(output_json_of "$output" 'd["probe"]["predicted_n"], d["probe"]["decode_tps"] > 0') == "1 True" ]]
  [[ $(output_json_of "$output" 'd["warnings"]') == "[]" ]]
}

@test "bench reads /props and every run's timings through a pretty-printing proxy" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-bench.sh" 2 --json
  assert_success
  [[ $(output_json_of "$output" '(d["runs"], d["model"], d["tokens_median"])') == "2 /models/SmolLM2-135M-Instruct.Q4_1.gguf 1" ]]
  [[ $(output_json_of "$output" 'd["decode_tps_median"] > 0') == True ]]
}

@test "query and local-infer --raw read pretty-printed replies and streams" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-query.sh" "The capital of France is"
  assert_success
  assert_output ' Paris'
  run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" --raw --json "The capital of France is"
  assert_success
  [[ $(output_json_of "$output" '(d["text"], d["tokens"]["predicted"])') == " Paris 1" ]]
  run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" --raw --stream "The capital of France is"
  assert_success
  assert_output ' Paris'
}
