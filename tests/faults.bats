#!/usr/bin/env bats
# Servers that stall, trickle, break off or answer in the wrong shape (issue 13, items
# 7, 8, 15, 16, 21): every client ends in time, with one line and the documented exit
# code, never a traceback and never a silent success.

bats_require_minimum_version 1.5.0
load helpers/test_helper
load helpers/fault_server

QUERY="$SUITE_ROOT/scripts/gpt-oss-query.sh"
INFER="$SUITE_ROOT/scripts/local-infer.sh"
STATUS="$SUITE_ROOT/scripts/gpt-oss-status.sh"
BENCH="$SUITE_ROOT/scripts/gpt-oss-bench.sh"

setup() { common_setup; }
teardown() { common_teardown; }

# one_clean_line → stderr is a single `PROG: ...` line (no traceback)
one_clean_line() {
  [[ $stderr != *Traceback* && $stderr != *$'\n'* ]] || fail "not one line: $stderr"
}

# --- item 7: deadlines for the diagnostic commands ---

@test "status ends with exit 10 when /health is fine but the probe stalls (--timeout)" {
  start_stub STUB_DELAY_MS=20000
  SECONDS=0
  run --separate-stderr "$STATUS" --timeout 1
  assert_failure 10
  ((SECONDS < 8)) || fail "took ${SECONDS}s"
  assert_equal "$stderr" "gpt-oss-status.sh: the probe request failed: no complete reply from $STUB_URL within 1s (--timeout)"
  [[ $output == *"probe        failed: no complete reply"* ]]
}

@test "bench ends with exit 10 at the first run that stalls (--timeout per run)" {
  start_stub STUB_DELAY_MS=20000
  SECONDS=0
  run --separate-stderr "$BENCH" --timeout 1 3
  assert_failure 10
  ((SECONDS < 8)) || fail "took ${SECONDS}s"
  assert_equal "$stderr" "gpt-oss-bench.sh: run 1: no complete reply from $STUB_URL within 1s (--timeout)"
}

@test "status and bench have a 60 s default limit, documented in --help" {
  run "$STATUS" --help
  [[ $output == *"--timeout SECS"*"(default: 60)"* ]]
  run "$BENCH" --help
  [[ $output == *"--timeout SECS"*"(default: 60)"* ]]
  run --separate-stderr "$BENCH" --timeout soon
  assert_failure 2
}

@test "every client refuses a URL that is not http(s) at once (exit 2)" {
  local script
  for script in "$QUERY" "$INFER" "$STATUS" "$BENCH"; do
    SECONDS=0
    run --separate-stderr "$script" --url ftp://127.0.0.1:21 hi
    [[ $script == "$QUERY" || $script == "$INFER" ]] || run --separate-stderr "$script" --url ftp://127.0.0.1:21
    assert_failure 2
    [[ $stderr == *"must look like http://HOST:PORT, got 'ftp://127.0.0.1:21'"* ]] || fail "$script: $stderr"
    ((SECONDS < 2))
  done
  run --separate-stderr "$INFER" --raw --url ftp://127.0.0.1:21 hi
  assert_failure 2
}

# --- item 8: the Python path's --timeout is a total limit ---

@test "a server trickling one byte every 2 s cannot stretch local-infer --timeout 3 (Harmony, chat, --stream, --raw)" {
  local reply='{"content":"<|channel|>final<|message|>hello there<|return|>","stop_type":"eos"}'
  local chat='{"choices":[{"message":{"content":"hello there"},"finish_reason":"stop"}]}'
  start_fault "$(route /completion 200 "$reply" '{"trickle_ms":2000}')" \
    "$(route /v1/chat/completions 200 "$chat" '{"trickle_ms":2000}')"
  local args
  for args in "" "--stream" "--backend openai" "--raw" "--raw --stream"; do
    SECONDS=0
    # shellcheck disable=SC2086 # the words of $args are options
    run --separate-stderr "$INFER" --url "$FAULT_URL" --timeout 3 $args hi
    assert_failure 10
    ((SECONDS <= 5)) || fail "$args: took ${SECONDS}s"
    [[ $stderr == *"within 3s (--timeout)"* ]] || fail "$args: $stderr"
  done
}

# --- item 15: replies of the wrong shape ---

