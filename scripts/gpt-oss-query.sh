#!/usr/bin/env bash
# Usage: gpt-oss-query.sh [options] [PROMPT | -]
# Summary: send one prompt to the running llama-server and print only the completion.
#
# The minimal-overhead path: Bash and a single curl, no Python and no jq. The prompt
# is PROMPT, or stdin when PROMPT is `-` or absent and stdin is not a terminal; from
# stdin one trailing newline is dropped, so `echo "1+1=" | gpt-oss-query.sh` sends what
# `gpt-oss-query.sh "1+1="` sends. Any other byte reaches the server as given (NUL bytes
# excepted: Bash cannot hold them). Put `--` before a PROMPT that starts with `-`.
#
# Options:
#   -n, --max-tokens N     tokens to generate (default 8)
#   -t, --temperature T    sampling temperature (default 0)
#       --url URL          server (default: $GPT_OSS_URL, else http://127.0.0.1:8000)
#       --timeout SECS     give up after SECS seconds, exit 10 (default 0: no limit)
#       --json             print the server's raw JSON reply instead of the text
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
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs request_errors

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

if ! $have_prompt; then
  if [[ ${1-} != - && -t 0 ]]; then
    usage_error "no prompt: give it as an argument or on stdin"
  fi
  # -N reads in blocks even from a pipe (a plain `read -d ''` reads byte by byte:
  # ~80 ms for 200 KB) and costs no process, unlike $(cat).
  IFS= read -r -N 2147483647 prompt || true
  prompt=${prompt%$'\n'}
fi
[[ -n $prompt ]] || usage_error "the prompt is empty"

# JSON numbers: no leading zeros, no bare leading dot (the checks above allow both).
max_tokens=$((10#$max_tokens))
if [[ $temperature == *.* ]]; then
  int_part=${temperature%%.*}
  temperature=$((10#${int_part:-0})).${temperature#*.}
else
  temperature=$((10#$temperature))
fi

prompt_json=
json_escape_to prompt_json "$prompt"
body="{\"prompt\":\"$prompt_json\",\"n_predict\":$max_tokens,\"temperature\":$temperature,\"cache_prompt\":true"
# Ask only for what is printed: the full reply also echoes the prompt and ~2 KB of
# generation settings, which the server has to serialise and we would have to read past.
# Servers without response_fields (it is in Aug-2025 and later builds) send it all anyway.
$want_json || body+=",\"response_fields\":[\"content\",\"truncated\"]"
body+="}"
unset prompt prompt_json

# The body goes through stdin: a 200 KB prompt is over Linux's 128 KB per-argument
# limit. -w appends the status and curl's own error text after the reply's last line.
curl_args=(-X POST --data-binary @- -w '\n%{http_code} %{errormsg}')
[[ $timeout =~ ^0*\.?0*$ ]] || curl_args+=(--max-time "$timeout")
curl_status=0
# Redirections outside $(...): with none inside, bash execs curl without another fork.
{ reply=$(curl_json "${curl_args[@]}" "$url/completion") || curl_status=$?; } 2>/dev/null <<<"$body"
unset body
meta=${reply##*$'\n'}
reply=${reply%$'\n'*}
http=${meta%% *}
curl_error=${meta#* }

die_on_curl_failure "$curl_status" "$url" "$timeout" "$curl_error"
die_on_http_error "$http" "$url"

truncated=false
json_bool_field_to truncated "$reply" truncated || true
warn_if_truncated "$truncated"

if $want_json; then
  printf '%s\n' "$reply"
  exit 0
fi
content=
json_string_field_to content "$reply" content ||
  die "$EXIT_SERVER" "the reply from $url has no \"content\" text: ${reply:0:200}"
if [[ $content == *$'\n' ]]; then
  printf '%s' "$content"
else
  printf '%s\n' "$content"
fi
