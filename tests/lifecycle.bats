#!/usr/bin/env bats
# The lifecycle of what gpt-oss-fast.sh starts (scripts/lib/lifecycle.sh), under faults:
# state files that are not whole, pids that are not ours, signals during a start, the
# start lock, several servers on several ports, a broken llama-server, bad knobs, logs.

setup() {
  load helpers/test_helper
  common_setup
  use_stub_fast
}

teardown() {
  common_teardown
}

# stranger → a live process that is not ours, its command line made to look like ours
# (ARGS...); prints its pid.
stranger() {
  local dir="$BATS_TEST_TMPDIR/stranger"
  mkdir -p "$dir"
  printf '#!/usr/bin/env bash\nsleep 60\n' >"$dir/keepalive.sh"
  chmod +x "$dir/keepalive.sh"
  "$dir/keepalive.sh" "$@" >/dev/null 2>&1 3>&- &
  echo $!
}

@test "stop leaves a process alone when server.argv is empty, cut or another command, and names its pid" {
  local pid record
  pid=$(stranger -m x --port "$GPT_OSS_PORT")
  mkdir -p "$STATE"
  for record in "" "$LLAMA_SERVER" "$(printf '%s\n' "$LLAMA_SERVER" -m x --port "$GPT_OSS_PORT" | head -c 20)" \
    "$(printf '%s\n' "$LLAMA_SERVER" -m x)"; do
    echo "$pid" >"$STATE/server.pid"
    printf '%s' "$record" >"$STATE/server.argv"
    run --separate-stderr "$FAST" stop
    assert_success
    kill -0 "$pid"
    assert_equal "$stderr" "gpt-oss-fast.sh: not stopping pid $pid from $STATE/server.pid: it does not run the command recorded in server.argv, so it is not ours
gpt-oss-fast.sh: no server of ours is running; nothing to stop"
  done
}

@test "stop leaves alone a process whose command line merely contains keepalive.sh" {
  local pid
  pid=$(stranger "http://127.0.0.1:$GPT_OSS_PORT")
  mkdir -p "$STATE"
  echo "$pid" >"$STATE/keepalive.pid"
  run --separate-stderr "$FAST" stop
  assert_success
  kill -0 "$pid"
  [[ "$stderr" == *"not stopping pid $pid from $STATE/keepalive.pid"* ]]
}

@test "a pid is trusted only for the whole recorded command line, run directly or by its interpreter" {
  run --separate-stderr "$FAST" --no-warmup
  assert_success
  local server
  server=$(cat "$STATE/server.pid")
  source "$SUITE_ROOT/scripts/lib/common.sh"
  source "$SUITE_ROOT/scripts/lib/lifecycle.sh"
  run instance_pid "$STATE" server
  assert_output "$server"
  # One argument more or less, or one changed, is another command.
  cp "$STATE/server.argv" "$BATS_TEST_TMPDIR/argv"
  echo --extra >>"$STATE/server.argv"
  run instance_pid "$STATE" server
  assert_failure
  sed '$d' "$BATS_TEST_TMPDIR/argv" >"$STATE/server.argv"
  run instance_pid "$STATE" server
  assert_failure
  sed 's/^-np$/-n/' "$BATS_TEST_TMPDIR/argv" >"$STATE/server.argv"
  run instance_pid "$STATE" server
  assert_failure
  # A record cut in the middle of its last line is not whole.
  head -c -1 "$BATS_TEST_TMPDIR/argv" >"$STATE/server.argv"
  run instance_pid "$STATE" server
  assert_failure
  cp "$BATS_TEST_TMPDIR/argv" "$STATE/server.argv"
  run "$FAST" stop
  assert_success
  run kill -0 "$server"
  assert_failure
}

@test "a llama-server whose --help fails shows its error line, exits 9, and is probed again next time" {
  local bin="$BATS_TEST_TMPDIR/bin/llama-server" err
  err="$bin: error while loading shared libraries: libggml-base.so: cannot open shared object file: No such file or directory"
  mkdir -p "${bin%/*}"
  printf '#!/usr/bin/env bash\nif [[ -e %q ]]; then echo "%s" >&2; exit 127; fi\nexec %q "$@"\n' \
    "$BATS_TEST_TMPDIR/broken" "$err" "$LLAMA_SERVER" >"$bin"
  chmod +x "$bin"
  touch "$BATS_TEST_TMPDIR/broken"
  LLAMA_SERVER=$bin run --separate-stderr "$FAST" --print-cmd
  assert_failure 9
  assert_equal "$stderr" "gpt-oss-fast.sh: $bin --help failed (exit 127), so it cannot start: $err"
  # The library is installed; the binary itself did not change.
  rm "$BATS_TEST_TMPDIR/broken"
  LLAMA_SERVER=$bin run --separate-stderr "$FAST" --print-cmd
  assert_success
  assert_output --partial " -lm none -fa on"
}

