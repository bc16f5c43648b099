# shellcheck shell=bash
# The lifecycle of the processes the suite starts: where their state lives, which pids
# are ours, the start lock, waiting until a start is ready, stopping, and leaving nothing
# behind when a start fails. Used by gpt-oss-fast.sh (the server) and
# gpt-oss-rpc-worker.sh (llama.cpp RPC workers); gpt-oss-status.sh reads the pids.
# Needs common.sh.
#
# An instance is a process recorded in a state directory DIR under NAME (DIR/NAME.pid,
# NAME.argv, NAME.log; DIR/start.flock): the server on PORT and its keepalive in
# $(server_state_dir PORT), an RPC worker in $(worker_state_dir PORT); each file is in
# docs/reference.md's state table. A pid is only trusted when the live process's command
# line is the whole one we started (runs_recorded), so a recycled pid is never ours.

require_home() {
  [[ -n "${HOME:-}" ]] || usage_error "HOME is not set; the suite keeps its state, caches and default model folder under it: set HOME"
}

# require_ipv4_host NAME HOST → exit 2 unless HOST is a name or IPv4 address to bind: every
# client runs curl -4, so a server on an IPv6 address would be one no client reaches.
require_ipv4_host() {
  local name=$1 host=$2
  [[ "$host" != *[:[]* ]] || ipv6_refused "$name" "$host"
  [[ "$host" =~ ^[A-Za-z0-9.-]+$ ]] || usage_error "$name is not a host name or address: '$host'"
}

worker_state_dir() { printf '%s\n' "$(state_dir)/rpc-worker-$1"; } # worker_state_dir PORT

# server_state_dir [PORT] → the state of our server on PORT (default: GPT_OSS_PORT, else
# 8000), one per port, so that servers on several ports are separate. (A port, not
# host:port: only one server can listen on a port of this machine.)
server_state_dir() { printf '%s\n' "$(state_dir)/server-${1:-${GPT_OSS_PORT:-8000}}"; }

# instance_dirs KIND NAME → every state dir KIND-PORT that records a NAME, by port
instance_dirs() {
  local d
  for d in "$(state_dir)/$1"-*; do
    [[ -f "$d/$2.argv" ]] && printf '%s\t%s\n' "${d##*-}" "$d"
  done | sort -n | cut -f2-
  return 0
}
server_state_dirs() { instance_dirs server server; } # every server of ours, by port

# url_port URL → the port of an http(s) URL (80 or 443 when it names none)
url_port() {
  if [[ "$1" =~ ^https?://[^/]*:([0-9]+)(/|$) ]]; then
    printf '%s\n' "$((10#${BASH_REMATCH[1]}))"
  elif [[ "$1" == https:* ]]; then echo 443; else echo 80; fi
}

# migrate_old_state → a server started before state was kept per port (its files right
# in $(state_dir)) moves to the dir of its port, once, under that port's lock; so it is
# still found and stopped after the upgrade.
migrate_old_state() {
  local old port="" dir file line prev=""
  old=$(state_dir)
  [[ -f "$old/server.argv" ]] || return 0
  if [[ -s "$old/server.url" ]]; then
    port=$(url_port "$(<"$old/server.url")")
  else
    while IFS= read -r line; do
      [[ "$prev" == --port ]] && port=$line
      prev=$line
    done <"$old/server.argv"
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || return 0
  dir=$(server_state_dir "$port")
  acquire_lock "$dir" "${start_timeout:-300}" "the server"
  if [[ -f "$old/server.argv" && ! -f "$dir/server.argv" ]]; then
    # An old keepalive has no record to be trusted by; it ends by itself with its server.
    [[ -f "$old/keepalive.argv" ]] || rm -f "$old/keepalive.pid"
    for file in server.pid server.argv server.url server.rpc server.log server.log.1 keepalive.pid keepalive.argv; do
      [[ -e "$old/$file" ]] && mv -f "$old/$file" "$dir/$file"
    done
    say "moved the state of our server on port $port to $dir (state is kept per port now)"
  fi
  release_lock
}

# runs_recorded PID FILE → the live process PID runs exactly the command recorded in FILE
# (one argument per line): directly, or as a script through its #! interpreter (one
# argument more in front: `bash keepalive.sh ...`, `python3 stub ...`). A record that is
# empty or cut (a whole one ends with a newline) matches nothing. The live command line
# comes from /proc/PID/cmdline (exact bytes), else `ps -o args=` (macOS: space-joined).
runs_recorded() {
  local pid=$1 file=$2 record="" live i
  local -a want=() have=()
  [[ "$pid" =~ ^[1-9][0-9]*$ && -r "$file" ]] || return 1
  IFS= read -r -d '' record <"$file" || true
  [[ "$record" == ?*$'\n' ]] || return 1
  mapfile -t want <<<"${record%$'\n'}"
  [[ -n "${want[0]}" ]] || return 1
  if [[ -d /proc/self ]]; then
    [[ -r "/proc/$pid/cmdline" ]] && mapfile -d '' -t have <"/proc/$pid/cmdline" 2>/dev/null || return 1
  else
    live=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
    [[ "$live" == "${want[*]}" ]] && return 0
    [[ "$live" == *" ${want[*]}" && "${live% "${want[*]}"}" != *" "* ]] && is_script "${want[0]}"
    return
  fi
  case $((${#have[@]} - ${#want[@]})) in
    0) ;;
    1) is_script "${want[0]}" && have=("${have[@]:1}") || return 1 ;;
    *) return 1 ;;
  esac
  for i in "${!want[@]}"; do
    [[ "${have[i]}" == "${want[i]}" ]] || return 1
  done
}
is_script() { local head=""; read -r -n 2 head <"$1" 2>/dev/null; [[ "$head" == '#!' ]]; } # is_script FILE

# find_instance DIR NAME → found_pid is the pid in DIR/NAME.pid when that process runs
# the command in DIR/NAME.argv; otherwise status 1, and untrusted_pid names a live
# process that holds the recorded pid but runs something else (never ours to stop).
# Reads only. instance_pid DIR NAME → prints found_pid.
find_instance() {
  local dir=$1 name=$2 pid=""
  found_pid="" untrusted_pid=""
  [[ -f "$dir/$name.pid" ]] || return 1
  pid=$(<"$dir/$name.pid") || return 1
  if runs_recorded "$pid" "$dir/$name.argv"; then
    found_pid=$pid
    return 0
  fi
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] && kill -0 "$pid" 2>/dev/null && untrusted_pid=$pid
  return 1
}
instance_pid() { find_instance "$@" && printf '%s\n' "$found_pid"; }

# record_pid DIR NAME PID → DIR/NAME.pid written whole (a reader never sees half of it)
record_pid() { printf '%s\n' "$3" >"$1/$2.pid.$$" && mv -f "$1/$2.pid.$$" "$1/$2.pid"; }

# stop_pid PID [GRACE_SECONDS] → TERM, wait up to GRACE, then KILL; returns when gone.
stop_pid() {
  local pid=$1 grace=${2:-5} waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited++ >= grace * 20)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
  # Reap it when it is our child, so no zombie lingers.
  wait "$pid" 2>/dev/null || true
}

# stop_instance DIR NAME LABEL GRACE → stops the instance (saying "stopping LABEL (pid N)"
# when LABEL is set) and removes its pid file; status 1 when none was running.
# A live process at the recorded pid that runs another command is named and left alone.
stop_instance() {
  local dir=$1 name=$2 label=$3 grace=$4 status=0
  if find_instance "$dir" "$name"; then
    [[ -z "$label" ]] || say "stopping $label (pid $found_pid)"
    stop_pid "$found_pid" "$grace"
  else
    status=1
    [[ -z "$untrusted_pid" ]] ||
      say "not stopping pid $untrusted_pid from $dir/$name.pid: it does not run the command recorded in $name.argv, so it is not ours"
  fi
  rm -f "$dir/$name.pid"
  return "$status"
}

# stop_ours DIR → stop the keepalive and the server recorded in DIR, under its start lock:
# a start in progress is ended first (it cleans up after itself), and no state is removed
# while another start or stop works on it.
stop_ours() {
  local dir=$1 stopped=0 own_lock=0
  if [[ -z "${_lifecycle_lock_fd:-}" ]]; then
    cancel_start "$dir"
    acquire_lock "$dir" "${start_timeout:-300}" "the server"
    own_lock=1
  fi
  stop_instance "$dir" keepalive "" 2 && stopped=1
  stop_instance "$dir" server llama-server 10 && stopped=1
  rm -f "$dir/server.rpc"
  ((own_lock)) && release_lock
  ((stopped)) || say "no server of ours is running; nothing to stop"
  return 0
}

stop_all() { # stop_all → stop every server of ours, on every port
  local dir any=0
  migrate_old_state
  while IFS= read -r dir; do
    any=1
    stop_ours "$dir"
  done < <(server_state_dirs)
  ((any)) || say "no server of ours is running; nothing to stop"
}

# --- starting ---

# find_binary ENV NAME [PATH_NAME...] → the program to start: $ENV when set (exit 2 unless
# executable; its folder resolved), else the first PATH_NAME (default NAME) on PATH, else
# the build `make setup` cached as NAME; exit 9 when there is none.
find_binary() {
  local env=$1 name=$2 candidate found
  shift 2
  (($#)) || set -- "$name"
  if [[ -n "${!env:-}" ]]; then
    [[ -x "${!env}" ]] || usage_error "$env=${!env} is not an executable file"
    resolved_path "${!env}"
    return 0
  fi
  for candidate; do
    if found=$(command -v "$candidate" 2>/dev/null); then
      printf '%s\n' "$found"
      return 0
    fi
  done
  found=$(suite_build_bin "$name")
  [[ -x "$found" ]] || die "$EXIT_START_FAILED" "no $name found: set $env, put $name on PATH, or run 'make setup'"
  printf '%s\n' "$found"
}

# resolved_path FILE → FILE with its folder made absolute and free of symlinks and ..,
# so that two spellings of one file compare equal (the file name itself is kept).
resolved_path() {
  local dir=.
  [[ "$1" == */* ]] && dir=${1%/*}
  dir=$(cd -P -- "${dir:-/}" && pwd) || return 1
  printf '%s/%s\n' "${dir%/}" "${1##*/}"
}

# reuse_or_replace DIR NAME RESTART STOP MESSAGE → status 0 with reused_pid set when our
# NAME runs with the global argv. When it runs with another one: exit 8 with MESSAGE
# ({pid} is its pid), or with RESTART=1 run STOP and return 1. 1 when none runs.
# ARGV_UNCOMPARED (optional): flags, one per line, that do not change what is served (the
# log verbosity that follows the keepalive): left out of the comparison.
reuse_or_replace() {
  local dir=$1 name=$2 restart=$3 stop=$4 message=$5 have want
  reused_pid=$(instance_pid "$dir" "$name") || return 1
  have=$(<"$dir/$name.argv")
  # shellcheck disable=SC2154 # argv: the command being started, set by the caller
  want=$(printf '%s\n' "${argv[@]}")
  if [[ -n ${ARGV_UNCOMPARED:-} ]]; then
    have=${have//$'\n'"$ARGV_UNCOMPARED"/} want=${want//$'\n'"$ARGV_UNCOMPARED"/}
  fi
  if ((restart)) || [[ "$have" != "$want" ]]; then
    ((restart)) || die "$EXIT_PORT_BUSY" "${message//\{pid\}/$reused_pid}"
    "$stop"
    return 1
  fi
}

record_argv() { # record_argv DIR NAME → the global argv into DIR/NAME.argv, one per line, whole
  mkdir -p "$1"
  printf '%s\n' "${argv[@]}" >"$1/$2.argv.$$" && mv -f "$1/$2.argv.$$" "$1/$2.argv"
}

argv_json() { # argv_json → the global argv as a JSON array of strings (needs json.sh)
  local arg escaped out=""
  for arg in "${argv[@]}"; do
    json_escape_to escaped "$arg"
    out+="${out:+,}\"$escaped\""
  done
  printf '[%s]' "$out"
}

quoted_argv() { # quoted_argv → the global array argv as one line a shell reads back the same
  local arg line="" quoted
  for arg in "${argv[@]}"; do
    quoted=$arg
    [[ "$arg" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]] || printf -v quoted '%q' "$arg"
    line+="${line:+ }$quoted"
  done
  printf '%s\n' "$line"
}

port_in_use() { (: <"/dev/tcp/$1/$2") 2>/dev/null; } # port_in_use HOST PORT

# wait_port_bindable HOST PORT SECS → waits, up to SECS, while a connection of this
# machine still holds PORT (TIME_WAIT for 60 s after a recent one): ggml-rpc-server binds
# without SO_REUSEADDR and dies with "Failed to create server socket" meanwhile. Linux
# hands 32768-60999 out as client ports, so the RPC default 50052 meets one by chance.
# Any other bind error is left to the binary to report.
wait_port_bindable() {
  local host=$1 port=$2 secs=$3 t0=$SECONDS said=0
  until python3 -c 'import errno, socket, sys
try:
    socket.socket().bind((sys.argv[1], int(sys.argv[2])))
except OSError as err:
    sys.exit(3 if err.errno == errno.EADDRINUSE else 0)' "$host" "$port"; do
    ((SECONDS - t0 < secs)) || return 0
    ((said++)) || say "port $port is still held by a connection of this machine (TIME_WAIT after a recent one); waiting up to ${secs}s for the system to free it"
    sleep 0.5
  done
}

# acquire_lock DIR TIMEOUT_SECS WHAT → holds the start lock of DIR (release_lock frees
# it): flock(2) on DIR/start.flock (scripts/lib/flock.sh: flock(1), or Python's fcntl on
# macOS), which the kernel releases when its holder dies, so no lock is ever stale and
# two waiters can never both take it. A live holder, named by the pid it wrote in the
# file, is waited for up to TIMEOUT_SECS (exit 10).
acquire_lock() {
  local dir=$1 timeout=$2 what=$3 lock="$1/start.flock" holder=""
  mkdir -p "$dir"
  [[ -n "${_lifecycle_lock_fd:-}" ]] && return 0 # held already (a stop inside a start)
  use_libs flock
  if ! flock_acquire _lifecycle_lock_fd "$lock" 0; then
    read -r holder <"$lock" 2>/dev/null || true
    say "another $PROG${holder:+ (pid $holder)} is starting or stopping $what; waiting up to ${timeout}s"
    flock_acquire _lifecycle_lock_fd "$lock" "$timeout" ||
      die "$EXIT_TIMEOUT" "gave up waiting after ${timeout}s for the start lock $lock${holder:+, held by pid $holder}"
  fi
  printf '%s\n' "$$" >"$lock"
}
# cancel_start DIR → when a start of gpt-oss-fast.sh holds DIR's lock, TERM ends it (its
# guard_start stops what it launched and frees the lock). A stop holding it is waited for.
cancel_start() {
  local dir=$1 lock="$1/start.flock" holder="" probe_fd="" args
  [[ -f "$lock" ]] || return 0
  use_libs flock
  if flock_acquire probe_fd "$lock" 0; then # (not `fd`: flock_acquire has a local of that name)
    flock_release "$probe_fd"
    return 0
  fi
  read -r holder <"$lock" 2>/dev/null || return 0
  [[ "$holder" =~ ^[1-9][0-9]*$ ]] || return 0
  args=$(ps -o args= -p "$holder" 2>/dev/null) || return 0
  [[ "$args" == *gpt-oss-fast.sh* && " $args " != *" stop "* ]] || return 0
  say "ending the start in progress (pid $holder)"
  kill -TERM "$holder" 2>/dev/null || true
}

# run_unlocked COMMAND... → execs COMMAND without the start lock's descriptor: a child
# that kept it open would hold the lock for as long as it runs.
run_unlocked() {
  [[ -z "${_lifecycle_lock_fd:-}" ]] || exec {_lifecycle_lock_fd}>&-
  exec "$@"
}
release_lock() {
  [[ -n "${_lifecycle_lock_fd:-}" ]] || return 0
  flock_release "$_lifecycle_lock_fd"
  _lifecycle_lock_fd=""
}

# If a start fails after it started something, nothing of ours stays behind:
#   trap cleanup_on_exit EXIT
#   on_failure_stop PID GRACE PIDFILE → on a non-zero exit, stop PID and remove PIDFILE
#                                       (the last registered is stopped first)
#   keep_started                      → success: what was registered stays up
#   guard_start                       → those, and INT, TERM and HUP end the start that
#                                       way too, with exit 130, 143 and 129
_lifecycle_started=()
on_failure_stop() { _lifecycle_started+=("$1 $2 $3"); }
keep_started() { _lifecycle_started=(); }
cleanup_on_exit() {
  local status=$? i pid grace file
  if ((status != 0)); then
    for ((i = ${#_lifecycle_started[@]} - 1; i >= 0; i--)); do
      read -r pid grace file <<<"${_lifecycle_started[i]}"
      stop_pid "$pid" "$grace"
      rm -f "$file" "${file%.pid}.argv"
    done
  fi
  release_lock
}
guard_start() {
  trap cleanup_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# launch_instance DIR NAME GRACE → starts the global argv in the background (under nohup
# unless the global foreground is 1), output appended to a fresh DIR/NAME.log (the last
# run's is kept as NAME.log.1; appended, so that the keepalive can rotate it under the
# running process); sets started_pid, writes DIR/NAME.pid and registers it with
# on_failure_stop.
launch_instance() {
  local dir=$1 name=$2 grace=$3 log="$1/$2.log"
  local -a launcher=(nohup)
  ((${foreground:-0})) && launcher=()
  if [[ -s "$log" ]]; then mv -f "$log" "$log.1"; fi
  : >"$log"
  run_unlocked "${launcher[@]}" "${argv[@]}" >>"$log" 2>&1 &
  started_pid=$!
  # Registered before the pid file is written: a signal that comes once the file is
  # there (a supervisor that waited for it) must find the process on the cleanup list.
  on_failure_stop "$started_pid" "$grace" "$dir/$name.pid"
  record_pid "$dir" "$name" "$started_pid"
}

# launch_keepalive DIR URL SERVER_PID SECS SLOT → scripts/lib/keepalive.sh in the
# background, recorded in DIR as NAME=keepalive (stopped if the start fails, as
# launch_instance's process is); sets keepalive_started.
launch_keepalive() {
  local dir=$1
  shift
  local -a argv=("$SUITE_ROOT/scripts/lib/keepalive.sh" "$@")
  record_argv "$dir" keepalive
  run_unlocked nohup "${argv[@]}" >/dev/null 2>&1 &
  keepalive_started=$!
  on_failure_stop "$keepalive_started" 1 "$dir/keepalive.pid"
  record_pid "$dir" keepalive "$keepalive_started"
}

# stay_in_foreground PID WHAT STOP → after a successful start with --foreground: waits
# for PID, then runs STOP (a function) and exits with PID's status; Ctrl-C (INT) or TERM
# run STOP and exit 130 / 143.
# shellcheck disable=SC2064 # STOP is expanded now, on purpose
stay_in_foreground() {
  local pid=$1 what=$2 stop=$3 status=0
  trap "$stop; exit 130" INT
  trap "$stop; exit 143" TERM
  trap "$stop; exit 129" HUP
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
      say "$what exited during start-up; last lines of $log:"
      tail -n 20 "$log" | sed 's/^/  /' >&2
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
