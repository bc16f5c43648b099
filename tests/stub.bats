#!/usr/bin/env bats
# The stub llama-server behaves as docs/development.md promises, so the script tests can
# trust what it answers and records.

bats_require_minimum_version 1.5.0
load helpers/test_helper

setup() { common_setup; }
teardown() { common_teardown; }

# json_repr EXPR → prints a Python expression evaluated on the JSON read from stdin
# (as `d`); tuples print as tuples, so several fields compare in one assertion.
json_repr() {
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# post PATH JSON [curl args...] → POSTs to the stub; then `reply` is the body, `http_status` the code.
post() {
  local path=$1 body=$2
  shift 2
  curl -4 -s -o "$BATS_TEST_TMPDIR/reply" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$body" "$@" "$STUB_URL$path" >"$BATS_TEST_TMPDIR/status"
}
reply() { cat "$BATS_TEST_TMPDIR/reply"; }
http_status() { cat "$BATS_TEST_TMPDIR/status"; }

# start_fake ARGS... → runs tests/helpers/bin/llama-server in the background on a free
# port (like a script would) and waits for it to listen.
start_fake() {
  local tries=0
  STUB_PORT=$(free_port)
  STUB_URL="http://127.0.0.1:$STUB_PORT"
  llama-server --host 127.0.0.1 --port "$STUB_PORT" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/fake.log" 3>&- &
  until (: <"/dev/tcp/127.0.0.1/$STUB_PORT") 2>/dev/null; do
    ((tries++ < 100)) || fail "the fake llama-server did not listen: $(cat "$BATS_TEST_TMPDIR/fake.log")"
    sleep 0.05
  done
}

@test "health answers 503 Loading model while loading, then 200 ok" {
  start_stub STUB_LOADING_SECS=0.6
  run curl -4 -s -w ' %{http_code}' "$STUB_URL/health"
  assert_output '{"error":{"message":"Loading model","type":"unavailable_error","code":503}} 503'
  for _ in $(seq 50); do
    [[ "$(curl -4 -s -o /dev/null -w '%{http_code}' "$STUB_URL/health")" == 200 ]] && break
    sleep 0.05
  done
  run curl -4 -s -w ' %{http_code}' "$STUB_URL/health"
  assert_output '{"status":"ok"} 200'
}

@test "props reports the per-slot context and slot count from -c and -np" {
  start_stub -m /models/gpt-oss-20b-mxfp4.gguf -c 1024 -np 4
  run json_repr 'd["default_generation_settings"]["n_ctx"], d["total_slots"], d["model_path"]' \
    < <(curl -4 -s "$STUB_URL/props")
  assert_output "(256, 4, '/models/gpt-oss-20b-mxfp4.gguf')"
}

@test "props pads the per-slot context like the real server (-c 384 -np 4 gives 256)" {
  start_stub -c 384 -np 4
  run json_repr 'd["default_generation_settings"]["n_ctx"]' < <(curl -4 -s "$STUB_URL/props")
  assert_output 256
}

@test "STUB_N_CTX and STUB_SLOTS override props and slots" {
  start_stub STUB_N_CTX=96 STUB_SLOTS=2 -c 4096 -np 8
  run json_repr 'd["default_generation_settings"]["n_ctx"], d["total_slots"]' \
    < <(curl -4 -s "$STUB_URL/props")
  assert_output "(96, 2)"
  run json_repr '[s["n_ctx"] for s in d]' < <(curl -4 -s "$STUB_URL/slots")
  assert_output "[96, 96]"
}

@test "a completion carries content, stop_type, token counts and timings" {
  start_stub STUB_REPLY='The answer is 4'
  post /completion '{"prompt":"<|start|>user<|message|>two plus two<|end|><|start|>assistant","n_predict":16}'
  assert_equal "$(http_status)" 200
  run json_repr '(d["content"], d["stop_type"], d["tokens_predicted"], d["tokens_evaluated"], d["truncated"])' < <(reply)
  assert_output "('The answer is 4', 'eos', 4, 9, False)"
  run json_repr 'sorted(d["timings"])' < <(reply)
  assert_output "['cache_n', 'predicted_ms', 'predicted_n', 'predicted_per_second', 'predicted_per_token_ms', 'prompt_ms', 'prompt_n', 'prompt_per_second', 'prompt_per_token_ms']"
}

@test "n_predict smaller than the reply cuts it and reports stop_type limit" {
  start_stub STUB_REPLY='one two three four'
  post /completion '{"prompt":"hi","n_predict":2}'
  run json_repr 'd["content"], d["stop_type"], d["tokens_predicted"]' < <(reply)
  assert_output "('one two', 'limit', 2)"
}

@test "a repeated prompt is served from the cache except its last token" {
  start_stub
  post /completion '{"prompt":"a b c d"}'
  post /completion '{"prompt":"a b c d"}'
  run json_repr 'd["timings"]["cache_n"], d["timings"]["prompt_n"]' < <(reply)
  assert_output "(3, 1)"
}

@test "an over-long prompt gets the real 400 exceed_context_size_error JSON" {
  start_stub STUB_N_CTX=8
  post /completion '{"prompt":"one two three four five six seven eight nine ten"}'
  assert_equal "$(http_status)" 400
  assert_equal "$(reply)" '{"error":{"code":400,"message":"request (10 tokens) exceeds the available context size (8 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":10,"n_ctx":8}}'
}

@test "Harmony specials count as one token each when checking the context" {
  start_stub STUB_N_CTX=8
  post /completion '{"prompt":"<|start|>user<|message|>hi<|end|><|start|>assistant"}'
  assert_equal "$(http_status)" 200
  # Like the real server, a prompt that fills the context leaves no room and is refused.
  post /completion '{"prompt":"<|start|>user<|message|>hi there<|end|><|start|>assistant"}'
  assert_equal "$(http_status)" 400
  post /tokenize '{"content":"<|start|>user<|message|>hi there<|end|>","parse_special":true}'
  assert_equal "$(reply)" '{"tokens":[200006,1000,200008,1001,1002,200007]}'
}

@test "STUB_TRUNCATE answers an over-long prompt with 200 and truncated true" {
  start_stub STUB_N_CTX=8 STUB_TRUNCATE=1
  post /completion '{"prompt":"one two three four five six seven eight nine ten"}'
  assert_equal "$(http_status)" 200
  run json_repr 'd["truncated"], d["tokens_evaluated"]' < <(reply)
  assert_output "(True, 7)"
}

@test "stream true on /completion sends SSE data lines and no [DONE]" {
  start_stub STUB_REPLY='hello big world'
  run curl -4 -s -N --data-binary '{"prompt":"hi","stream":true}' "$STUB_URL/completion"
  assert_success
  assert_line --index 0 --partial 'data: {"index":0,"content":"hello","tokens":[],"stop":false'
  assert_line --index 1 --partial '"content":" big"'
  assert_line --index 3 --partial '"stop":true'
  assert_line --index 3 --partial '"timings":{'
  refute_output --partial '[DONE]'
  # SSE events are separated by blank lines.
  assert_equal "$(curl -4 -s --data-binary '{"prompt":"hi","stream":true}' "$STUB_URL/completion" | grep -c '^$')" 4
}

@test "stream true on /v1/chat/completions sends OpenAI chunks and ends with [DONE]" {
  start_stub STUB_REPLY='hi there'
  run curl -4 -s -N --data-binary '{"messages":[{"role":"user","content":"hi"}],"stream":true}' \
    "$STUB_URL/v1/chat/completions"
  assert_success
  assert_line --index 0 --partial '"delta":{"role":"assistant","content":null}'
  assert_line --index 1 --partial '"delta":{"content":"hi"}'
  assert_line --index 3 --partial '"finish_reason":"stop"'
  assert_line --index 4 'data: [DONE]'
}

@test "chat completions split a Harmony reply into reasoning, content and tool calls" {
  cat >"$BATS_TEST_TMPDIR/replies.json" <<'EOF'
["<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>done",
 "<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{\"path\":\"a\"}"]
EOF
  start_stub STUB_REPLIES_FILE="$BATS_TEST_TMPDIR/replies.json"
  post /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}]}'
  run json_repr 'd["choices"][0]["message"], d["choices"][0]["finish_reason"]' < <(reply)
  assert_output "({'role': 'assistant', 'content': 'done', 'reasoning_content': 'think'}, 'stop')"
  post /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}]}'
  run json_repr 'd["choices"][0]["message"]["tool_calls"][0]["function"], d["choices"][0]["finish_reason"]' < <(reply)
  assert_output "({'name': 'read_file', 'arguments': '{\"path\":\"a\"}'}, 'tool_calls')"
}

