#!/usr/bin/env bats
# scripts/gpt-oss-status.sh against the stub llama-server: fields, --json shape, the
# probe, "ours" from the state dir, keepalive, the paging warning, and errors.

bats_require_minimum_version 1.5.0
load helpers/test_helper

STATUS="$SUITE_ROOT/scripts/gpt-oss-status.sh"

setup() { common_setup; }
teardown() { common_teardown; }

completion_count() {
  if [[ -f "$STUB_DIR/requests.jsonl" ]]; then
    grep -c '"path": "/completion"' "$STUB_DIR/requests.jsonl" || true
  else
    echo 0
  fi
}

# make_ours → the running stub looks like the server gpt-oss-fast.sh started: its pid,
# argv and URL in the state dir. GPT_OSS_URL is dropped so status finds it by itself.
make_ours() {
  local state
  state=$(server_state "$STUB_PORT")
  mkdir -p "$state"
  cat "$STUB_DIR/pid" >"$state/server.pid"
  printf '%s\n' "$TEST_STUB_SERVER" --host 127.0.0.1 --port "$STUB_PORT" -c 384 -np 4 >"$state/server.argv"
  printf '%s\n' "$STUB_URL" >"$state/server.url"
  unset GPT_OSS_URL
}

# fake_keepalive → a live process whose command line says keepalive.sh, recorded as ours.
fake_keepalive() {
  mkdir -p "$BATS_TEST_TMPDIR/ka" "$(server_state "$STUB_PORT")"
  printf '#!/usr/bin/env bash\nsleep 30\n' >"$BATS_TEST_TMPDIR/ka/keepalive.sh"
  chmod +x "$BATS_TEST_TMPDIR/ka/keepalive.sh"
  "$BATS_TEST_TMPDIR/ka/keepalive.sh" 3>&- &
  echo $! >"$(server_state "$STUB_PORT")/keepalive.pid"
  echo "$BATS_TEST_TMPDIR/ka/keepalive.sh" >"$(server_state "$STUB_PORT")/keepalive.argv"
  echo $! >>"$TEST_PIDS_FILE"
}

# last_bench DECODE_TPS [MODEL] → a last-bench.json as gpt-oss-bench.sh leaves it.
last_bench() {
  mkdir -p "$XDG_STATE_HOME/gpt-oss"
  printf '{"schema": 1, "tool": "gpt-oss-bench", "created": "2026-01-05T10:00:00Z", "model": "%s", "latency_ms": {"p50": 150.0}, "decode_tps_median": %s}\n' \
    "${2:-}" "$1" >"$XDG_STATE_HOME/gpt-oss/last-bench.json"
}

@test "status --help prints the usage block" {
  run --separate-stderr "$STATUS" --help
  assert_success
  assert_line --index 0 "Usage: gpt-oss-status.sh [options]"
  assert_output --partial "--no-probe"
  assert_output --partial '"probe": null | {'
}

@test "status rejects unknown options and a bad --max-tokens with exit 2" {
  run --separate-stderr "$STATUS" --frobnicate
  assert_failure 2
  run --separate-stderr "$STATUS" -n abc
  assert_failure 2
  [[ "$stderr" == *"--max-tokens must be a whole number >= 1, got 'abc'"* ]]
}

@test "status shows url, health, model, quant, size, slots, context, keepalive and a probe" {
  printf '%04096d' 0 >"$BATS_TEST_TMPDIR/gpt-oss-20b-Q4_0.gguf"
  start_stub "STUB_MODEL_PATH=$BATS_TEST_TMPDIR/gpt-oss-20b-Q4_0.gguf" -c 384 -np 4
  run --separate-stderr "$STATUS"
  assert_success
  assert_line "url          $STUB_URL"
  assert_line "health       ok"
  assert_line "model        $BATS_TEST_TMPDIR/gpt-oss-20b-Q4_0.gguf  (Q4_0, 4 KB)"
  assert_line "slots        4 total, 0 busy"
  assert_line "context      256 tokens per slot"
  assert_line "build        b11434 -1c5d8a2"
  assert_line --partial "started      not our server"
  assert_line "keepalive    not running"
  assert_line --regexp '^probe        1 tokens in [0-9]+\.[0-9] ms: TTFT [0-9]+\.[0-9] ms, prompt 2000\.0 tok/s \(6 tokens\), decode 100\.0 tok/s$'
  [[ -z "$stderr" ]]
  [[ $(completion_count) == 1 ]]
  [[ $(json_get 'd["n_predict"], d["stream"], d["cache_prompt"]' <"$STUB_DIR/body-$(stub_request_count)") == "8 True False" ]]
}

