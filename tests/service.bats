#!/usr/bin/env bats
# gpt-oss-fast.sh --print-service (issue 16): the systemd user unit and the launchd agent
# that keep the server running, checked field by field, by `systemd-analyze verify` where
# it is installed, and by running the unit's own ExecStart against the stub llama-server
# and stopping it the way systemd does (SIGTERM to the main process).

setup() {
  load helpers/test_helper
  common_setup
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  MODEL="$BATS_TEST_TMPDIR/models/gpt-oss-20b-Q4_0.gguf"
  mkdir -p "${MODEL%/*}"
  : >"$MODEL"
  export GPT_OSS_MODEL_DIR="${MODEL%/*}" GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  export LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server"
  UNIT="$BATS_TEST_TMPDIR/gpt-oss-fast.service"
}

teardown() {
  common_teardown
}

# unit_value KEY → the values of KEY= lines of $UNIT, one per line
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }

@test "--print-service writes a systemd user unit that runs --foreground with the settings resolved" {
  GPT_OSS_CTX=2048 GPT_OSS_KEEPALIVE_SECS=3 run --separate-stderr "$FAST" --print-service systemd --parallel 2
  assert_success
  assert_equal "$stderr" ""
  printf '%s\n' "$output" >"$UNIT"
  assert_equal "$(unit_value ExecStart)" "$BASH $SUITE_ROOT/scripts/gpt-oss-fast.sh --foreground --restart --model $MODEL --host 127.0.0.1 --port $GPT_OSS_PORT --parallel 2 --batch 256 --ubatch 256 --kv-type f16 --kv-unified auto --keepalive 3 --timeout 300 --ctx 2048"
  assert_equal "$(unit_value Restart)" on-failure
  assert_equal "$(unit_value Type)" simple
  assert_equal "$(unit_value SuccessExitStatus)" 143
  assert_equal "$(unit_value WantedBy)" default.target
  assert_line "Environment=LLAMA_SERVER=$LLAMA_SERVER"
  assert_line "Environment=XDG_STATE_HOME=$XDG_STATE_HOME"
  assert_line "EnvironmentFile=-$XDG_CONFIG_HOME/gpt-oss/service.env"
}

@test "the unit passes systemd-analyze verify where systemd is installed, and names real files" {
  "$FAST" --print-service systemd >"$UNIT"
  local exec
  read -ra exec <<<"$(unit_value ExecStart)"
  [[ -x "${exec[0]}" && -x "${exec[1]}" ]]
  if command -v systemd-analyze >/dev/null; then
    run --separate-stderr systemd-analyze verify "$UNIT"
    assert_success
    assert_equal "$stderr" ""
    # The check is real: a unit whose program does not exist fails it.
    sed "s#^ExecStart=[^ ]*#ExecStart=$BATS_TEST_TMPDIR/no-such-bash#" "$UNIT" >"$BATS_TEST_TMPDIR/broken.service"
    run systemd-analyze verify "$BATS_TEST_TMPDIR/broken.service"
    assert_failure
  fi
}

@test "the API key never reaches the unit: it names the environment file instead, with a warning" {
  GPT_OSS_API_KEY=secret-key-123 run --separate-stderr "$FAST" --print-service systemd
  assert_success
  refute_output --partial secret-key-123
  assert_equal "$stderr" "gpt-oss-fast.sh: warning: GPT_OSS_API_KEY is not written into the unit; put GPT_OSS_API_KEY=... in $XDG_CONFIG_HOME/gpt-oss/service.env (chmod 600)"
}

@test "values systemd would read as specifiers or variables are escaped" {
  mkdir -p "$BATS_TEST_TMPDIR/my 100% \$models"
  cp "$MODEL" "$BATS_TEST_TMPDIR/my 100% \$models/m.gguf"
  run --separate-stderr "$FAST" --print-service systemd --model "$BATS_TEST_TMPDIR/my 100% \$models/m.gguf"
  assert_success
  assert_output --partial "--model \"$BATS_TEST_TMPDIR/my 100%% \$\$models/m.gguf\""
}

@test "--print-service launchd writes a plist with the same command and restart on failure" {
  run --separate-stderr "$FAST" --print-service launchd
  assert_success
  printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/agent.plist"
  run python3 -c '
import plistlib, sys
d = plistlib.load(open(sys.argv[1], "rb"))
print(d["Label"], d["RunAtLoad"], d["KeepAlive"])
print(" ".join(d["ProgramArguments"]))
print(d["EnvironmentVariables"]["LLAMA_SERVER"])' "$BATS_TEST_TMPDIR/agent.plist"
  assert_success
  assert_line --index 0 "gpt-oss-suite.gpt-oss-fast True {'SuccessfulExit': False}"
  assert_line --index 1 --partial "$SUITE_ROOT/scripts/gpt-oss-fast.sh --foreground --restart --model $MODEL"
  assert_line --index 2 "$LLAMA_SERVER"
}

@test "--print-service with no model to serve fails like a start would (exit 7)" {
  rm "$MODEL"
  run --separate-stderr "$FAST" --print-service
  assert_failure 7
  assert_output ""
}

@test "the unit's ExecStart serves, and SIGTERM (systemctl stop) ends it cleanly with its success status" {
  local -a exec envs
  local line pid status=0 tries=0 server keepalive
  "$FAST" --print-service systemd >"$UNIT"
  read -ra exec <<<"$(unit_value ExecStart)"
  while IFS= read -r line; do envs+=("$line"); done < <(unit_value Environment)
  # As systemd starts it: only the unit's environment (plus HOME), stdin from /dev/null.
  env -i HOME="$HOME" "${envs[@]}" "${exec[@]}" </dev/null >"$BATS_TEST_TMPDIR/out" \
    2>"$BATS_TEST_TMPDIR/err" 3>&- &
  pid=$!
  until [[ -s "$(server_state)/keepalive.pid" ]] || ((tries++ > 200)); do sleep 0.05; done
  run curl -4 -s "http://127.0.0.1:$GPT_OSS_PORT/health"
  assert_output '{"status":"ok"}'
  server=$(cat "$(server_state)/server.pid")
  keepalive=$(cat "$(server_state)/keepalive.pid")
  kill -TERM "$pid"
  wait "$pid" || status=$?
  assert_equal "$status" "$(unit_value SuccessExitStatus)"
  run kill -0 "$server"
  assert_failure
  run kill -0 "$keepalive"
  assert_failure
  [[ ! -e "$(server_state)/server.pid" ]]
  run cat "$BATS_TEST_TMPDIR/err"
  assert_line --partial "running in the foreground"
  assert_line "gpt-oss-fast.sh: stopping llama-server (pid $server)"
}
