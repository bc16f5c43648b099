# shellcheck shell=bash
# The lifecycle of the processes the suite starts: where their state lives, which pids
# are ours, the start lock, waiting until a start is ready, stopping, and leaving nothing
# behind when a start fails. Used by gpt-oss-fast.sh (the server) and
# gpt-oss-rpc-worker.sh (llama.cpp RPC workers); gpt-oss-status.sh reads the pids.
# Needs common.sh.
#
# An instance is a process recorded in a state directory DIR under NAME:
#   DIR/NAME.pid    its pid
#   DIR/NAME.argv   the command line it was started with, one argument per line
#   DIR/NAME.log    its stdout and stderr
#   DIR/start.lock/ held while a start is in progress
# The server:              DIR=$(state_dir)                  NAME=server, plus server.url,
#                          server.rpc (its RPC workers, one per line) and keepalive.pid
# An RPC worker on PORT:   DIR=$(worker_state_dir PORT)      NAME=worker
# A pid is only trusted when the live process's command line still matches what we
# started, so a recycled pid is never killed (or reported) as ours.

worker_state_dir() { printf '%s\n' "$(state_dir)/rpc-worker-$1"; } # worker_state_dir PORT

process_args() { # process_args PID → the process's command line, empty when gone
  ps -o args= -p "$1" 2>/dev/null || true
}

# live_pid_from FILE PATTERN → prints the pid in FILE when that process is alive and its
# command line contains PATTERN; otherwise prints nothing and removes the stale FILE.
live_pid_from() {
  local file=$1 pattern=$2 pid args
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  if [[ "$pid" =~ ^[0-9]+$ ]]; then
    args=$(process_args "$pid")
    if [[ -n "$args" && "$args" == *"$pattern"* ]]; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  rm -f "$file"
  return 1
}

instance_pid() { # instance_pid DIR NAME → the running instance's pid
  local dir=$1 name=$2
  local -a args=()
  [[ -f "$dir/$name.argv" ]] || return 1
  mapfile -t args <"$dir/$name.argv"
  # Match the arguments, not argv[0]: a wrapper script (a shim, our test stub) may
  # exec another program that keeps the arguments but not the name.
  live_pid_from "$dir/$name.pid" "${args[*]:1}"
}

server_pid() { instance_pid "$(state_dir)" server; } # server_pid → our llama-server's pid

keepalive_pid() { # keepalive_pid → our running keepalive loop's pid
  live_pid_from "$(state_dir)/keepalive.pid" "keepalive.sh"
}

# stop_pid PID [GRACE_SECONDS] → TERM, wait up to GRACE, then KILL; returns when gone.
stop_pid() {
  local pid=$1 grace=${2:-5} waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= grace * 20)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
    waited=$((waited + 1))
  done
  # Reap it when it is our child, so no zombie lingers.
  wait "$pid" 2>/dev/null || true
}

# stop_instance DIR NAME LABEL GRACE → stops the instance (saying "stopping LABEL (pid N)"
# when LABEL is set) and removes its pid file; status 1 when none was running.
stop_instance() {
  local dir=$1 name=$2 label=$3 grace=$4 pid
  if pid=$(instance_pid "$dir" "$name"); then
    [[ -z "$label" ]] || say "stopping $label (pid $pid)"
    stop_pid "$pid" "$grace"
    rm -f "$dir/$name.pid"
    return 0
  fi
  rm -f "$dir/$name.pid"
  return 1
}

stop_ours() { # stop_ours → stop the keepalive and the server recorded in $(state_dir)
  local dir pid stopped=0
  dir=$(state_dir)
  if pid=$(keepalive_pid); then
    stop_pid "$pid" 2
    stopped=1
  fi
  stop_instance "$dir" server llama-server 10 && stopped=1
  rm -f "$dir/server.pid" "$dir/keepalive.pid" "$dir/server.rpc"
  ((stopped)) || say "no server of ours is running; nothing to stop"
  return 0
}

# --- starting ---

quoted_argv() { # quoted_argv → the global array argv as one line a shell reads back the same
  local arg line="" quoted
  # shellcheck disable=SC2154 # argv: the command being started, set by the caller
  for arg in "${argv[@]}"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
      quoted=$arg
    else
      printf -v quoted '%q' "$arg"
    fi
    line+="${line:+ }$quoted"
  done
  printf '%s\n' "$line"
}

port_in_use() { (: <"/dev/tcp/$1/$2") 2>/dev/null; } # port_in_use HOST PORT