@test "STUB_REPLIES_FILE gives request k item k and repeats the last" {
  echo '["first", "second"]' >"$BATS_TEST_TMPDIR/replies.json"
  start_stub STUB_REPLIES_FILE="$BATS_TEST_TMPDIR/replies.json"
  local got=()
  for _ in 1 2 3; do
    post /v1/completions '{"prompt":"hi"}'
    got+=("$(json_repr 'd["choices"][0]["text"]' < <(reply))")
  done
  assert_equal "${got[*]}" "first second second"
}

@test "an API key makes requests without the bearer token fail with 401" {
  start_stub STUB_API_KEY=sekrit
  post /completion '{"prompt":"hi"}'
  assert_equal "$(http_status)" 401
  assert_equal "$(reply)" '{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}'
  post /completion '{"prompt":"hi"}' -H 'Authorization: Bearer sekrit'
  assert_equal "$(http_status)" 200
  run curl -4 -s "$STUB_URL/health"
  assert_output '{"status":"ok"}'
}

@test "LLAMA_API_KEY in the environment is required like --api-key and recorded as present" {
  start_stub LLAMA_API_KEY=fromenv
  run curl -4 -s -o /dev/null -w '%{http_code}' "$STUB_URL/props"
  assert_output 401
  post /completion '{"prompt":"hi"}' -H 'Authorization: Bearer fromenv'
  assert_equal "$(http_status)" 200
  assert_equal "$(cat "$STUB_DIR/env")" "LLAMA_API_KEY=present"
}

