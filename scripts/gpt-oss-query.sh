#!/usr/bin/env bash
# Usage: gpt-oss-query.sh [options] [PROMPT | -]
# Summary: send one prompt to the running llama-server and print only the completion.
#
# The minimal-overhead path: Bash and a single curl, no Python and no jq; only a prompt
# of 40 KB or more (with non-ASCII text from 16 KB) or a reply of 64 KB or more is
# escaped or read by one Python process, so that the cost stays linear in the size (the
# same bytes).
# The prompt is PROMPT, or stdin when PROMPT is `-` or absent and stdin is not a
# terminal; from stdin one trailing newline is dropped, so `echo "1+1=" |
# gpt-oss-query.sh` sends what `gpt-oss-query.sh "1+1="` sends. Any other byte reaches
# the server as given (NUL bytes excepted: Bash cannot hold them); it must be UTF-8.
# Put `--` before a PROMPT that starts with `-`.
#
# Options:
#   -n, --max-tokens N     tokens to generate (default: 8)
#   -t, --temperature T    sampling temperature (default: 0)
#       --url URL          server (default: $GPT_OSS_URL, else
#                          http://$GPT_OSS_HOST:$GPT_OSS_PORT, else http://127.0.0.1:8000)
#       --timeout SECS     give up after SECS seconds, exit 10; 0 = no limit (default: 0)
#       --json             print the server's raw JSON reply instead of the text
#       --version          print the suite's version and exit
#   -h, --help             show this help
#
# Output: the completion text, followed by a newline unless it already ends with one
# (so the shell prompt lands on its own line; `--json` has the exact bytes).
# Environment: GPT_OSS_URL (or GPT_OSS_HOST/GPT_OSS_PORT), GPT_OSS_API_KEY (sent as a
# bearer token, never on the command line), GPT_OSS_DEBUG=1 (trace).
# Exit codes: 0 ok, 2 usage, 3 server unreachable, 4 model still loading (503),
# 5 prompt longer than the per-slot context, 6 any other server error (401 included),
# 10 --timeout ran out.
#
# It posts {"prompt", "n_predict", "temperature", "cache_prompt": true} to llama-server's
# native /completion, not /v1/completions: only the native reply says `truncated` when
# an older server cut an over-long prompt, and only the native endpoint honours
# "response_fields", which trims the reply to {"content", "truncated"} (sent unless
# --json) — the text is then a top-level field, not choices[0].text.
set -euo pipefail
# curl first, before the request is known: it spends ~8 ms loading ~30 shared libraries
# before it reads a byte, and started now it does so on the other core while this script
# parses its libraries, its options and the prompt (its whole cost on a short query).
# It reads the rest of its configuration, the URL and the body, from stdin (`-K -`,
# written by request_send): a script that stops before leaves it an empty one, and no
# request is sent. -w appends the status and curl's own error text after the reply's
# last line; `Expect:` off: no 100-continue round trip before a long body. (Under the
# `if`, an old Bash reaches common.sh's "needs Bash 5" instead of a syntax error.)
if ((BASH_VERSINFO[0] >= 5)); then
  coproc curl -4 -sS -H 'Content-Type: application/json' -X POST -H 'Expect:' \
    -w '\n%{http_code} %{errormsg}' -K - 2>/dev/null
  # bash closes a coproc's descriptors when it reaps it: the reply is read from a copy.
  exec {curl_out}<&"${COPROC[0]}"
  curl_in=${COPROC[1]} curl_pid=$COPROC_PID
fi
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
# Bytes, not characters, from here on: sizes, `read -N` and the escaping check below
# count bytes, and a multibyte locale would make each of them slower.
LC_ALL=C
# json.sh and request_errors.sh are sourced only when needed (a prompt to escape, a
# reply to unescape, a failure): parsing them is a measurable part of a short query.
# The flags stay parsed here, not by options.sh's common_option: that costs 0.5 M more
# instructions (callgrind), +4 % of this whole Bash process.
use_libs request

max_tokens=8
temperature=0
url=
timeout=0
want_json=false
prompt=
have_prompt=false

while (($#)); do
  case $1 in
    -n | --max-tokens) require_value "$@"; max_tokens=$2; shift 2 ;;
    --max-tokens=*) max_tokens=${1#*=}; shift ;;
    -t | --temperature) require_value "$@"; temperature=$2; shift 2 ;;
    --temperature=*) temperature=${1#*=}; shift ;;
    --url) require_value "$@"; url=$2; shift 2 ;;
    --url=*) url=${1#*=}; shift ;;
    --timeout) require_value "$@"; timeout=$2; shift 2 ;;
    --timeout=*) timeout=${1#*=}; shift ;;
    --json) want_json=true; shift ;;
    -h | --help) print_usage "$script"; exit 0 ;;
    --version) print_version; exit 0 ;;
    --) shift; break ;;
    -) break ;;
    -?*) usage_error "unknown option '$1'" ;;
    *) break ;;
  esac