# acquire_lock DIR TIMEOUT_SECS WHAT → DIR/start.lock is ours (release_lock frees it); a
# lock whose owner died is taken over, a live owner is waited for up to TIMEOUT_SECS.
acquire_lock() {
  local dir=$1 timeout=$2 what=$3 lock="$1/start.lock" owner waited=0
  mkdir -p "$dir"
  until mkdir "$lock" 2>/dev/null; do
    owner=$(cat "$lock/pid" 2>/dev/null || true)
    if [[ -n "$owner" ]] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf "$lock" # its owner died without cleaning up
      continue
    fi
    ((waited == 0)) && say "another $PROG is starting $what; waiting"
    ((waited < timeout * 10)) || die "$EXIT_TIMEOUT" "gave up waiting for the start lock ($lock)"
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "$$" >"$lock/pid"
  _lifecycle_lock=$lock
}
release_lock() { [[ -z "${_lifecycle_lock:-}" ]] || rm -rf "$_lifecycle_lock"; _lifecycle_lock=""; }

# If a start fails after it started something, nothing of ours stays behind:
#   trap cleanup_on_exit EXIT
#   on_failure_stop PID GRACE PIDFILE → on a non-zero exit, stop PID and remove PIDFILE
#                                       (the last registered is stopped first)
#   keep_started                      → success: what was registered stays up
_lifecycle_started=()
on_failure_stop() { _lifecycle_started+=("$1 $2 $3"); }
keep_started() { _lifecycle_started=(); }
cleanup_on_exit() {
  local status=$? i pid grace file
  if ((status != 0)); then
    for ((i = ${#_lifecycle_started[@]} - 1; i >= 0; i--)); do
      read -r pid grace file <<<"${_lifecycle_started[i]}"
      stop_pid "$pid" "$grace"
      rm -f "$file"
    done
  fi
  release_lock
}

# launch_instance DIR NAME GRACE → starts the global argv in the background (under nohup
# unless the global foreground is 1), output to DIR/NAME.log; sets started_pid, writes
# DIR/NAME.pid and registers it with on_failure_stop.
launch_instance() {
  local dir=$1 name=$2 grace=$3
  local -a launcher=(nohup)
  ((${foreground:-0})) && launcher=()
  "${launcher[@]}" "${argv[@]}" >"$dir/$name.log" 2>&1 &
  started_pid=$!
  echo "$started_pid" >"$dir/$name.pid"
  on_failure_stop "$started_pid" "$grace" "$dir/$name.pid"
}

# stay_in_foreground PID WHAT STOP → after a successful start with --foreground: waits
# for PID, then runs STOP (a function) and exits with PID's status; Ctrl-C (INT) or TERM
# run STOP and exit 130 / 143.
stay_in_foreground() {
  local pid=$1 what=$2 stop=$3 status=0
  # shellcheck disable=SC2064 # STOP is expanded now, on purpose
  trap "$stop; exit 130" INT
  # shellcheck disable=SC2064
  trap "$stop; exit 143" TERM
  say "running in the foreground; Ctrl-C stops the $what"
  keep_started # from here on, its end is the normal end
  wait "$pid" || status=$?
  "$stop"
  exit "$status"
}

# wait_ready PID WHAT LOG TIMEOUT_SECS KNOB CHECK [ON_EXIT] → runs CHECK every 20 ms until
# it succeeds. When PID exits first: the tail of LOG, then ON_EXIT (a function that may
# die with a better message), then exit 9 with the command line (quoted_argv). When
# TIMEOUT_SECS (the knob KNOB) run out: exit 10.
wait_ready() {
  local pid=$1 what=$2 log=$3 timeout=$4 knob=$5 check=$6 on_exit=${7:-} deadline now
  now_ms now
  deadline=$((now + timeout * 1000))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      {
        say "$what exited during start-up; last lines of $log:"
        tail -n 20 "$log" | sed 's/^/  /'
      } >&2
      [[ -z "$on_exit" ]] || "$on_exit"
      die "$EXIT_START_FAILED" "$what failed to start (command: $(quoted_argv))"
    fi
    "$check" && return 0
    now_ms now
    ((now < deadline)) || die "$EXIT_TIMEOUT" "$what was not ready after ${timeout}s ($knob); log: $log"
    # Short polls: every poll we skip is time-to-ready the user waits for (the guide's
    # first script slept 2 s between polls).
    sleep 0.02
  done
}