@test "the raw request body is recorded byte-for-byte" {
  start_stub
  # shellcheck disable=SC2016 # $HOME and `x` must reach the stub unexpanded
  printf '{"prompt":"quotes \\" and \\\\ back\\nslash, ünïcode \xe2\x9c\x93 and $HOME `x`"}' >"$BATS_TEST_TMPDIR/sent"
  curl -4 -s -o /dev/null --data-binary "@$BATS_TEST_TMPDIR/sent" "$STUB_URL/completion"
  cmp "$BATS_TEST_TMPDIR/sent" <(stub_last_body)
  cmp "$BATS_TEST_TMPDIR/sent" <(stub_request_body "$(stub_request_count)")
  run json_repr 'd["method"], d["path"]' < <(tail -n 1 "$STUB_DIR/requests.jsonl")
  assert_output "('POST', '/completion')"
}

@test "STUB_DIE_ON_REQUEST drops the connection on the first completion" {
  start_stub STUB_DIE_ON_REQUEST=1
  run curl -4 -s "$STUB_URL/health"
  assert_success
  run curl -4 -s --data-binary '{"prompt":"hi"}' "$STUB_URL/completion"
  assert_equal "$status" 52 # curl: empty reply from server
  run curl -4 -s "$STUB_URL/health"
  assert_equal "$status" 7 # curl: could not connect
}

@test "STUB_DELAY_MS holds each answer back" {
  start_stub STUB_DELAY_MS=300
  run curl -4 -s -o /dev/null -w '%{time_total}' --data-binary '{"prompt":"hi"}' "$STUB_URL/completion"
  assert_success
  python3 -c 'import sys; sys.exit(float(sys.argv[1]) < 0.3)' "$output"
}

