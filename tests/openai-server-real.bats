#!/usr/bin/env bats
# The clients against a REAL OpenAI-compatible server that is not llama.cpp's
# llama-server: `python -m llama_cpp.server` (PyPI llama-cpp-python, built once by
# scripts/provision/openai-server.sh, which `make setup` runs) on the bundled SmolLM2
# with --n_ctx 512. It has no /completion, sends no "timings", writes JSON with a space
# after each colon and refuses an over-long prompt with 400 context_length_exceeded.

bats_require_minimum_version 1.5.0
load helpers/test_helper

QUERY="$SUITE_ROOT/scripts/gpt-oss-query.sh"
INFER="$SUITE_ROOT/scripts/local-infer.sh"

setup_file() {
  local python model port tries=0
  python=$("$SUITE_ROOT/scripts/provision/openai-server.sh")
  model=$("$SUITE_ROOT/scripts/provision/models.sh" smollm2)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" --n_ctx 512 \
    >"$BATS_FILE_TMPDIR/openai-server.log" 2>&1 3>&- &
  echo "$!" >"$BATS_FILE_TMPDIR/openai-server.pid"
  until curl -4 -sf "http://127.0.0.1:$port/v1/models" >/dev/null; do
    if ! kill -0 "$(<"$BATS_FILE_TMPDIR/openai-server.pid")" 2>/dev/null || ((tries++ > 1200)); then
      tail -n 25 "$BATS_FILE_TMPDIR/openai-server.log" >&2
      return 1
    fi
    sleep 0.1
  done
  export OAI_URL="http://127.0.0.1:$port"
}

teardown_file() {
  local pid
  pid=$(<"$BATS_FILE_TMPDIR/openai-server.pid")
  kill "$pid" 2>/dev/null || true
  for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

setup() { common_setup; }
teardown() { common_teardown; }

long_prompt() { python3 -c 'print(" ".join(["word"] * 600))'; }

@test "openai server: --raw prints the completion" {
  run --separate-stderr "$INFER" --backend openai --raw --url "$OAI_URL" -n 8 --temperature 0 "The capital of France is"
  assert_success
  [[ -n ${output//[[:space:]]/} ]]
}

@test "openai server: --raw --stream prints the text as it comes, though its chunks have no timings" {
  run --separate-stderr "$INFER" --backend openai --raw --stream --url "$OAI_URL" -n 8 --temperature 0 "The capital of France is"
  assert_success
  [[ -n ${output//[[:space:]]/} ]]
  assert_equal "$stderr" ""
  run --separate-stderr "$INFER" --backend openai --raw --stream --json --url "$OAI_URL" -n 8 --temperature 0 "The capital of France is"
  assert_success
  [[ $(output_json_of "$output" '(d["mode"], d["finish_reason"], d["timings"])') == "raw "*" None" ]]
}

@test "openai server: the chat path, plain and --stream" {
  run --separate-stderr "$INFER" --backend openai --url "$OAI_URL" -n 16 --temperature 0 "Say hello."
  assert_success
  [[ -n ${output//[[:space:]]/} ]]
  run --separate-stderr "$INFER" --backend openai --stream --url "$OAI_URL" -n 16 --temperature 0 "Say hello."
  assert_success
  [[ -n ${output//[[:space:]]/} ]]
}

@test "openai server: --tools gets an answer; when its chat format ignores tools, --json shows no tool call" {
  run --separate-stderr "$INFER" --backend openai --tools --json --url "$OAI_URL" -n 16 --temperature 0 "List the files."
  assert_success
  assert_equal "$(output_json_of "$output" '(d["mode"], len(d["tool_calls"]))')" "chat 0"
  [[ -n $(output_json_of "$output" 'd["text"].strip()') ]]
}

@test "openai server: an over-long --raw prompt is a context error (exit 5), not a server error" {
  run --separate-stderr "$INFER" --backend openai --raw --url "$OAI_URL" "$(long_prompt)"
  assert_failure 5
  [[ $stderr == "local-infer.sh: the prompt does not fit the server's context (HTTP 400: This model's maximum context length is 512 tokens"* ]]
}

@test "openai server: an over-long chat prompt falls back to raw, and with --no-fallback exits 5" {
  run --separate-stderr "$INFER" --backend openai --url "$OAI_URL" "$(long_prompt)"
  assert_failure 5 # the raw prompt does not fit either
  [[ $stderr == *"the server refused the chat request: This model's maximum context length is 512 tokens"*"falling back to --raw"* ]]
  [[ $stderr == *"even the raw prompt does not fit"* ]]
  run --separate-stderr "$INFER" --backend openai --no-fallback --url "$OAI_URL" "$(long_prompt)"
  assert_failure 5
  [[ $stderr == *"maximum context length"*"(or drop --no-fallback to retry raw)" ]]
  [[ $stderr != *"falling back"* ]]
}

@test "openai server: gpt-oss-query.sh says plainly that it needs llama.cpp's /completion" {
  run --separate-stderr "$QUERY" --url "$OAI_URL" "hi"
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: the server at $OAI_URL has no llama.cpp /completion endpoint (HTTP 404: {\"detail\":\"Not Found\"}); for an OpenAI-compatible server use local-infer.sh --backend openai"
}
