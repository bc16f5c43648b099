# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are the calling entrypoint's
# The flags the entrypoints share, parsed in one place: each entrypoint sets its
# defaults, and its own `case` holds only its own flags. No fork. Needs common.sh.
#   while (($#)); do
#     common_option "$@" && { shift "$OPT_SHIFT"; continue; }
#     case $1 in --no-probe) probe=false; shift ;; *) usage_error "unknown argument '$1'" ;; esac
#   done
# common_option "$@" → 0 when $1 is one of these (OPT_SHIFT: the words it took), else 1:
#   --url[=]URL → url, --timeout[=]SECS → timeout, -n/--max-tokens[=]N → max_tokens,
#   --json → want_json=true, -h/--help → the # Usage: header, --version (both exit 0).
# prompt_arg WORD → the one positional prompt: `-` is stdin (from_stdin=true), another
#   word is the prompt; have_prompt=true, and a second one is a usage error.
common_option() {
  OPT_SHIFT=1
  case $1 in
    --url) require_value "$@"; url=$2 OPT_SHIFT=2 ;;
    --url=*) url=${1#*=} ;;
    --timeout) require_value "$@"; timeout=$2 OPT_SHIFT=2 ;;
    --timeout=*) timeout=${1#*=} ;;
    -n | --max-tokens) require_value "$@"; max_tokens=$2 OPT_SHIFT=2 ;;
    --max-tokens=*) max_tokens=${1#*=} ;;
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
