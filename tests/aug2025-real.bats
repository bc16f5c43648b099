#!/usr/bin/env bats
# The REAL Aug-2025 llama-server (llama-cpp-python 0.3.16's llama.cpp) answers an over-long
# prompt with HTTP 200 and "truncated": true instead of a 400. The clients must notice.

setup_file() {
  OLD_SERVER=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh" --aug2025)
  TINY_GPT_OSS=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" tiny-gpt-oss)
  export OLD_SERVER TINY_GPT_OSS
  OLD_STATE=$(mktemp -d)
  OLD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export OLD_STATE OLD_PORT OLD_URL="http://127.0.0.1:$OLD_PORT"
  # The guide's settings: 4 slots of 256 tokens, started by the suite in the old dialect.
  XDG_STATE_HOME=$OLD_STATE LLAMA_SERVER=$OLD_SERVER GPT_OSS_GGUF_MODEL_PATH=$TINY_GPT_OSS \
    GPT_OSS_PORT=$OLD_PORT GPT_OSS_KEEPALIVE_SECS=0 GPT_OSS_CTX=384 \
    "$BATS_TEST_DIRNAME/../scripts/gpt-oss-fast.sh" --no-warmup >/dev/null 2>&1 3>&-
}

teardown_file() {
  XDG_STATE_HOME=$OLD_STATE "$BATS_TEST_DIRNAME/../scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
  rm -rf "$OLD_STATE"
}

setup() {
  load helpers/test_helper
  common_setup
  export GPT_OSS_URL=$OLD_URL
  LONG_PROMPT=$(printf 'hello %.0s' {1..400})
}

teardown() { common_teardown; }

@test "the Aug-2025 server really cuts an over-long prompt and answers 200" {
  run curl -4 -s -o /dev/null -w '%{http_code}' -d "{\"prompt\":\"$LONG_PROMPT\",\"n_predict\":1}" "$OLD_URL/completion"
  assert_output 200
  run curl -4 -s -d "{\"prompt\":\"$LONG_PROMPT\",\"n_predict\":1}" "$OLD_URL/completion"
  assert_output --partial '"truncated":true'
}

@test "gpt-oss-query.sh warns when the Aug-2025 server cut the prompt" {
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-query.sh" -n 1 "$LONG_PROMPT"
  assert_success
  [[ "$stderr" == *'warning: the server cut the prompt to fit its per-slot context ("truncated": true)'* ]]
}

@test "local-infer.sh never prints a Harmony answer from a prompt the old server cut" {
  # Skip the exact check before sending, so the request reaches the server as too long.
  GPT_OSS_CONTEXT_CHECK=0 run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" \
    --max-tokens 8 --json "$LONG_PROMPT"
  [[ "$stderr" == *'"truncated": true'*"falling back to --raw"* ]]
  run output_json_of "$output" 'd["fallback"]["reason"], d["mode"]'
  assert_output "truncated raw"
}

@test "local-infer.sh's exact check catches the overflow before sending, on the old server too" {
  run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" --max-tokens 8 --no-fallback "$LONG_PROMPT"
  assert_failure 5
  [[ "$stderr" == *"256"* ]]
}
