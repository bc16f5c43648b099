#!/usr/bin/env bats
# scripts/gpt-oss-query.sh against the REAL llama-server (2026 build) on SmolLM2-135M.
# -c 1024 -np 4 gives each slot 256 tokens, small enough to overflow on purpose.

QUERY="$BATS_TEST_DIRNAME/../scripts/gpt-oss-query.sh"

setup_file() {
  load helpers/real_server
  start_real_server smollm2 -c 1024 -np 4
}

teardown_file() {
  stop_real_server
}

setup() {
  load helpers/test_helper
  common_setup
  export GPT_OSS_URL=$REAL_URL
}

teardown() {
  common_teardown
}

@test "real server: 1+1= gets a real answer, text only" {
  run --separate-stderr "$QUERY" "1+1="
  assert_success
  assert_equal "$stderr" ''
  [[ "$output" =~ [0-9] ]] || fail "no digit in the answer: $output"
  [[ "$output" != *'"content"'* ]]
}

@test "real server: the printed text is the reply's content (response_fields honoured)" {
  run --separate-stderr "$QUERY" -n 3 "The capital of France is"
  assert_success
  local text=$output
  run --separate-stderr "$QUERY" --json -n 3 "The capital of France is"
  assert_success
  run python3 -c '
import json, sys
reply = json.loads(sys.argv[1])
text = reply["content"]
print(text if text.endswith("\n") else text + "\n", end="")' "$output"
  assert_equal "$text" "${output%$'\n'}"
}

@test "real server: quotes, backslashes, control characters and emoji arrive intact" {
  printf '%s' $'He said "hi" \\ C:\\dir\\n $(id) `x` &\ttab\r\nline é 日本 😀 \x01\x1f end' \
    >"$BATS_TEST_TMPDIR/prompt"
  run --separate-stderr "$QUERY" --json -n 1 "$(<"$BATS_TEST_TMPDIR/prompt")"
  assert_success
  printf '%s' "$output" >"$BATS_TEST_TMPDIR/reply"
  # The 2026 server echoes the prompt it tokenized; /detokenize of /tokenize must agree.
  run python3 - "$BATS_TEST_TMPDIR/reply" "$BATS_TEST_TMPDIR/prompt" "$REAL_URL" <<'PY'
import json, sys, urllib.request
reply = json.load(open(sys.argv[1]))
want = open(sys.argv[2], "rb").read().decode("utf-8")
assert reply["prompt"] == want, (reply["prompt"], want)
def post(path, body):
    req = urllib.request.Request(sys.argv[3] + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
tokens = post("/tokenize", {"content": want})["tokens"]
assert reply["tokens_evaluated"] == len(tokens), (reply["tokens_evaluated"], len(tokens))
assert post("/detokenize", {"tokens": tokens})["content"] == want
print("ok")
PY
  assert_output ok
}

@test "real server: an over-long prompt is exit 5 with the server's token counts" {
  local words
  words=$(printf 'word %.0s' {1..600})
  run --separate-stderr "$QUERY" "$words"
  assert_failure 5
  assert_output ''
  assert_equal "$stderr" "gpt-oss-query.sh: the prompt is 601 tokens but the per-slot context is 256 tokens; raise GPT_OSS_CTX (and restart the server) or shorten the prompt"
}

@test "real server: a prompt over 64 KB on stdin (the json_bulk path) arrives whole: exit 5 counting all of its tokens" {
  # Above request.sh's 64 KB the prompt is escaped by Python; the server's own token
  # count of what it received must equal /tokenize's count of the file.
  python3 -c '
import sys
line = "The \"quick\" brown\\ fox é 日本 😀 {\"k\": [1]}\n"
sys.stdout.write((line * (100_000 // len(line.encode()) + 1))[:70000] + "end")' >"$BATS_TEST_TMPDIR/prompt"
  [[ $(wc -c <"$BATS_TEST_TMPDIR/prompt") -gt 65536 ]]
  run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/prompt"
  assert_failure 5
  local want
  want=$(python3 - "$BATS_TEST_TMPDIR/prompt" "$REAL_URL" <<'PY'
import json, sys, urllib.request
text = open(sys.argv[1], encoding="utf-8").read()
req = urllib.request.Request(sys.argv[2] + "/tokenize", json.dumps({"content": text}).encode(),
                             {"Content-Type": "application/json"})
print(len(json.load(urllib.request.urlopen(req))["tokens"]))
PY
  )
  assert_equal "$stderr" "gpt-oss-query.sh: the prompt is $want tokens but the per-slot context is 256 tokens; raise GPT_OSS_CTX (and restart the server) or shorten the prompt"
}
