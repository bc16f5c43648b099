# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are the calling entrypoint's
# The flags the entrypoints share, parsed in one place: each entrypoint sets its
# defaults, and its own `case` holds only its own flags (the loop: gpt-oss-status.sh
# shows it whole). No fork. Needs common.sh.
# common_option "$@" → 0 when $1 is one of these (OPT_SHIFT: the words it took), else 1:
#   --url[=]URL → url, --timeout[=]SECS → timeout, -n/--max-tokens[=]N → max_tokens,
#   --json → want_json=true, -h/--help → the # Usage: header, --version (both exit 0).
# prompt_arg WORD → the one positional prompt: `-` is stdin (from_stdin=true), another
#   word is the prompt; have_prompt=true, and a second one is a usage error.
common_option() {
  OPT_SHIFT=1
  case $1 in
    --url) require_value "$@"; url=$2 OPT_SHIFT=2 ;;
    --timeout) require_value "$@"; timeout=$2 OPT_SHIFT=2 ;;
    -n | --max-tokens) require_value "$@"; max_tokens=$2 OPT_SHIFT=2 ;;
    --url=* | --timeout=* | --max-tokens=*) # --flag=VALUE: one word
      common_option "${1%%=*}" "${1#*=}" && OPT_SHIFT=1 ;;
    --json) want_json=true ;;
    -h | --help) print_usage "${script:-$0}"; exit 0 ;;
    --version) print_version; exit 0 ;;
    *) return 1 ;;
  esac
}

prompt_arg() {
  ! ${have_prompt:-false} || usage_error "give the prompt as one argument (quote it)"
  if [[ $1 == - ]]; then from_stdin=true; else prompt=$1; fi
  have_prompt=true
}

# milli VAR DECIMAL → VAR = DECIMAL * 1000, digits past the third decimal dropped (a
# --timeout in ms, a rate to compare); status 1 unless DECIMAL is like 12 or 12.5.
milli() {
  local int frac
  [[ $2 =~ ^([0-9]+)(\.([0-9]*))?$ ]] || return 1
  int=${BASH_REMATCH[1]} frac=${BASH_REMATCH[3]}000
  printf -v "$1" '%d' "$((10#$int * 1000 + 10#${frac:0:3}))"
}