@test "the fake executable records its argv one per line and serves on --port" {
  use_fake_llama_server
  start_fake -m "$BATS_TEST_TMPDIR/my model.gguf" -c 2048 -np 2 -fa on -lm none --jinja
  run cat "$STUB_DIR/argv"
  assert_output "--host
127.0.0.1
--port
$STUB_PORT
-m
$BATS_TEST_TMPDIR/my model.gguf
-c
2048
-np
2
-fa
on
-lm
none
--jinja"
  run json_repr 'd["default_generation_settings"]["n_ctx"], d["total_slots"]' \
    < <(curl -4 -s "$STUB_URL/props")
  assert_output "(1024, 2)"
  assert grep -q 'main: server is listening on http://127.0.0.1:' "$BATS_TEST_TMPDIR/fake.log"
}

@test "the fake executable works from any directory" {
  cd /
  run "$SUITE_ROOT/tests/helpers/bin/llama-server" --version
  assert_success
  assert_output --partial 'version: '
}

@test "--help of the new dialect lists --load-mode and a valued --flash-attn" {
  use_fake_llama_server
  run llama-server --help
  assert_success
  assert_line --regexp '^-lm,   --load-mode MODE +model loading mode'
  assert_line --regexp '^-fa,   --flash-attn \[on\|off\|auto\] +set Flash Attention'
  refute_output --partial '--no-mmap'
  assert_line --regexp '^-c,    --ctx-size N '
  assert_line --regexp '^-np,   --parallel N '
  assert_line --regexp '^--api-key KEY '
  assert [ ! -e "$STUB_DIR/argv" ] # --help is not a start
}

@test "--help of the old dialect lists --no-mmap, a bare --flash-attn and opt-in --jinja" {
  use_fake_llama_server
  STUB_HELP=old run llama-server --help
  assert_success
  assert_line --regexp '^--no-mmap +do not memory-map model'
  assert_line --regexp '^-fa,   --flash-attn +enable Flash Attention \(default: disabled\)'
  assert_line --regexp '^--jinja +use jinja template for chat \(default: disabled\)'
  assert_line --regexp '^--mlock '
  refute_output --partial '--load-mode'
  refute_output --partial '--rpc'
}

@test "--help of the bare dialect lists neither dialect's flags" {
  use_fake_llama_server
  STUB_HELP=bare run llama-server --help
  assert_success
  assert_line --regexp '^-ctk,  --cache-type-k TYPE '
  refute_output --regexp -- '--(load-mode|no-mmap|mlock|flash-attn|jinja)'
}

@test "STUB_RPC=1 adds --rpc SERVERS to the help" {
  use_fake_llama_server
  STUB_HELP=old STUB_RPC=1 run llama-server --help
  assert_line --regexp '^--rpc SERVERS '
}

@test "the new dialect lists --rpc but refuses it without RPC support, like the 2026 server" {
  use_fake_llama_server
  run --separate-stderr llama-server --rpc 127.0.0.1:1 --version
  assert_failure 1
  assert_equal "$stderr" "$(printf '%s\n' 'error while handling argument "--rpc": RPC not supported in this build' '' 'usage:' \
    '--rpc SERVERS                           comma-separated list of RPC servers (host:port)' '' 'to show complete usage, run with -h')"
  STUB_RPC=1 run llama-server --rpc 127.0.0.1:1 --version
  assert_success
}

@test "the new dialect rejects --no-mmap and --mlock at once" {
  use_fake_llama_server
  run --separate-stderr llama-server -m x.gguf --no-mmap --port "$(free_port)"
  assert_failure 1
  assert_equal "$stderr" 'error: invalid argument: --no-mmap'
  run --separate-stderr llama-server --mlock
  assert_failure 1
  assert_equal "$stderr" 'error: invalid argument: --mlock'
}

