#!/usr/bin/env bats
# The raw completion request lives twice on purpose: local-infer.sh --raw is a measured
# Bash + curl hot path (≤ 1.10× curl), and the Harmony/chat path's fallback to raw runs
# inside Python (the prompt is already there). This file pins the two to one behaviour:
# the same inputs give the same request body and the same answer fields.

bats_require_minimum_version 1.5.0
load helpers/test_helper

SCRIPT="$SUITE_ROOT/scripts/local-infer.sh"

setup() { common_setup; }
teardown() { common_teardown; }

# last_completion → "PATH BODY" of the newest completion request, the body's keys sorted.
last_completion() {
  python3 - "$STUB_DIR/requests.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["method"] == "POST" and "complet" in r["path"]]
print(rows[-1]["path"], json.dumps(json.loads(rows[-1]["body"]), sort_keys=True))
EOF
}

# answer_fields → the --json keys both paths share, from $output.
answer_fields() {
  python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(json.dumps({k: d.get(k) for k in ("backend", "mode", "text", "finish_reason", "complete")}, sort_keys=True))' "$output"
}

# compare_paths BACKEND ARGS... → runs --raw, then a chat request forced to fall back,
# with the same ARGS and a prompt full of shell and JSON metacharacters.
compare_paths() {
  local backend=$1
  shift
  local prompt=$'quote " back\\slash $(date) `id` tab\there\nnewline ünï ✓'
  run --separate-stderr "$SCRIPT" --backend "$backend" --json "$@" --raw "$prompt"
  assert_success
  local raw_request raw_answer
  raw_request=$(last_completion)
  raw_answer=$(answer_fields)
  run --separate-stderr "$SCRIPT" --backend "$backend" --json "$@" "$prompt"
  assert_success
  [[ $stderr == *"falling back to --raw"* ]]
  assert_equal "$(last_completion)" "$raw_request"
  assert_equal "$(answer_fields)" "$raw_answer"
}

@test "gpt-oss: --raw and the fallback to raw send the same /completion body and answer alike" {
  start_stub STUB_N_CTX=100 STUB_REPLY='raw answer'
  compare_paths gpt-oss --max-tokens 64 --temperature 0.25 --top-p 0.5 --seed 7
  [[ $(last_completion) == "/completion "* ]]
}

@test "gpt-oss: with the defaults, both raw requests are the same too" {
  start_stub STUB_N_CTX=100 STUB_REPLY='raw answer'
  compare_paths gpt-oss
}

@test "openai: --raw and the fallback send the same /v1/completions body and answer alike" {
  start_stub STUB_N_CTX=100 STUB_REPLY='raw answer'
  compare_paths openai --max-tokens 64 --temperature 0.25 --seed 7 --model smol
  [[ $(last_completion) == "/v1/completions "* ]]
}

@test "gpt-oss: streamed, both raw paths send the same body and print the same text" {
  start_stub STUB_N_CTX=100 STUB_REPLY='raw answer'
  compare_paths gpt-oss --stream --max-tokens 64
}