@test "status --json prints the documented shape" {
  start_stub STUB_MODEL_PATH=/models/gpt-oss-20b-mxfp4.gguf STUB_SLOTS=3 STUB_N_CTX=512
  run --separate-stderr "$STATUS" --json -n 3
  assert_success
  json=$output
  [[ $(json_get 'list(d)' <<<"$json") == "['url', 'health', 'reason', 'ours', 'pid', 'model', 'slots', 'n_ctx_per_slot', 'build', 'server_argv', 'keepalive', 'rpc_workers', 'probe', 'last_bench', 'warnings']" ]]
  [[ $(json_get 'd["url"] == "'"$STUB_URL"'", d["health"], d["reason"], d["ours"], d["pid"]' <<<"$json") == "True ok None False None" ]]
  [[ $(json_get 'd["model"]' <<<"$json") == "{'path': '/models/gpt-oss-20b-mxfp4.gguf', 'alias': 'gpt-oss-20b-mxfp4.gguf', 'quant': 'MXFP4', 'size_bytes': None, 'local': False}" ]]
  [[ $(json_get 'd["slots"], d["n_ctx_per_slot"], d["server_argv"], d["keepalive"], d["rpc_workers"]' <<<"$json") == "{'total': 3, 'busy': 0} 512 None {'running': False, 'pid': None} None" ]]
  [[ $(json_get 'list(d["probe"])' <<<"$json") == "['max_tokens', 'prompt_n', 'predicted_n', 'ttft_ms', 'total_ms', 'prompt_ms', 'prompt_tps', 'predicted_ms', 'decode_tps']" ]]
  [[ $(json_get 'd["probe"]["max_tokens"], d["probe"]["prompt_n"], d["probe"]["decode_tps"], d["probe"]["prompt_tps"]' <<<"$json") == "3 6 100.0 2000.0" ]]
  [[ $(json_get '0 < d["probe"]["ttft_ms"] <= d["probe"]["total_ms"]' <<<"$json") == True ]]
  [[ $(json_get 'd["last_bench"], d["warnings"]' <<<"$json") == "None []" ]]
  [[ $(json_get 'd["n_predict"]' <"$STUB_DIR/body-$(stub_request_count)") == 3 ]]
}

@test "status --no-probe sends no completion request" {
  start_stub
  run --separate-stderr "$STATUS" --no-probe
  assert_success
  assert_line "probe        skipped (--no-probe)"
  run --separate-stderr "$STATUS" --no-probe --json
  assert_success
  [[ $(json_get 'd["probe"]' <<<"$output") == None ]]
  [[ $(completion_count) == 0 ]]
}

@test "status recognises our own server and shows the command line it was started with" {
  start_stub -c 384 -np 4
  make_ours
  run --separate-stderr "$STATUS" --no-probe
  assert_success
  assert_line "url          $STUB_URL  (ours: gpt-oss-fast.sh, pid $(cat "$STUB_DIR/pid"))"
  assert_line "started      $TEST_STUB_SERVER --host 127.0.0.1 --port $STUB_PORT -c 384 -np 4"
  run --separate-stderr "$STATUS" --no-probe --json
  assert_success
  [[ $(json_get 'd["ours"], d["pid"] == '"$(cat "$STUB_DIR/pid")"', d["server_argv"][-4:]' <<<"$output") == "True True ['-c', '384', '-np', '4']" ]]
}

