#!/usr/bin/env bats
# The tool-use path on the server gpt-oss-fast.sh starts with no settings at all, on the
# REAL llama-server of both dialects (Nov-2026 build and Aug-2025 build) with the tiny
# gpt-oss model (random weights, the real Harmony template and byte-level vocabulary).

setup_file() {
  load helpers/real_server
  real_builds
}

setup() {
  load helpers/test_helper
  common_setup
  export GPT_OSS_GGUF_MODEL_PATH=$TINY_GPT_OSS
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  export GPT_OSS_URL="http://127.0.0.1:$GPT_OSS_PORT"
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  INFER="$SUITE_ROOT/scripts/local-infer.sh"
  WS="$BATS_TEST_TMPDIR/ws"
  mkdir -p "$WS"
  printf '# A project\n\nIt has a README.\n' >"$WS/README.md"
}

teardown() {
  "$FAST" stop >/dev/null 2>&1 || true
  common_teardown
}

# start_default BINARY → gpt-oss-fast.sh with no settings (its keepalive included)
start_default() {
  LLAMA_SERVER=$1 run --separate-stderr "$FAST"
  assert_success
  START_STDERR=$stderr
}

# tools_request_is_harmony → local-infer.sh --tools sent a Harmony prompt with the tools
tools_request_is_harmony() {
  cd "$WS"
  run --separate-stderr "$INFER" --tools --max-tool-turns 1 --json "Summarize this repo"
  # Random weights: a final answer (0), a cut reply (0 with a warning) or a tool call
  # that reaches the turn limit (11) are all the model's business; the request is ours.
  [[ $status == 0 || $status == 11 ]] || fail "exit $status: $stderr"
  [[ "$stderr" != *"falling back"* ]] || fail "fell back: $stderr"
  assert_equal "$(output_json_of "$output" 'd["mode"], d["fallback"]')" "harmony None"
  # The first request carried the system message and the three tool definitions: ~780
  # tokens on this vocabulary, against ~100 for the same prompt without tools.
  (($(output_json_of "$output" 'd["per_request"][0]["prompt"]') > 700))
}

# second_turn_fits → a conversation with one full-size tool result (read_file's cap) and
# the default 256-token reply fits the per-request context of the running server.
second_turn_fits() {
  head -c 200000 /dev/urandom | base64 >"$WS/big.txt"
  run python3 - "$SUITE_ROOT" "$WS" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1] + "/py")
from gpt_oss_suite.workspace_tools import TOOL_SPECS, Workspace, run_tool
result = run_tool(Workspace(sys.argv[2]), "read_file", {"path": "big.txt"})
assert len(result.for_model().encode()) >= 7500, len(result.for_model())
call = {"type": "function", "function": {"name": "read_file", "arguments": {"path": "big.txt"}}}
print(json.dumps({"messages": [
    {"role": "user", "content": "Summarize this repo"},
    {"role": "assistant", "tool_calls": [call]},
    {"role": "tool", "content": result.for_model()},
], "tools": TOOL_SPECS}))
EOF
  assert_success
  printf '%s' "$output" >"$BATS_TEST_TMPDIR/conversation.json"
  "$SUITE_ROOT/.venv/bin/gpt-oss-py" harmony render "$BATS_TEST_TMPDIR/conversation.json" >"$BATS_TEST_TMPDIR/turn2.txt"
  run "$SUITE_ROOT/.venv/bin/gpt-oss-py" context check --json --max-tokens 256 "$BATS_TEST_TMPDIR/turn2.txt"
  assert_success
  (($(output_json_of "$output" 'd["prompt_tokens"]') > 7000)) # byte-level: ~1 token per byte
}

@test "Nov-2026 server, no settings: one shared pool, --tools goes Harmony, a full tool turn fits" {
  start_default "$NEW_SERVER"
  [[ "$START_STDERR" == *"-kvu --kv-unified-per-slot 12288"* ]]
  [[ "$START_STDERR" != *"warning: per-slot context"* ]]
  [[ "$START_STDERR" != *"restarting"* ]]
  run curl -4 -s "$GPT_OSS_URL/props"
  assert_equal "$(output_json_of "$output" 'd["default_generation_settings"]["n_ctx"]')" 12288
  tools_request_is_harmony
  second_turn_fits
}

@test "Aug-2025 server, no settings: -kvu is seen divided, the restart gives 12288 per slot" {
  start_default "$OLD_SERVER"
  [[ "$START_STDERR" == *"this llama-server divides -kvu per slot (/props n_ctx 6400); restarting with 12288 per slot"* ]]
  [[ "$START_STDERR" != *"warning: per-slot context"* ]]
  run curl -4 -s "$GPT_OSS_URL/props"
  assert_equal "$(output_json_of "$output" 'd["default_generation_settings"]["n_ctx"]')" 12288
  tools_request_is_harmony
  second_turn_fits
  # Remembered for this binary: the next start goes straight to the per-slot layout.
  "$FAST" stop 2>/dev/null
  LLAMA_SERVER=$OLD_SERVER run --separate-stderr "$FAST" --no-warmup
  assert_success
  [[ "$stderr" != *"restarting"* ]]
  [[ "$stderr" == *" -c 49152 "* ]]
}