@test "a /completion reply that is a JSON array exits 6 with one line (query, --raw, Harmony)" {
  start_fault "$(route /completion 200 '[1,2,3]')"
  local cmd
  for cmd in "$QUERY" "$INFER --raw" "$INFER"; do
    # shellcheck disable=SC2086 # a command and its options
    run --separate-stderr $cmd --url "$FAULT_URL" hi
    assert_failure 6
    one_clean_line
  done
}

@test "OpenAI replies of the wrong shape exit 6 with one line, never a traceback" {
  local deep
  deep=$(python3 -c 'print("[" * 100000)')
  local -a bodies=(
    '{"choices":[{"message":"a string","finish_reason":"stop"}]}'
    '{"choices":[{"message":{"content":5},"finish_reason":"stop"}]}'
    '{"choices":[{"message":{"content":null,"tool_calls":"x"},"finish_reason":"tool_calls"}]}'
    '{"choices":[{"message":{"content":null,"tool_calls":[{"function":"f"}]},"finish_reason":"tool_calls"}]}'
    '{"choices":[{"message":{"content":null,"tool_calls":["x"]},"finish_reason":"tool_calls"}]}'
    '{"choices":[{"message":{"content":"hi"},"finish_reason":["stop"]}]}'
    "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"function\":{\"name\":\"grep\",\"arguments\":$deep}}]},\"finish_reason\":\"tool_calls\"}]}"
    "{\"choices\":$deep"
  )
  local body
  for body in "${bodies[@]}"; do
    start_fault "$(route /v1/chat/completions 200 "$body")"
    run --separate-stderr "$INFER" --backend openai --tools --url "$FAULT_URL" hi
    [[ $status == 6 ]] || fail "exit $status for ${body:0:80}: $stderr"
    one_clean_line
  done
}

@test "deeply nested tool arguments in a string are a bad call the model is told about, not a crash" {
  local deep body
  deep=$(python3 -c 'import json; print(json.dumps("[" * 100000))')
  body="{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"grep\",\"arguments\":$deep}}]},\"finish_reason\":\"tool_calls\"}]}"
  start_fault "$(route /v1/chat/completions 200 "$body")"
  run --separate-stderr "$INFER" --backend openai --tools --max-tool-turns 1 --json --url "$FAULT_URL" hi
  assert_failure 11 # it keeps calling: the turn limit ends it
  [[ $stderr != *Traceback* ]]
  [[ $(output_json_of "$output" 'd["tool_calls"][0]["result"]') == *"nested too deeply"* ]]
}

@test "streamed tool_calls with an index that is huge, negative or not a number exit 6 at once" {
  local index event
  for index in 30000000 -3 '"a"' 1.5; do
    event="{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":$index,\"function\":{\"name\":\"grep\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}"
    start_fault "$(route /v1/chat/completions 200 "$(sse "$event" '[DONE]')" '{"content_type":"text/event-stream"}')"
    SECONDS=0
    run --separate-stderr "$INFER" --backend openai --tools --stream --url "$FAULT_URL" hi
    [[ $status == 6 ]] || fail "index $index: exit $status: $stderr"
    one_clean_line
    [[ $stderr == *"tool_calls index"* ]]
    ((SECONDS < 3))
  done
}

# --- item 16: incomplete replies ---

@test "a stream that ends without its final event is an incomplete reply (exit 6) on every path" {
  local piece='{"content":"Par","stop":false}'
  local chunk='{"choices":[{"delta":{"content":"Par"},"finish_reason":null}]}'
  local text='{"choices":[{"text":"Par","finish_reason":null}]}'
  start_fault "$(route /completion 200 "$(sse "$piece")" '{"length":false,"content_type":"text/event-stream"}')" \
    "$(route /v1/chat/completions 200 "$(sse "$chunk")" '{"length":false,"content_type":"text/event-stream"}')" \
    "$(route /v1/completions 200 "$(sse "$text")" '{"length":false,"content_type":"text/event-stream"}')"
  local args
  for args in "--stream" "--stream --backend openai" "--raw --stream" "--raw --stream --backend openai"; do
    # shellcheck disable=SC2086 # the words of $args are options
    run --separate-stderr "$INFER" --url "$FAULT_URL" $args hi
    [[ $status == 6 ]] || fail "$args: exit $status: $stderr"
    [[ $stderr == *"incomplete reply: the stream from $FAULT_URL"*"ended without its final event"* ]] || fail "$args: $stderr"
    one_clean_line
  done
  run --separate-stderr "$STATUS" --url "$FAULT_URL"
  assert_failure 6
  [[ $stderr == *"incomplete reply: the stream from $FAULT_URL/completion ended without its final event"* ]]
  run --separate-stderr "$BENCH" --url "$FAULT_URL" 1
  assert_failure 6
  [[ $stderr == *"incomplete reply"* ]]
}

