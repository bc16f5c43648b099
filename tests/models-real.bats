#!/usr/bin/env bats
# The test models (scripts/provision/models.sh) on the REAL llama-server: the tiny
# gpt-oss GGUF must behave like gpt-oss where the suite depends on it (Harmony template,
# special tokens, per-slot context, the 400 on overflow) and SmolLM2 must produce text.

setup_file() {
  load helpers/real_server
  start_real_server tiny-gpt-oss -c 384 -np 4
  export TINY_URL=$REAL_URL TINY_MODEL_PATH=$REAL_MODEL_PATH
  start_real_server smollm2 -c 1024 -np 1
  export SMOLLM2_URL=$REAL_URL
}

teardown_file() {
  load helpers/real_server
  stop_real_server
}

setup() {
  BATS_LIB_PATH="$BATS_TEST_DIRNAME/../.deps/node_modules${BATS_LIB_PATH:+:$BATS_LIB_PATH}"
  bats_load_library bats-support
  bats_load_library bats-assert
}

# json_field JSON PATH... — print one field of a JSON document (keys and list indexes).
json_field() {
  python3 -c '
import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2:]:
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value if isinstance(value, str) else json.dumps(value))
' "$@"
}

post() { # post URL PATH JSON → body on stdout, HTTP status on the last line
  curl -4 -sS -H 'Content-Type: application/json' -w '\n%{http_code}' "$1$2" -d "$3"
}

token_id() { # token_id URL SPECIAL → the id of a special token that is one token
  local reply
  reply=$(curl -4 -sS "$1/tokenize" -d "{\"content\":\"$2\",\"parse_special\":true}")
  json_field "$reply" tokens 0
}

@test "the tiny gpt-oss model loads and reports its path" {
  run curl -4 -sS "$TINY_URL/health"
  assert_success
  assert_output --partial '"ok"'
  run curl -4 -sS "$TINY_URL/props"
  assert_success
  assert_equal "$(json_field "$output" model_path)" "$TINY_MODEL_PATH"
}

@test "apply-template renders Harmony from the model's own template" {
  run curl -4 -sS "$TINY_URL/apply-template" -d '{"messages":[{"role":"user","content":"hi"}]}'
  assert_success
  prompt=$(json_field "$output" prompt)
  [[ "$prompt" == '<|start|>system<|message|>You are ChatGPT'* ]]
  [[ "$prompt" == *'<|start|>user<|message|>hi<|end|><|start|>assistant' ]]
  [[ "$prompt" == *'Reasoning: medium'* ]]
}

@test "tokenize keeps each Harmony special as one token" {
  run curl -4 -sS "$TINY_URL/tokenize" -d '{"content":"<|start|>","parse_special":true}'
  assert_success
  assert_output --regexp '^\{"tokens":\[[0-9]+\]\}$'
  start_id=$(json_field "$output" tokens 0)
  channel_id=$(token_id "$TINY_URL" '<|channel|>')
  message_id=$(token_id "$TINY_URL" '<|message|>')
  run curl -4 -sS "$TINY_URL/tokenize" \
    -d '{"content":"<|start|>assistant<|channel|>final<|message|>","parse_special":true}'
  assert_success
  tokens=$(json_field "$output" tokens)
  [[ "$tokens" == "[$start_id, "*", $channel_id, "*", $message_id]" ]]
}

@test "context is per slot: -c 384 -np 4 gives 256 tokens to each of 4 slots" {
  run curl -4 -sS "$TINY_URL/props"
  assert_success
  assert_equal "$(json_field "$output" default_generation_settings n_ctx)" 256
  assert_equal "$(json_field "$output" total_slots)" 4
}

@test "a prompt longer than the slot gets HTTP 400 exceed_context_size_error" {
  local long
  long=$(printf 'hello %.0s' {1..120})
  run post "$TINY_URL" /completion "{\"prompt\":\"$long\",\"n_predict\":1}"
  assert_success
  assert_equal "${lines[-1]}" 400
  body=${output%$'\n'*}
  assert_equal "$(json_field "$body" error type)" exceed_context_size_error
  assert_equal "$(json_field "$body" error n_ctx)" 256
  (($(json_field "$body" error n_prompt_tokens) > 256))
}

@test "the end tokens of a gpt-oss vocabulary stop generation, the others stay in the text" {
  local return_id end_id
  return_id=$(token_id "$TINY_URL" '<|return|>')
  end_id=$(token_id "$TINY_URL" '<|end|>')
  # <|return|> is EOG: it ends the reply and is not in the text.
  run post "$TINY_URL" /completion "{\"prompt\":\"hi\",\"n_predict\":4,\"logit_bias\":[[$return_id,100]]}"
  assert_equal "${lines[-1]}" 200
  body=${output%$'\n'*}
  assert_equal "$(json_field "$body" stop_type)" eos
  assert_equal "$(json_field "$body" content)" ""
  # <|end|> is deliberately not EOG, and /completion keeps it in the text.
  run post "$TINY_URL" /completion "{\"prompt\":\"hi\",\"n_predict\":2,\"logit_bias\":[[$end_id,100]]}"
  body=${output%$'\n'*}
  assert_equal "$(json_field "$body" stop_type)" limit
  assert_equal "$(json_field "$body" content)" "<|end|><|end|>"
}

@test "SmolLM2 answers a completion with real text and a decode speed" {
  run post "$SMOLLM2_URL" /completion \
    '{"prompt":"The capital of France is","n_predict":8,"temperature":0}'
  assert_equal "${lines[-1]}" 200
  body=${output%$'\n'*}
  content=$(json_field "$body" content)
  [[ "$content" =~ [A-Za-z] ]]
  python3 -c 'import sys; assert float(sys.argv[1]) > 0' \
    "$(json_field "$body" timings predicted_per_second)"
  assert_equal "$(json_field "$body" tokens_predicted)" 8
}