@test "GPT_OSS_CTX=384 (the guide's exact flags) still falls back to raw with one notice, both dialects" {
  for server in "$NEW_SERVER" "$OLD_SERVER"; do
    # A port of its own each: the Aug-2025 server cannot bind one left in TIME_WAIT.
    GPT_OSS_PORT=$(free_port)
    GPT_OSS_URL="http://127.0.0.1:$GPT_OSS_PORT"
    GPT_OSS_CTX=384 LLAMA_SERVER=$server run --separate-stderr "$FAST" --no-warmup
    assert_success
    [[ "$stderr" == *" -c 384 "* && "$stderr" != *"-kvu"* ]]
    [[ "$stderr" == *"warning: per-slot context is 256 tokens"* ]]
    cd "$WS"
    run --separate-stderr "$INFER" --tools --json "Summarize this repo"
    assert_success
    assert_equal "$(output_json_of "$output" 'd["mode"], d["fallback"]["reason"]')" "raw context"
    [[ "$stderr" == *"falling back to --raw (no tools)"* ]]
    "$FAST" stop 2>/dev/null
  done
}

# A tool loop's second turn reuses the prompt cache of the first, with the keepalive on.
# The random model calls no tool by itself: its first reply is replaced by a tool call
# after it was generated (the server's cache holds the model's own tokens, which is
# why only turn 1's prompt, not more, can be promised as cached).
# prompt_cache_holds MARGIN → turn 2's cached tokens >= turn 1's prompt - MARGIN.
prompt_cache_holds() {
  local margin=$1
  run python3 - "$SUITE_ROOT" "$GPT_OSS_URL" "$WS" <<'EOF'
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/py")
from gpt_oss_suite import chat
real_post, seen = chat.Transport.post, []
def post(self, path, body, on_event=None):
    reply = real_post(self, path, body, on_event)
    seen.append(reply)
    if len(seen) == 1:
        time.sleep(2.5)  # the keepalive (every 1 s) runs in between
        call = '<|channel|>commentary to=functions.list_files <|constrain|>json<|message|>{"depth": 1}<|call|>'
        reply = {**reply, "content": call, "stop_type": "word"}
    return reply
chat.Transport.post = post
opts = chat.ChatOptions(url=sys.argv[2], tools=True, workspace=sys.argv[3], max_tool_turns=1,
                        max_tokens=16, temperature=0)
try:
    result = chat.run_chat(opts, "List the files", chat.Sink())
except chat.SuiteError as err:
    result = err.result
print(json.dumps(result.to_json()["per_request"]))
EOF
  assert_success
  local first_prompt second_cached
  first_prompt=$(output_json_of "$output" 'd[0]["prompt"]')
  second_cached=$(output_json_of "$output" 'd[1]["cached"]')
  ((second_cached >= first_prompt - margin)) ||
    fail "turn 2 cached $second_cached < turn 1 prompt $first_prompt - $margin: $output"
  # Only the new tool turn was processed again.
  (($(output_json_of "$output" 'd[1]["prompt"] - d[1]["cached"]') <= 117 + margin))
}

@test "the second turn of a tool loop is served from the prompt cache, keepalive on (Nov-2026)" {
  start_default "$NEW_SERVER"
  # gpt-oss has sliding-window layers: with unified KV the 2026 server parks idle slots in
  # its prompt cache (the keepalive's requests trigger it) and restores the conversation
  # from the context checkpoint it takes 4 tokens before the end of a prompt
  # (llama.cpp's server-context.cpp, checkpoint_offsets) and re-runs its last one: 5 tokens.
  prompt_cache_holds 5
}

@test "the second turn of a tool loop is served from the prompt cache, keepalive on (Aug-2025)" {
  start_default "$OLD_SERVER"
  prompt_cache_holds 0
}

@test "--kv-estimate matches the KV cache the real server reports, both dialects, both models" {
  local model server estimate reported
  # The 2026 server logs the KV cache's size only at trace level (-lv 4).
  export GPT_OSS_EXTRA_ARGS="-lv 4"
  for model in "$TINY_GPT_OSS" "$SMOLLM2"; do
    for server in "$NEW_SERVER" "$OLD_SERVER"; do
      GPT_OSS_PORT=$(free_port)
      export GPT_OSS_GGUF_MODEL_PATH=$model LLAMA_SERVER=$server
      "$FAST" --no-warmup --keepalive 0 >/dev/null 2>&1
      estimate=$("$FAST" --kv-estimate --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["mib"])')
      reported=$(bash -c 'source "$1/scripts/lib/common.sh"; use_libs server_measure; sm_kv_mib "$2"' _ \
        "$SUITE_ROOT" "$(server_state)/server.log")
      "$FAST" stop >/dev/null 2>&1
      python3 -c 'import sys; e, r = map(float, sys.argv[1:]); assert abs(e - r) <= max(0.02 * r, 0.15), (e, r)' \
        "$estimate" "$reported" || fail "${model##*/} on ${server}: estimate $estimate MiB, server $reported MiB"
    done
  done
}
