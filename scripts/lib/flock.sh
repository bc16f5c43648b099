# shellcheck shell=bash
# A lock the kernel releases when its holder dies: flock(2) on an open file, so a crash
# or kill -9 never leaves a stale lock behind. flock(1) where it exists (Linux); else the
# same system call through python3's fcntl (macOS has no flock(1)). The lock belongs to
# the open file, which this shell keeps open on a descriptor after the helper exits.
#
#   lock_fd=$(...) is not possible (a subshell would close it), so:
#   flock_acquire VAR FILE [WAIT_SECS] → opens FILE on a new fd stored in VAR and locks
#       it; WAIT_SECS absent = wait for ever, 0 = try once. Status 1 when not acquired
#       (the fd is closed again).
#   flock_release FD → unlocks and closes.

flock_acquire() {
  local __var=$1 file=$2 wait=${3:-} fd status=0
  exec {fd}>>"$file" || return 1
  if command -v flock >/dev/null 2>&1; then
    case $wait in
      "") flock -x "$fd" || status=$? ;;
      0) flock -x -n "$fd" || status=$? ;;
      *) flock -x -w "$wait" "$fd" || status=$? ;;
    esac
  else
    python3 - "$fd" "${wait:--1}" <<'PY' || status=$?
import fcntl, sys, time
fd, wait = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + wait
while True:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if wait >= 0 else 0))
        sys.exit(0)
    except BlockingIOError:
        if time.monotonic() >= end:
            sys.exit(1)
        time.sleep(0.05)
PY
  fi
  if ((status != 0)); then
    exec {fd}>&-
    return 1
  fi
  printf -v "$__var" '%s' "$fd"
}

flock_release() {
  local fd=$1
  exec {fd}>&-
}

# flock_wait_announced FILE WHAT → holds the lock on FILE (for the rest of the shell),
# saying once on stderr that it waits when another holder has it (a build of WHAT).
flock_wait_announced() {
  local _fd
  mkdir -p "${1%/*}"
  if ! flock_acquire _fd "$1" 0; then
    printf 'provision: another build of %s is running; waiting for it\n' "$2" >&2
    flock_acquire _fd "$1"
  fi
}
