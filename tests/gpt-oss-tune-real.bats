#!/usr/bin/env bats
# gpt-oss-tune.sh on the REAL llama-server of both dialects (Nov-2026 and Aug-2025
# builds) with the bundled SmolLM2 model, on a short budget (about a minute a dialect):
# it measures the tool-use need on the server, never keeps a setting whose per-request
# context is below it, picks a setting, writes the config, and the next gpt-oss-fast.sh
# on that model and binary starts with it.
#
# A real winner needs a real, large effect: the environment gives llama-server
# LLAMA_ARG_THREADS=8 (its own env form of -t), 8 threads on this 2-core machine, which
# the defaults (no -t) inherit and every `threads` value (-t 1, -t 2) overrides. That
# over-subscription is several times slower whatever else runs, so the search must pick a
# thread count (measured: 668 vs 174 ms p50 on the Aug-2025 server).

setup_file() {
  load helpers/real_server
  real_builds
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

# tune_on BINARY → a short real search over threads and context (-c 1536 is too small for
# the tool-use prompt); asserts what every dialect must show.
tune_on() {
  LLAMA_SERVER=$1 LLAMA_ARG_THREADS=8 run --separate-stderr "$TUNE" --only threads,context \
    --prompt "1+1=" --runs 2 --budget 120 --json
  assert_success
  local json=$output err=$stderr need winner
  need=$(output_json_of "$json" 'd["tool_need_tokens"]')
  ((need > 256)) || fail "tool-use need not measured: $need"
  # The defaults were measured, with real numbers
  run output_json_of "$json" '[m["score"] > 0 for m in d["measurements"] if m["setting"] == "" and m["phase"] == "descent"]'
  assert_output "[True]"
  # -c 1536 over 4 slots gives 384 per request: below the tool-use prompt, excluded
  run output_json_of "$json" '[m["status"] for m in d["measurements"] if "GPT_OSS_CTX=1536" in m["setting"]]'
  [[ "$output" == "['excluded']" ]] || fail "-c 1536 not excluded ($output): $err"
  # A thread count won, confirmed against the defaults, and keeps the tool-use context
  winner=$(output_json_of "$json" 'd["decision"]["winner"]')
  [[ "$winner" =~ (^| )GPT_OSS_THREADS=[12]( |$) ]] || fail "winner '$winner': $(output_json_of "$json" 'd["decision"]')"
  run output_json_of "$json" 'all(m.get("n_ctx", 0) >= d["tool_need_tokens"] for m in d["measurements"] if m["setting"] == d["decision"]["winner"] and m["status"] == "ok")'
  assert_output "True"
  [[ "$err" == *"wrote $CONFIG: $winner for this model and llama-server"* ]] || fail "$err"
  assert_equal "$(output_json_of "$json" 'd["config_file"]')" "$CONFIG"
  run grep -c '^\[tuned\]' "$CONFIG"
  assert_output 1
  # The next start on this model and binary reads it, says so, and runs with it
  LLAMA_SERVER=$1 run --separate-stderr "$FAST" --no-warmup -k 0 --json
  assert_success
  [[ "$stderr" == *"tuned config: $CONFIG:"*"for this model and llama-server"* ]] || fail "$stderr"
  [[ "$stderr" =~ threads:\ [12]:\ tuned\ config\ $CONFIG:[0-9]+ ]] || fail "$stderr"
  run output_json_of "$output" '" ".join(d["argv"])'
  [[ "$output" =~ \ -t\ [12]( |$) ]] || fail "argv: $output"
  # and the server it started answers
  run curl -4 -s --max-time 30 -d '{"prompt":"1+1=","n_predict":2}' "http://127.0.0.1:$GPT_OSS_PORT/completion"
  assert_success
  assert_output --partial '"content"'
  "$FAST" stop >/dev/null 2>&1
}

@test "a short real tuning run on the Nov-2026 server picks a setting and the next start uses it" {
  tune_on "$NEW_SERVER"
}

@test "a short real tuning run on the Aug-2025 server picks a setting and the next start uses it" {
  tune_on "$OLD_SERVER"
}
