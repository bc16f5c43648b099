# shellcheck shell=bash
# Shared setup for the bats tests: `load helpers/test_helper`, then call common_setup in
# setup() and common_teardown in teardown(). Each test gets its own HOME and XDG dirs,
# free loopback ports, and loses every process it started, even when it fails.

bats_require_minimum_version 1.5.0 # run --separate-stderr and exit-code checks
SUITE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SUITE_ROOT
TEST_STUB_SERVER="$SUITE_ROOT/tests/helpers/stub_llama_server.py" # not STUB_*: setup unsets those
FAKE_BIN_DIR="$SUITE_ROOT/tests/helpers/bin"

common_setup() {
  load "$SUITE_ROOT/.deps/node_modules/bats-support/load.bash"
  load "$SUITE_ROOT/.deps/node_modules/bats-assert/load.bash"

  # The developer's own knobs, keys and colour choice must not leak into a test.
  local var
  for var in $(compgen -v GPT_OSS_; compgen -v STUB_; compgen -v LLAMA_); do
    unset "$var"
  done
  unset NO_COLOR

  export HOME="$BATS_TEST_TMPDIR/home"
  export XDG_STATE_HOME="$HOME/.local/state"
  export XDG_CACHE_HOME="$HOME/.cache"
  export XDG_CONFIG_HOME="$HOME/.config"
  export STUB_DIR="$BATS_TEST_TMPDIR/stub"
  mkdir -p "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$STUB_DIR"
  TEST_PIDS_FILE="$BATS_TEST_TMPDIR/.pids"
  : >"$TEST_PIDS_FILE"
}

# pids_with_our_home → every process whose environment holds this test's HOME. Each
# process a test starts inherits it and HOME is unique per test, so this finds strays
# nobody recorded and never matches an unrelated process that reused a stale pid. grep
# runs with another HOME so that it does not find itself.
pids_with_our_home() {
  local ours="HOME=$HOME" path
  HOME=/ grep -lzxF "$ours" /proc/[0-9]*/environ 2>/dev/null | while read -r path; do
    path=${path#/proc/}
    printf '%s\n' "${path%/environ}"
  done
  return 0
}

# recorded_pids → pids start_stub recorded and those in the pid files the stub and the
# scripts wrote; the fallback where there is no /proc to scan.
recorded_pids() {
  local file
  for file in "$TEST_PIDS_FILE" "$STUB_DIR/pid"; do
    [[ -f "$file" ]] && cat "$file"
  done
  [[ -d "$XDG_STATE_HOME/gpt-oss" ]] &&
    find "$XDG_STATE_HOME/gpt-oss" -name '*.pid' -type f -exec cat {} + 2>/dev/null
  return 0
}

# process_alive PID → running and not a zombie waiting to be reaped.
process_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  [[ -d /proc/self ]] || return 0 # no /proc: kill -0 is all we can tell
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ "${stat##*) }" != Z* ]]
}

any_alive() {
  local pid
  for pid; do process_alive "$pid" && return 0; done
  return 1
}

