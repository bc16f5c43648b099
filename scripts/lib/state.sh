# shellcheck shell=bash
# The state directory of the suite's own server: which processes are ours.
# Files under $(state_dir): server.pid, server.argv (one argument per line),
# server.url, server.log, keepalive.pid, start.lock/.
# A pid is only trusted when the live process's command line still matches what we
# started, so a recycled pid is never killed (or reported) as ours.

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

server_pid() { # server_pid → our running llama-server's pid
  local dir
  local -a args=()
  dir=$(state_dir)
  [[ -f "$dir/server.argv" ]] || return 1
  mapfile -t args <"$dir/server.argv"
  # Match the arguments, not argv[0]: a wrapper script (a shim, our test stub) may
  # exec another program that keeps the arguments but not the name.
  live_pid_from "$dir/server.pid" "${args[*]:1}"
}

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