@test "IPv6 hosts, an unset HOME and numbers too large for Bash are refused with one line and exit 2" {
  local host knob
  for host in :: ::1 '[::1]'; do
    GPT_OSS_HOST=$host run --separate-stderr "$FAST" --print-cmd
    assert_failure 2
    assert_equal "$stderr" "gpt-oss-fast.sh: GPT_OSS_HOST (--host) is an IPv6 address ('$host'); the suite speaks IPv4 only: use 127.0.0.1 (this machine) or 0.0.0.0 (every interface) (see gpt-oss-fast.sh --help)"
  done
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-rpc-worker.sh" --host ::1 --print-cmd
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: GPT_OSS_RPC_WORKER_HOST (--host) is an IPv6 address ('::1'); the suite speaks IPv4 only: use 127.0.0.1 (this machine) or 0.0.0.0 (every interface) (see gpt-oss-rpc-worker.sh --help)"
  for knob in GPT_OSS_PORT GPT_OSS_CTX GPT_OSS_PARALLEL GPT_OSS_KEEPALIVE_SECS GPT_OSS_START_TIMEOUT; do
    env "$knob=99999999999999999999" "$FAST" --no-warmup 2>"$BATS_TEST_TMPDIR/err" && fail "$knob was taken"
    assert_equal "$?" 2
    [[ "$(cat "$BATS_TEST_TMPDIR/err")" == "gpt-oss-fast.sh: $knob "*" must be a whole number from "*" got '99999999999999999999' (see gpt-oss-fast.sh --help)" ]] ||
      fail "$knob: $(cat "$BATS_TEST_TMPDIR/err")"
  done
  run --separate-stderr env -u HOME "$FAST" --no-warmup
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: HOME is not set; the suite keeps its state, caches and default model folder under it: set HOME (see gpt-oss-fast.sh --help)"
  [[ ! -e "$STUB_DIR/argv" ]] # nothing was started
}

@test "TERM or HUP during start-up stops the starting server, frees the lock and exits 128+n" {
  local sig fast server status tries
  for sig in TERM HUP; do
    rm -f "$STATE/server.pid"
    STUB_LOADING_SECS=60 "$FAST" --no-warmup >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    fast=$! tries=0
    until [[ -s "$STATE/server.pid" ]] || ((tries++ > 100)); do sleep 0.05; done
    server=$(cat "$STATE/server.pid")
    sleep 0.3 # loading: the start polls /health
    kill "-$sig" "$fast"
    status=0
    wait "$fast" || status=$?
    assert_equal "$status" "$([[ $sig == TERM ]] && echo 143 || echo 129)"
    if process_alive "$server"; then fail "SIG$sig left llama-server $server running"; fi
    [[ ! -e "$STATE/server.pid" ]]
    run flock -n "$STATE/start.flock" true
    assert_success
  done
}

# hold_lock → a process that holds the start lock as a start would (its pid in the file)
hold_lock() {
  mkdir -p "$STATE"
  (
    exec 9>>"$STATE/start.flock"
    flock 9
    echo "$BASHPID" >"$STATE/start.flock"
    exec sleep 60
  ) >/dev/null 2>&1 3>&- &
  local tries=0
  until [[ "$(cat "$STATE/start.flock" 2>/dev/null)" == "$!" ]] || ((tries++ > 100)); do sleep 0.05; done
  echo "$!"
}

@test "a start waiting for the lock names its holder, and gives up after --timeout with exit 10" {
  local holder
  holder=$(hold_lock)
  run --separate-stderr "$FAST" --no-warmup --timeout 1
  assert_failure 10
  assert_equal "$stderr" "gpt-oss-fast.sh: another gpt-oss-fast.sh (pid $holder) is starting or stopping the server; waiting up to 1s
gpt-oss-fast.sh: gave up waiting after 1s for the start lock $STATE/start.flock, held by pid $holder"
  [[ ! -e "$STUB_DIR/argv" ]] # nothing was started
}

@test "a lock whose holder was killed is free at once, and three starts then leave one server" {
  local holder i
  holder=$(hold_lock)
  kill -KILL "$holder"
  for i in 1 2 3; do
    "$FAST" --no-warmup --timeout 20 >"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" 3>&- &
  done
  local failed=0
  for i in 1 2 3; do wait -n || failed=$((failed + 1)); done
  assert_equal "$failed" 0
  assert_equal "$(pgrep -fc "bin/llama-server -m $MODEL_DIR")" 1
  for i in 1 2 3; do assert_equal "$(cat "$BATS_TEST_TMPDIR/out$i")" "http://127.0.0.1:$GPT_OSS_PORT"; done
}