common_teardown() {
  local pid waited=0
  local -a pids=()
  # If setup failed before HOME moved, the scan would match the developer's own processes.
  [[ "$HOME" == "$BATS_TEST_TMPDIR/home" ]] || return 0
  if [[ -d /proc/self ]]; then
    # A superset of the recorded pids, and safe from stale pid files.
    mapfile -t pids < <(pids_with_our_home)
  else
    while read -r pid; do
      [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
    done < <(recorded_pids)
  fi
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # Poll rather than sleep a fixed time: the stub stops within ~50 ms of SIGTERM.
  while any_alive "${pids[@]}" && ((waited < 30)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true # reap our own children; others are not ours to wait for
  done
}

# use_stub_fast → gpt-oss-fast.sh ($FAST) on the stub llama-server (LLAMA_SERVER) and a
# free port (GPT_OSS_PORT), auto-picking from a folder with one empty Q4_0 GGUF
# (MODEL_DIR, GPT_OSS_MODEL_DIR); STATE is that port's state dir.
# shellcheck disable=SC2034 # FAST, MODEL_DIR and STATE are for the tests
use_stub_fast() {
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  MODEL_DIR="$BATS_TEST_TMPDIR/models"
  mkdir -p "$MODEL_DIR"
  : >"$MODEL_DIR/gpt-oss-20b-Q4_0.gguf"
  export GPT_OSS_MODEL_DIR="$MODEL_DIR"
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  export LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server"
  STATE=$(server_state)
}

# server_state [PORT] → where gpt-oss-fast.sh keeps the state of its server on PORT
# (default GPT_OSS_PORT, else 8000): server.pid, server.argv, server.log, keepalive.pid...
server_state() { printf '%s\n' "$XDG_STATE_HOME/gpt-oss/server-${1:-${GPT_OSS_PORT:-8000}}"; }

# free_port → a loopback port nothing listens on (the kernel picks it, then we let go).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_stub [VAR=value ...] [llama-server args ...] → runs the stub on a free port with
# those settings (e.g. `start_stub STUB_LOADING_SECS=1 -c 1024 -np 4`), waits until it
# accepts connections, exports STUB_PORT, STUB_URL and GPT_OSS_URL. Its stderr goes to
# $STUB_DIR/server.log.
start_stub() {
  local pid tries=0
  local -a env_args=() server_args=()
  while (($#)); do
    if ((${#server_args[@]} == 0)) && [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
      env_args+=("$1")
    else
      server_args+=("$1")
    fi
    shift
  done
  STUB_PORT=$(free_port)
  STUB_URL="http://127.0.0.1:$STUB_PORT"
  GPT_OSS_URL=$STUB_URL
  export STUB_PORT STUB_URL GPT_OSS_URL
  # fd 3 closed: bats waits for every holder of its output pipe before it finishes.
  env ${env_args[@]+"${env_args[@]}"} python3 "$TEST_STUB_SERVER" \
    --host 127.0.0.1 --port "$STUB_PORT" ${server_args[@]+"${server_args[@]}"} \
    >/dev/null 2>"$STUB_DIR/server.log" 3>&- &
  pid=$!
  echo "$pid" >>"$TEST_PIDS_FILE"
  until (: <"/dev/tcp/127.0.0.1/$STUB_PORT") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || ((tries >= 100)); then
      echo "start_stub: the stub did not come up on port $STUB_PORT:" >&2
      cat "$STUB_DIR/server.log" >&2
      return 1
    fi
    sleep 0.05
    tries=$((tries + 1))
  done
}

# use_fake_llama_server → scripts under test find the stub as `llama-server`.
use_fake_llama_server() {
  export PATH="$FAKE_BIN_DIR:$PATH"
}

# stub_request_body N → the raw body of request N (numbered from 1, every request counts).
stub_request_body() {
  cat "$STUB_DIR/body-$1"
}

# stub_last_body → the raw body of the last request that had one (health polls have none).
stub_last_body() {
  local n
  for ((n = $(stub_request_count); n >= 1; n--)); do
    if [[ -s "$STUB_DIR/body-$n" ]]; then
      cat "$STUB_DIR/body-$n"
      return 0
    fi
  done
  return 1
}

# stub_request_count → how many requests the stub has recorded.
stub_request_count() {
  if [[ -f "$STUB_DIR/requests.jsonl" ]]; then
    wc -l <"$STUB_DIR/requests.jsonl" | tr -d ' '
  else
    echo 0
  fi
}

# json_get EXPR → evaluates a Python expression on the JSON read from stdin (as `d`);
# a tuple prints as its items separated by spaces.
json_get() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$1"
}

# output_json_of JSON EXPR → like json_get, on a JSON string given as an argument
output_json_of() {
  json_get "$2" <<<"$1"
}
