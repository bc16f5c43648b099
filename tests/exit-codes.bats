#!/usr/bin/env bats
# One condition, one exit code, whichever script meets it (docs/reference.md, "Exit
# codes"): each condition below is driven through every script that can meet it.

bats_require_minimum_version 1.5.0
load helpers/test_helper
load helpers/fault_server

QUERY="$SUITE_ROOT/scripts/gpt-oss-query.sh"
INFER="$SUITE_ROOT/scripts/local-infer.sh"
STATUS="$SUITE_ROOT/scripts/gpt-oss-status.sh"
BENCH="$SUITE_ROOT/scripts/gpt-oss-bench.sh"
FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"

setup() { common_setup; }
teardown() { common_teardown; }

# expect_exit CODE CMD... → CMD exits CODE with one line on stderr
expect_exit() {
  local code=$1
  shift
  run --separate-stderr "$@"
  [[ $status == "$code" ]] || fail "$* → exit $status, not $code: $stderr"
  [[ $stderr != *Traceback* && $stderr != *$'\n'* ]] || fail "$* → not one line: $stderr"
}

@test "an invalid UTF-8 prompt exits 2 in every script that takes a prompt, before any request" {
  start_stub
  local bad=$'caf\xe9 \xff'
  expect_exit 2 "$QUERY" "$bad"
  [[ $stderr == "gpt-oss-query.sh: the prompt is not UTF-8 text"* ]]
  expect_exit 2 "$QUERY" <<<"$bad"
  expect_exit 2 "$INFER" --raw "$bad"
  expect_exit 2 "$INFER" --raw --stream - <<<"$bad"
  expect_exit 2 "$INFER" "$bad"
  expect_exit 2 "$INFER" --backend openai "$bad"
  expect_exit 2 "$BENCH" -p "$bad" 1
  assert_equal "$(stub_request_count)" 0
}

@test "GPT_OSS_PORT=abc exits 2 in every client, naming the variable" {
  local cmd
  for cmd in "$QUERY hi" "$INFER hi" "$INFER --raw hi" "$STATUS" "$BENCH 1"; do
    # shellcheck disable=SC2086 # a command and its arguments
    GPT_OSS_PORT=abc expect_exit 2 $cmd
    [[ $stderr == *"GPT_OSS_PORT must be a port number (1-65535), got 'abc'"* ]] || fail "$cmd: $stderr"
  done
  GPT_OSS_PORT=abc expect_exit 2 "$FAST" --print-cmd --model /dev/null
  GPT_OSS_PORT=99999 expect_exit 2 "$QUERY" hi
  # flag > env: a good --url wins over a bad GPT_OSS_PORT
  start_stub
  GPT_OSS_PORT=abc run --separate-stderr "$QUERY" --url "$STUB_URL" hi
  assert_success
}

@test "a bad port in --url or GPT_OSS_URL exits 2 everywhere" {
  local cmd
  for cmd in "$QUERY hi" "$INFER hi" "$INFER --raw hi" "$STATUS" "$BENCH 1"; do
    # shellcheck disable=SC2086 # a command and its arguments
    GPT_OSS_URL=http://127.0.0.1:abc expect_exit 2 $cmd
  done
}

@test "an IPv6 host or URL exits 2 at once in every script, saying the suite is IPv4 only" {
  local cmd host
  for cmd in "$QUERY hi" "$INFER hi" "$INFER --raw hi" "$INFER --backend openai hi" "$STATUS" "$BENCH 1"; do
    for host in ::1 :: '[::1]'; do
      # shellcheck disable=SC2086 # a command and its arguments
      GPT_OSS_HOST=$host expect_exit 2 $cmd
      [[ $stderr == *"GPT_OSS_HOST is an IPv6 address ('$host'); the suite speaks IPv4 only"* ]] || fail "$cmd: $stderr"
    done
    # shellcheck disable=SC2086
    GPT_OSS_URL='http://[::1]:8000' expect_exit 2 $cmd
    [[ $stderr == *"the server URL is an IPv6 address"*"IPv4 only"* ]] || fail "$cmd: $stderr"
  done
  GPT_OSS_HOST=::1 expect_exit 2 "$FAST" --print-cmd --model /dev/null
  [[ $stderr == *"GPT_OSS_HOST (--host) is an IPv6 address"* ]]
}

@test "a number too large for a time limit or a seed exits 2 everywhere, never wraps or crashes" {
  local cmd big=99999999999999999999
  for cmd in "$QUERY --timeout $big hi" "$INFER --timeout $big hi" "$INFER --raw --timeout $big hi" \
    "$INFER --timeout 4294967296 hi" "$STATUS --timeout $big" "$BENCH --timeout $big 1" \
    "$INFER --seed $big hi" "$QUERY --temperature $big hi" "$QUERY -n $big hi"; do
    # shellcheck disable=SC2086 # a command and its arguments
    expect_exit 2 $cmd
    [[ $stderr == *"from 0 to 4294967295"* || $stderr == *"from 1 to 4294967295"* ]] || fail "$cmd: $stderr"
  done
  GPT_OSS_CTX=$big expect_exit 2 "$FAST" --print-cmd --model /dev/null
}

@test "a 503 with an empty body exits 4 in every client, on every path" {
  start_fault "$(route /completion 503 '')" "$(route /v1/completions 503 '')" \
    "$(route /v1/chat/completions 503 '')"
  local cmd
  for cmd in "$QUERY" "$QUERY --json" "$INFER --raw" "$INFER --raw --stream" \
    "$INFER --raw --backend openai" "$INFER" "$INFER --stream" "$INFER --backend openai" \
    "$INFER --backend openai --stream"; do
    # shellcheck disable=SC2086 # a command and its options
    expect_exit 4 $cmd --url "$FAULT_URL" --timeout 1 hi
  done
  expect_exit 4 "$STATUS" --url "$FAULT_URL"
  expect_exit 4 "$BENCH" --url "$FAULT_URL" 1
}

@test "a 503 from /health exits 4 in status, bench and every client" {
  start_fault "$(route /health 503 '')" "$(route /completion 503 '')" "$(route /props 503 '')"
  expect_exit 4 "$STATUS" --url "$FAULT_URL"
  expect_exit 4 "$BENCH" --url "$FAULT_URL" 1
  expect_exit 4 "$QUERY" --url "$FAULT_URL" hi
  expect_exit 4 "$INFER" --url "$FAULT_URL" --timeout 1 hi
}

@test "a 503 with llama-server's JSON body exits 4 too" {
  start_stub STUB_LOADING_SECS=30
  expect_exit 4 "$QUERY" hi
  expect_exit 4 "$INFER" --raw --timeout 1 hi
  expect_exit 4 "$INFER" --timeout 1 hi
  expect_exit 4 "$STATUS"
  expect_exit 4 "$BENCH" 1
}