@test "a --stream reply of 200 that is not SSE at all is an incomplete reply (exit 6) on every path" {
  start_fault "$(route /completion 200 '{"content":"Paris","stop":true}')" \
    "$(route /v1/completions 200 '{"choices":[{"text":"Paris","finish_reason":"stop"}]}')" \
    "$(route /v1/chat/completions 200 '{"choices":[{"message":{"content":"Paris"},"finish_reason":"stop"}]}')"
  local args
  for args in "--raw --stream" "--raw --stream --backend openai" "--stream" "--stream --backend openai"; do
    # shellcheck disable=SC2086 # the words of $args are options
    run --separate-stderr "$INFER" --url "$FAULT_URL" $args hi
    [[ $status == 6 ]] || fail "$args: exit $status: $stderr"
    [[ $stderr == *"incomplete reply: the 200 reply from $FAULT_URL"*"is not an event stream"* ]] || fail "$args: $stderr"
  done
  run --separate-stderr "$BENCH" --url "$FAULT_URL" 1
  assert_failure 6
  [[ $stderr == *"is not an event stream"* ]]
}

@test "a complete OpenAI stream without timings, written with spaces after colons, prints its text (exit 0)" {
  local a='{"id": "c", "choices": [{"text": " Par", "index": 0, "finish_reason": null}]}'
  local b='{"id": "c", "choices": [{"text": "is", "index": 0, "finish_reason": "stop"}]}'
  start_fault "$(route /v1/completions 200 "$(sse "$a" "$b" '[DONE]')" '{"length":false,"content_type":"text/event-stream"}')"
  run --separate-stderr "$INFER" --backend openai --raw --stream --url "$FAULT_URL" hi
  assert_success
  assert_output " Paris"
  run --separate-stderr "$INFER" --backend openai --raw --stream --json --url "$FAULT_URL" hi
  assert_success
  assert_equal "$(output_json_of "$output" '(d["text"], d["finish_reason"], d["timings"])')" " Paris stop None"
}

# --- item 21: bench --save is checked before the first request ---

@test "bench --save DIR (a directory) is refused before any request" {
  start_stub
  mkdir "$BATS_TEST_TMPDIR/out"
  run --separate-stderr "$BENCH" --save "$BATS_TEST_TMPDIR/out" 3
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-bench.sh: --save '$BATS_TEST_TMPDIR/out' is a directory; give a file name (see gpt-oss-bench.sh --help)"
  assert_equal "$(stub_request_count)" 0
}

@test "bench without the Python core says so before any request" {
  start_stub
  GPT_OSS_PY="$BATS_TEST_TMPDIR/missing/gpt-oss-py" run --separate-stderr "$BENCH" 3
  assert_failure 1
  assert_equal "$stderr" "gpt-oss-bench.sh: the Python core is not installed ($BATS_TEST_TMPDIR/missing/gpt-oss-py); run 'make setup'"
  assert_equal "$(stub_request_count)" 0
}

# --- an error reply that is not JSON (a proxy in front of the server) ---

@test "an HTTP error whose body is plain text exits 6 with the status and its first line (query, --raw, Harmony)" {
  local http cmd
  for http in 400 500 502; do
    start_fault "$(route /completion "$http" $'Bad request from the proxy\nsecond line' '{"content_type":"text/plain"}')"
    for cmd in "$QUERY" "$INFER --raw" "$INFER"; do
      # shellcheck disable=SC2086 # a command and its options
      run --separate-stderr $cmd --url "$FAULT_URL" hi
      assert_failure 6
      one_clean_line
      [[ $stderr == *"HTTP $http"*"Bad request from the proxy"* ]] || fail "$cmd, HTTP $http: $stderr"
    done
  done
  # A JSON error whose message has several lines: its first
  start_fault "$(route /completion 500 '{"error":{"code":500,"message":"first line\nsecond line"}}')"
  for cmd in "$QUERY" "$INFER --raw" "$INFER"; do
    # shellcheck disable=SC2086 # a command and its options
    run --separate-stderr $cmd --url "$FAULT_URL" hi
    assert_failure 6
    one_clean_line
    [[ $stderr == *"HTTP 500: first line" ]] || fail "$cmd: $stderr"
  done
}