@test "the keepalive rotates server.log past GPT_OSS_LOG_MAX_MB, keeping one old part, and the server writes on" {
  GPT_OSS_LOG_MAX_MB=1 GPT_OSS_KEEPALIVE_SECS=1 run --separate-stderr "$FAST" --no-warmup
  assert_success
  head -c 1100000 /dev/zero | tr '\0' x >>"$STATE/server.log"
  local tries=0
  until [[ -s "$STATE/server.log.1" ]] || ((tries++ > 160)); do sleep 0.05; done
  (($(wc -c <"$STATE/server.log.1") > 1100000)) || fail "server.log.1: $(wc -c <"$STATE/server.log.1") bytes"
  curl -4 -s -o /dev/null "http://127.0.0.1:$GPT_OSS_PORT/health"
  sleep 0.3
  # Appended at the new end: a small file, no hole where the old bytes were.
  (($(wc -c <"$STATE/server.log") < 100000)) || fail "server.log: $(wc -c <"$STATE/server.log") bytes"
  grep -q "GET /health" "$STATE/server.log"
  run --separate-stderr env GPT_OSS_LOG_MAX_MB=0 "$FAST" --no-warmup
  assert_failure 2
}

@test "a start keeps the previous run's server.log as server.log.1" {
  run "$FAST" --no-warmup --keepalive 0
  assert_success
  run "$FAST" --restart --no-warmup --keepalive 0
  assert_success
  grep -q "listening on" "$STATE/server.log.1"
  grep -q "listening on" "$STATE/server.log"
}

@test "stop during a start ends that start: nothing stays running and the lock is free" {
  STUB_LOADING_SECS=60 "$FAST" --no-warmup >/dev/null 2>"$BATS_TEST_TMPDIR/start.err" 3>&- &
  local start=$! tries=0 server status=0
  until [[ -s "$STATE/server.pid" ]] || ((tries++ > 100)); do sleep 0.05; done
  server=$(cat "$STATE/server.pid")
  sleep 0.3
  run --separate-stderr "$FAST" stop
  assert_success
  assert_equal "${stderr%%$'\n'*}" "gpt-oss-fast.sh: ending the start in progress (pid $start)"
  wait "$start" || status=$?
  assert_equal "$status" 143
  if process_alive "$server"; then fail "llama-server $server still runs"; fi
  [[ ! -e "$STATE/server.pid" ]]
  run flock -n "$STATE/start.flock" true
  assert_success
}

@test "the same model and binary by other relative paths reuse the running server" {
  mkdir -p "$BATS_TEST_TMPDIR/a/b"
  cd "$BATS_TEST_TMPDIR"
  GPT_OSS_GGUF_MODEL_PATH=models/gpt-oss-20b-Q4_0.gguf run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  cd a/b
  GPT_OSS_GGUF_MODEL_PATH=../../models/../models/gpt-oss-20b-Q4_0.gguf run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  [[ "$stderr" == *"reusing the running llama-server"* ]]
}

@test "a second server on another port is separate: --check, --restart and stop act per port; stop --all ends both" {
  local other first second
  other=$(free_port)
  run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  first=$(cat "$STATE/server.pid")
  run --separate-stderr "$FAST" --no-warmup -k 0 --port "$other" --parallel 2
  assert_success
  assert_output "http://127.0.0.1:$other"
  second=$(cat "$(server_state "$other")/server.pid")
  run --separate-stderr "$FAST" --check --url "http://127.0.0.1:$other"
  assert_success
  assert_output "http://127.0.0.1:$other"
  run --separate-stderr "$FAST" --no-warmup -k 0 --port "$other" --restart
  assert_success
  kill -0 "$first" # a restart on the other port leaves this one alone
  second=$(cat "$(server_state "$other")/server.pid")
  run --separate-stderr "$FAST" stop
  assert_success
  assert_equal "$stderr" "gpt-oss-fast.sh: stopping llama-server (pid $first)"
  kill -0 "$second"
  run --separate-stderr "$FAST" --check
  assert_failure 3
  run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  first=$(cat "$STATE/server.pid")
  run --separate-stderr "$FAST" stop --all
  assert_success
  if process_alive "$first" || process_alive "$second"; then fail "stop --all left a server running"; fi
}

@test "a server started under the old single-state layout is moved to its port's state and stopped" {
  run --separate-stderr "$FAST" --no-warmup -k 0
  assert_success
  local server old="$XDG_STATE_HOME/gpt-oss"
  server=$(cat "$STATE/server.pid")
  # As an older version left it: the files right in gpt-oss/, no dir per port.
  mv "$STATE"/server.* "$old/"
  rm -r "$STATE"
  run --separate-stderr "$FAST" stop
  assert_success
  assert_equal "$stderr" "gpt-oss-fast.sh: moved the state of our server on port $GPT_OSS_PORT to $STATE (state is kept per port now)
gpt-oss-fast.sh: stopping llama-server (pid $server)"
  if process_alive "$server"; then fail "the old server $server still runs"; fi
  [[ ! -e "$old/server.pid" && ! -e "$old/server.argv" ]]
}