done
(($# <= 1)) || usage_error "give the prompt as one argument (quote it), got $# arguments"
if (($# == 1)) && [[ $1 != - ]]; then
  prompt=$1
  have_prompt=true
fi

require_uint --max-tokens "$max_tokens" 1
require_number --temperature "$temperature"
require_number --timeout "$timeout"
[[ -n $url ]] || default_url_to url
url=${url%/}
require_http_url "$url"

if ! $have_prompt; then
  if [[ ${1-} != - && -t 0 ]]; then
    usage_error "no prompt: give it as an argument or on stdin"
  fi
  # Only the first BULK_PROMPT_BYTES here: a longer prompt goes from stdin to json_bulk.
  bulk_read_prompt prompt
fi
[[ -n $BULK_PROMPT ]] || ! bulk_wanted "$prompt" || BULK_PROMPT=var
[[ -n $prompt ]] || usage_error "the prompt is empty"
[[ -n $BULK_PROMPT ]] || require_utf8 "the prompt" "$prompt" # json_bulk checks the others

# JSON numbers: no leading zeros, no bare leading dot (the checks above allow both).
max_tokens=$((10#$max_tokens))
if [[ $temperature == *.* ]]; then
  int_part=${temperature%%.*}
  temperature=$((10#${int_part:-0})).${temperature#*.}
else
  temperature=$((10#$temperature))
fi

# Ask only for what is printed: the full reply also echoes the prompt and ~2 KB of
# generation settings, which the server has to serialise and we would have to read past.
# Servers without response_fields (it is in Aug-2025 and later builds) send it all anyway.
fields=
$want_json || fields=',"response_fields":["content","truncated"]'
BULK_PREFIX='{"prompt":"'
BULK_SUFFIX="\",\"n_predict\":$max_tokens,\"temperature\":$temperature,\"cache_prompt\":true$fields}"
if [[ -n $BULK_PROMPT ]]; then
  use_libs bulk
  bulk_body_file
else
  if [[ $prompt == *[\"\\$'\x01'-$'\x1f']* ]]; then
    use_libs json_escape
    json_escape_to prompt "$prompt"
  fi
  # shellcheck disable=SC2034 # request_open sends it
  body=$BULK_PREFIX$prompt$BULK_SUFFIX
fi

# The request, to the curl started above (a long body through a file, never argv).
# shellcheck disable=SC2034 # request.sh's
REQ_IN=$curl_in REQ_FD=$curl_out REQ_PID=$curl_pid
request_send "$url/completion" "$timeout"
unset body
reply='' http='' curl_status=0 curl_error='' # request_read's results
if $want_json; then
  request_read --raw-fd 4
else
  request_read --text-key content --print-fd 4
fi

if ((curl_status)); then
  use_libs request_errors
  die_on_curl_failure "$curl_status" "$url" "$timeout" "$curl_error"
fi
if [[ $http != 200 ]]; then
  use_libs request_errors
  die_on_http_error "$http" "$url" "retry shortly" /completion
fi

# The reply llama-server sends for response_fields, with no escapes in the text but the
# common \n, \t and \", is read right here (a `"` in a JSON string is always escaped, so
# the text is what lies between); anything else by json.sh.
text=${reply#'{"content":"'}
text=${text%'","truncated":false}'}
if ((${#text} + 32 == ${#reply})) && ! $want_json && ! $REQ_BULK; then
  [[ $text == *'\n'* ]] && text=${text//'\n'/$'\n'}
  [[ $text == *'\t'* ]] && text=${text//'\t'/$'\t'}
  [[ $text == *'\"'* ]] && text=${text//'\"'/'"'}
  # Any backslash left was another escape (`\\n` leaves one too): json.sh reads those.
  if [[ $text != *\\* ]]; then
    [[ $text == *$'\n' ]] || text+=$'\n'
    printf '%s' "$text"
    exit 0
  fi
fi

use_libs json
truncated=false
json_bool_field_to truncated "$reply" truncated || true
if [[ $truncated == true ]]; then
  use_libs request_errors
  warn_if_truncated "$truncated"
fi
if $REQ_BULK; then # json_bulk printed the body (--json) or the text as it read them
  $want_json || $BULK_TEXT || die "$EXIT_SERVER" "the reply from $url has no \"content\" text: ${reply:0:200}"
  exit 0
fi
if $want_json; then
  printf '%s\n' "$reply"
  exit 0
fi
text=
json_string_field_to text "$reply" content ||
  die "$EXIT_SERVER" "the reply from $url has no \"content\" text: ${reply:0:200}"
[[ $text == *$'\n' ]] || text+=$'\n'
printf '%s' "$text"