@test "the new dialect rejects a bare --flash-attn before another flag or at the end" {
  use_fake_llama_server
  run --separate-stderr llama-server --flash-attn -c 256
  assert_failure 1
  assert_equal "${stderr_lines[0]}" "error while handling argument \"--flash-attn\": error: unknown value for --flash-attn: '-c'"
  run --separate-stderr llama-server -c 256 -fa
  assert_failure 1
  assert_equal "${stderr_lines[0]}" 'error while handling argument "-fa": expected value for argument'
}

@test "the old dialect rejects --load-mode and -fa with a value" {
  use_fake_llama_server
  STUB_HELP=old run --separate-stderr llama-server -lm none
  assert_failure 1
  assert_equal "$stderr" 'error: invalid argument: -lm'
  STUB_HELP=old run --separate-stderr llama-server -fa on
  assert_failure 1
  assert_equal "$stderr" 'error: invalid argument: on'
}

@test "a refused start still records its argv" {
  use_fake_llama_server
  run llama-server -m x.gguf --no-mmap
  assert_failure 1
  assert_equal "$(cat "$STUB_DIR/argv")" "$(printf '%s\n' -m x.gguf --no-mmap)"
}

@test "STUB_FAIL_BY_ARGS makes a start with those flags fail like a model that cannot load" {
  use_fake_llama_server
  STUB_FAIL_BY_ARGS="-ngl 5;-ctk q8_0" run --separate-stderr llama-server -m x.gguf -ctk q8_0 --port "$(free_port)"
  assert_failure 1
  [[ "$stderr" == *"failed to initialize the context"*"main: exiting due to model loading error"* ]] || fail "$stderr"
  assert_equal "$(head -n 3 "$STUB_DIR/argv")" "$(printf '%s\n' -m x.gguf -ctk)"
}

@test "--list-devices lists STUB_DEVICES, else what a CPU build prints" {
  use_fake_llama_server
  run llama-server --list-devices
  assert_success
  assert_output "$(printf 'Available devices:\n  (none)')"
  STUB_HELP=old run llama-server --list-devices
  assert_output "Available devices:"
  STUB_DEVICES="CUDA0: NVIDIA GeForce RTX 4090 (24080 MiB, 23400 MiB free)" run llama-server --list-devices
  assert_output "$(printf 'Available devices:\n  CUDA0: NVIDIA GeForce RTX 4090 (24080 MiB, 23400 MiB free)')"
  [[ ! -e "$STUB_DIR/argv" ]]
}

@test "STUB_REJECT_UNKNOWN=0 ignores the other dialect's flags" {
  use_fake_llama_server
  STUB_REJECT_UNKNOWN=0 start_fake --no-mmap --mlock -c 512 -np 2
  run json_repr 'd["default_generation_settings"]["n_ctx"]' < <(curl -4 -s "$STUB_URL/props")
  assert_output 256
}

@test "SIGTERM stops the stub cleanly" {
  start_stub
  local pid
  pid=$(cat "$STUB_DIR/pid")
  local status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  assert_equal "$status" 0
  assert grep -q 'shutting down' "$STUB_DIR/server.log"
}

@test "teardown kills stubs, fake servers and pid-file processes the test started" {
  local pids=()
  start_stub
  pids+=("$(cat "$STUB_DIR/pid")")
  use_fake_llama_server
  start_fake
  pids+=("$(cat "$STUB_DIR/pid")")
  # As a script would: detached, known only through its pid file.
  mkdir -p "$XDG_STATE_HOME/gpt-oss"
  setsid sleep 300 >/dev/null 2>&1 3>&- &
  echo $! >"$XDG_STATE_HOME/gpt-oss/server.pid"
  pids+=("$!")
  nohup sleep 301 >/dev/null 2>&1 3>&- & # known to nobody: found by its HOME
  pids+=("$!")
  common_teardown
  local pid
  for pid in "${pids[@]}"; do
    if process_alive "$pid"; then fail "process $pid survived teardown"; fi
  done
}
