#!/usr/bin/env bats
# GPT_OSS_DEBUG=1 traces every command a script runs (set -x) to stderr, which users paste
# into bug reports: GPT_OSS_API_KEY must never appear in it, on any path that handles it.

bats_require_minimum_version 1.5.0
load helpers/test_helper

setup() {
  common_setup
  use_stub_fast
  KEY="trace-secret-$RANDOM$RANDOM"
}
teardown() { common_teardown; }

# no_key_in_trace → the command traced (a `+ ` line), and the key in none of its stderr
no_key_in_trace() {
  [[ $stderr == *$'\n+ '* || $stderr == "+ "* ]] || fail "no trace at all: $stderr"
  [[ $stderr != *"$KEY"* ]] || fail "the key is in the trace: $(grep -n -- "$KEY" <<<"$stderr" | head -3)"
}

@test "a traced start with GPT_OSS_API_KEY keeps the key out of the trace, and the server still gets it" {
  GPT_OSS_DEBUG=1 GPT_OSS_API_KEY=$KEY run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  no_key_in_trace
  grep -q -- "$KEY" "/proc/$(cat "$STATE/server.pid")/environ"
}

@test "a traced client rejected with HTTP 401 keeps the key out of the trace" {
  GPT_OSS_API_KEY=other run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  local cmd
  for cmd in "gpt-oss-query.sh hi" "local-infer.sh --raw hi"; do
    # shellcheck disable=SC2086 # a command and its arguments
    GPT_OSS_DEBUG=1 GPT_OSS_API_KEY=$KEY run --separate-stderr "$SUITE_ROOT"/scripts/$cmd
    assert_failure 6
    [[ $stderr == *"rejected GPT_OSS_API_KEY (HTTP 401"* ]] || fail "$cmd: $stderr"
    no_key_in_trace
  done
}

@test "a traced --print-service with GPT_OSS_API_KEY keeps the key out of the trace and the unit" {
  GPT_OSS_DEBUG=1 GPT_OSS_API_KEY=$KEY run --separate-stderr "$FAST" --print-service systemd
  assert_success
  no_key_in_trace
  [[ $output != *"$KEY"* ]]
}
