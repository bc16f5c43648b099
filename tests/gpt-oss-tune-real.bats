#!/usr/bin/env bats
# gpt-oss-tune.sh on the REAL llama-server of both dialects (Nov-2026 and Aug-2025
# builds) with the bundled SmolLM2 model, on a short budget: it measures, never keeps a
# setting whose per-request context is below the suite's tool-use prompt, writes the
# config, and the next gpt-oss-fast.sh on that model and binary starts with it.

setup_file() {
  NEW_SERVER=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh" --cached)
  OLD_SERVER=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh" --aug2025)
  SMOLLM2=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" smollm2)
  export NEW_SERVER OLD_SERVER SMOLLM2
}

setup() {
  load helpers/test_helper
  common_setup
  TUNE="$SUITE_ROOT/scripts/gpt-oss-tune.sh"
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  CONFIG="$XDG_CONFIG_HOME/gpt-oss-suite/tuned.conf"
  export GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
}

teardown() {
  "$FAST" stop >/dev/null 2>&1 || true
  common_teardown
}

# tune_on BINARY → a short real search over the context knob (one value too small for
# the tool-use prompt); asserts what every dialect must show.
tune_on() {
  LLAMA_SERVER=$1 run --separate-stderr "$TUNE" --only context --prompt "1+1=" \
    --runs 2 --budget 400 --json
  assert_success
  local json=$output err=$stderr need
  need=$(output_json_of "$json" 'd["tool_need_tokens"]')
  ((need > 256)) || fail "tool-use need not measured: $need"
  # The defaults were measured, with real numbers
  run output_json_of "$json" '[m["score"] > 0 for m in d["measurements"] if m["setting"] == "" and m["phase"] == "descent"]'
  assert_output "[True]"
  # -c 1536 over 4 slots gives 384 per request: below the tool-use prompt, excluded
  run output_json_of "$json" '[m["status"] for m in d["measurements"] if "GPT_OSS_CTX=1536" in m["setting"]]'
  [[ "$output" == "['excluded']" ]] || fail "-c 1536 not excluded ($output): $err"
  # whatever won keeps the per-request context the tool-use prompt needs
  run output_json_of "$json" 'all(m.get("n_ctx", 0) >= d["tool_need_tokens"] for m in d["measurements"] if m["setting"] == d["decision"]["winner"] and m["status"] == "ok")'
  assert_output "True"
  [[ "$err" == *"wrote $CONFIG"* ]] || fail "$err"
  run grep -c '^\[tuned\]' "$CONFIG"
  assert_output 1
  # The next start on this model and binary reads it and says so
  LLAMA_SERVER=$1 run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  [[ "$stderr" == *"tuned config: $CONFIG:"*"for this model and llama-server"* ]] || fail "$stderr"
  "$FAST" stop >/dev/null 2>&1
}

@test "a short real tuning run on the Nov-2026 server writes a config the next start uses" {
  tune_on "$NEW_SERVER"
}

@test "a short real tuning run on the Aug-2025 server writes a config the next start uses" {
  tune_on "$OLD_SERVER"
}