@test "status reports a running keepalive from the state dir" {
  start_stub
  fake_keepalive
  run --separate-stderr "$STATUS" --no-probe
  assert_success
  assert_line "keepalive    running (pid $(cat "$(server_state "$STUB_PORT")/keepalive.pid"))"
  run --separate-stderr "$STATUS" --no-probe --json
  [[ $(json_get 'd["keepalive"]["running"], d["keepalive"]["pid"] == '"$(cat "$(server_state "$STUB_PORT")/keepalive.pid")" <<<"$output") == "True True" ]]
}

@test "status warns when decode falls under half the last bench's median (paging)" {
  start_stub STUB_MODEL_PATH=/models/m-Q4_0.gguf
  last_bench 250.5 /models/m-Q4_0.gguf
  run --separate-stderr "$STATUS"
  assert_success
  assert_line "last bench   decode 250.5 tok/s median (2026-01-05T10:00:00Z)"
  [[ "$stderr" == "gpt-oss-status.sh: warning: decode is 100.0 tok/s, under half the 250.5 tok/s median of the last bench (2026-01-05T10:00:00Z): the model is probably being paged out; keep it resident (GPT_OSS_KEEPALIVE_SECS=1) and check free memory" ]]
  run --separate-stderr "$STATUS" --json
  assert_success
  [[ $(json_get 'd["last_bench"]["decode_tps_median"], len(d["warnings"]), "paged out" in d["warnings"][0]' <<<"$output") == "250.5 1 True" ]]
}

@test "status does not warn when decode is near the last bench, or the bench ran another model" {
  start_stub STUB_MODEL_PATH=/models/m-Q4_0.gguf
  last_bench 150 /models/m-Q4_0.gguf
  run --separate-stderr "$STATUS"
  assert_success
  [[ -z "$stderr" ]]
  last_bench 900 /models/other-Q2_K.gguf
  run --separate-stderr "$STATUS"
  assert_success
  [[ -z "$stderr" ]]
}

@test "status exits 3 with the reason when the server is down" {
  export GPT_OSS_URL="http://127.0.0.1:$(free_port)"
  run --separate-stderr "$STATUS"
  assert_failure 3
  [[ "$stderr" == "gpt-oss-status.sh: server not reachable at $GPT_OSS_URL ("*"is gpt-oss-fast.sh running?)" ]]
  [[ -z "$output" ]]
  run --separate-stderr "$STATUS" --json
  assert_failure 3
  [[ $(json_get 'd["url"] == "'"$GPT_OSS_URL"'", d["health"], "Failed to connect" in d["reason"] or "connect" in d["reason"]' <<<"$output") == "True down True" ]]
}

@test "status exits 4 while the model is loading" {
  start_stub STUB_LOADING_SECS=30
  run --separate-stderr "$STATUS"
  assert_failure 4
  [[ "$stderr" == *"still loading the model (HTTP 503)"* ]]
  run --separate-stderr "$STATUS" --json
  assert_failure 4
  [[ $(json_get 'd["health"], d["reason"]' <<<"$output") == "loading the model is still loading (HTTP 503)" ]]
}

@test "status --url wins over GPT_OSS_URL" {
  start_stub
  url=$GPT_OSS_URL
  export GPT_OSS_URL=http://127.0.0.1:1
  run --separate-stderr "$STATUS" --no-probe --url "$url/"
  assert_success
  assert_line "url          $url"
}

@test "status exits 6 when the probe is refused, after showing the rest" {
  start_stub STUB_API_KEY=k3y
  run --separate-stderr "$STATUS"
  assert_failure 6
  assert_line "health       ok"
  assert_line --partial "probe        failed: the server at $STUB_URL needs an API key"
  [[ "$stderr" == *"/props did not answer"* ]]
  [[ "$stderr" == *"gpt-oss-status.sh: the probe request failed: the server at $STUB_URL needs an API key: set GPT_OSS_API_KEY"* ]]
  GPT_OSS_API_KEY=k3y run --separate-stderr "$STATUS" --json
  assert_success
  [[ $(json_get 'd["probe"]["decode_tps"], d["slots"]["total"]' <<<"$output") == "100.0 4" ]]
}
