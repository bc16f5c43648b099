# shellcheck shell=bash
# What the `make setup` steps (scripts/provision/*.sh) share: their messages, how a
# failed tool is shown (its own last error lines and a hint at the usual cause), and the
# build budget (what a build costs, scaled to this machine's cores).
#
#   provision_say / provision_die MESSAGE → "provision: MESSAGE" on stderr (die: exit 1)
#   provision_run TOOL LOG WHAT CMD... → runs CMD with its output in LOG; when it fails,
#       shows TOOL's own error lines and a hint, keeps LOG and returns CMD's status
#   provision_hint LOG → one line naming the likely cause (certificate, proxy, network,
#       missing compiler, disk full, out of memory), or nothing
#   provision_minutes CORE_MINUTES → the minutes a build of that many core-minutes takes
#       here (nproc cores; at least 1)
#   provision_plan CORE_MINUTES WHAT → the line a script's --plan prints for a build
#   provision_plan_option SCRIPT ARG... → the [--plan] option (and --help) of a step
#   provision_found PLAN PATH → PATH on stdout unless PLAN (--plan: nothing to build); exit 0

PROVISION_PREFIX=${PROVISION_PREFIX:-provision}

provision_say() { printf '%s: %s\n' "$PROVISION_PREFIX" "$*" >&2; }
provision_die() {
  provision_say "$*"
  exit 1
}

provision_cores() { nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2; }

provision_minutes() {
  local cores
  cores=$(provision_cores)
  # Rounded up: an estimate that runs over is worse than one that finishes early.
  local minutes=$((($1 + cores - 1) / cores))
  ((minutes >= 1)) || minutes=1
  printf '%s\n' "$minutes"
}

provision_plan() { printf '%s\t%s\n' "$1" "$2"; }

provision_found() {
  [[ -n "$1" ]] || printf '%s\n' "$2"
  exit 0
}

# Pattern (the tools' own words: pip/urllib3, npm, cmake, gcc/clang, coreutils), then the
# hint; the first pattern found in the log wins.
PROVISION_HINTS=(
  'No space left on device|ENOSPC|Disk quota exceeded'
  "the disk is full: free some space (df -h) and run make setup again"
  'CERTIFICATE_VERIFY_FAILED|certificate verify failed|SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_HAS_EXPIRED|unable to get local issuer certificate'
  "the registry's TLS certificate is not trusted here (a proxy that re-signs TLS?): give pip the CA file (PIP_CERT=FILE or pip config set global.cert FILE) and npm too (NODE_EXTRA_CA_CERTS=FILE or npm config set cafile FILE)"
  'ProxyError|Tunnel connection failed|407 Proxy|Proxy Authentication|EPROXY'
  "a proxy refused the connection: check HTTPS_PROXY/https_proxy (and npm config get https-proxy)"
  'Temporary failure in name resolution|Name or service not known|nodename nor servname|ENOTFOUND|EAI_AGAIN|Network is unreachable|ETIMEDOUT|ECONNREFUSED|ECONNRESET|Failed to establish a new connection|Read timed out|Connection timed out'
  "the registry is not reachable (offline? DNS, a firewall, or a proxy that needs HTTPS_PROXY)"
  'No matching distribution|Could not find a version that satisfies|E404|404 Not Found'
  "the registry (or the mirror pip/npm is configured with) does not have this version"
  'No CMAKE_(C|CXX)_COMPILER could be found|is not able to compile a simple test program|(c\+\+|g\+\+|gcc|cc|clang): (command )?not found|unable to execute .(gcc|c\+\+)'
  "no working C/C++ compiler: apt-get install g++ make (macOS: xcode-select --install)"
  'CMake [0-9.]+ or higher is required|Unknown CMake command'
  "cmake is too old for this tree: install a newer one (pip install cmake, or your package manager)"
  'internal compiler error: Killed|Killed signal terminated program|virtual memory exhausted|Cannot allocate memory|out of memory'
  "the compiler ran out of memory: close other programs or build with fewer jobs (CMAKE_BUILD_PARALLEL_LEVEL=1 make setup)"
  'EACCES|Permission denied|Read-only file system'
  "permission denied: a path above is not writable by this user"
)

provision_hint() {
  local log=$1 i
  [[ -f "$log" ]] || return 0
  for ((i = 0; i < ${#PROVISION_HINTS[@]}; i += 2)); do
    if grep -qiE "${PROVISION_HINTS[i]}" "$log"; then
      printf '%s\n' "${PROVISION_HINTS[i + 1]}"
      return 0
    fi
  done
}

# provision_plan_option SCRIPT ARG... → for a script whose one option is --plan: prints
# its --help and exits, sets PROVISION_PLAN=1 for --plan, refuses anything else.
provision_plan_option() {
  local script=$1
  shift
  PROVISION_PLAN=""
  (($# <= 1)) || provision_die "one argument at most (see --help)"
  # shellcheck disable=SC2034 # read by the calling script
  case "${1:-}" in
    -h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$script"; exit 0 ;;
    --plan) PROVISION_PLAN=1 ;;
    "") ;;
    *) provision_die "unknown argument '$1' (see --help)" ;;
  esac
}

# The lines a person reads first: the tool's error lines (with what follows them, as
# cmake and compilers explain on the next lines), else the end of its output.
provision_error_lines() {
  local log=$1 lines
  lines=$(grep -v '^WARNING: Location' "$log" |
    grep -iE -A2 'error|ERR!|fatal|failed|No space left|denied|not found|could not|cannot' |
    grep -v '^--$' | tail -n 15) || true
  [[ -n "$lines" ]] || lines=$(tail -n 15 "$log")
  printf '%s\n' "$lines"
}

provision_run() {
  local tool=$1 log=$2 what=$3 status=0 hint
  shift 3
  "$@" >"$log" 2>&1 || status=$?
  ((status != 0)) || return 0
  provision_say "$what failed; $tool said:"
  provision_error_lines "$log" | sed 's/^/    /' >&2
  hint=$(provision_hint "$log")
  [[ -z "$hint" ]] || provision_say "hint: $hint"
  provision_say "full log: $log"
  return "$status"
}
