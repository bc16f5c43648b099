#!/usr/bin/env bash
# Usage: local-infer.sh [options] [PROMPT | -]
# Summary: ask a local gpt-oss (or any OpenAI-compatible) server: raw, Harmony, tools.
#
# The prompt is PROMPT, or stdin when PROMPT is `-` or absent and stdin is not a
# terminal (one trailing newline from stdin is dropped). It reaches the server byte for
# byte. Put `--` before a PROMPT that starts with `-`.
#
# Paths:
#   --raw       the prompt as-is to /completion (gpt-oss) or /v1/completions (openai);
#               Bash + curl only, no Python start-up.
#   (default)   gpt-oss: the server's template renders the Harmony prompt (harmony.py
#               if it cannot), checked against its per-slot context, the reply parsed.
#               openai: /v1/chat/completions, tools as OpenAI `tools`.
#   When the Harmony prompt (or the chat request) does not fit the per-slot context,
#   it falls back to --raw with one notice on stderr; also when the server answers
#   HTTP 400 exceed_context_size_error or cuts the prompt ("truncated": true).
#
# Options:
#       --backend NAME      gpt-oss (llama-server) or openai (default: gpt-oss)
#       --url URL           server (default: $GPT_OSS_URL, else
#                           http://$GPT_OSS_HOST:$GPT_OSS_PORT, else http://127.0.0.1:8000)
#       --model NAME        model name sent to the server (default: none sent)
#   -n, --max-tokens N      tokens to generate, reserved in the context check (default: 256)
#   -t, --temperature T     sampling temperature (default: the server's)
#       --top-p P           nucleus sampling (default: the server's)
#       --seed N            sampling seed (default: the server's)
#       --system TEXT       instructions (the Harmony developer message)
#       --reasoning LEVEL   low, medium or high (default: medium)
#       --raw               the raw path (no Harmony, no tools)
#       --tools             offer the read-only workspace tools list_files, read_file, grep
#       --workspace DIR     the only directory the tools may read (default: .)
#       --max-tool-turns N  model replies that may call tools (default: 4)
#       --stream            print the answer as it arrives
#       --show-reasoning    print the analysis channel to stderr (dimmed on a terminal)
#       --json              print one JSON object (text, timings, tokens, tool calls)
#       --timeout SECS      per-request limit, and how long to wait for a loading
#                           model; 0 = no limit, no waiting (default: 300)
#       --no-fallback       a context overflow is an error (exit 5), never a raw retry
#       --version           print the suite's version and exit
#   -h, --help              show this help
#
# Output: the answer on stdout, followed by a newline unless it ends with one.
# --json prints {backend, mode (raw|harmony|chat), text, reasoning, finish_reason
# (stop|length|tool_turns), complete, truncated, fallback (null or {reason, message,
# prompt_tokens, max_tokens, n_ctx}), tokens {prompt, predicted, cached}, timings
# (the server's, last request), requests, tool_calls [{turn, name, arguments, ok,
# result}]}; details in docs/local-infer.md.
#
# Environment: GPT_OSS_URL (or GPT_OSS_HOST/GPT_OSS_PORT), GPT_OSS_API_KEY (sent as a
# bearer token, never on a command line), GPT_OSS_CONTEXT_CHECK=0 (skip the check before
# sending; the server's answer decides), NO_COLOR, GPT_OSS_DEBUG=1 (trace).
# Exit codes: 0 ok, 2 usage, 3 server unreachable, 4 model still loading after
# --timeout, 5 context overflow with --no-fallback (or a raw prompt too long),
# 6 server error or unreadable reply (401 included), 10 --timeout ran out,
# 11 --max-tool-turns reached without a final answer (the partial answer is printed).
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs options request_errors request

# --- knobs: defaults in one place; flags override ---
backend=gpt-oss
url=
model=
max_tokens=256
temperature=
top_p=
seed=
system=
have_system=false
reasoning=
raw=false
tools=false
workspace=.
max_tool_turns=4
stream=false
show_reasoning=false
want_json=false
timeout=300
fallback=true
prompt=
have_prompt=false
from_stdin=false

while (($#)); do
  common_option "$@" && { shift "$OPT_SHIFT"; continue; } # --url -n --json --timeout...
  case $1 in
    --backend) require_value "$@"; backend=$2; shift 2 ;;
    --model) require_value "$@"; model=$2; shift 2 ;;
    -t | --temperature) require_value "$@"; temperature=$2; shift 2 ;;
    --top-p) require_value "$@"; top_p=$2; shift 2 ;;
    --seed) require_value "$@"; seed=$2; shift 2 ;;
    --system) require_value "$@"; system=$2; have_system=true; shift 2 ;;
    --reasoning) require_value "$@"; reasoning=$2; shift 2 ;;
    --raw) raw=true; shift ;;
    --tools) tools=true; shift ;;
    --workspace) require_value "$@"; workspace=$2; shift 2 ;;
    --max-tool-turns) require_value "$@"; max_tool_turns=$2; shift 2 ;;
    --stream) stream=true; shift ;;
    --show-reasoning) show_reasoning=true; shift ;;
    --no-fallback) fallback=false; shift ;;
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    --) shift; (($# <= 1)) || usage_error "give the prompt as one argument (quote it)"
      (($#)) && prompt_arg "$1" && shift ;;
    -) prompt_arg -; shift ;;
    -?*) usage_error "unknown option '$1'" ;;
    *) prompt_arg "$1"; shift ;;
  esac
done

# --- validation, before anything is sent ---
[[ $backend == gpt-oss || $backend == openai ]] ||
  usage_error "--backend must be gpt-oss or openai, got '$backend'"
require_uint --max-tokens "$max_tokens" 1
[[ -z $temperature ]] || require_number --temperature "$temperature"
[[ -z $top_p ]] || require_number --top-p "$top_p"
[[ -z $seed ]] || require_uint --seed "$seed"
require_uint --max-tool-turns "$max_tool_turns"
require_number --timeout "$timeout"
[[ $reasoning == @(|low|medium|high) ]] ||
  usage_error "--reasoning must be low, medium or high, got '$reasoning'"
if $raw; then
  $tools && usage_error "--tools needs the Harmony path; drop --raw"
  $have_system && usage_error "--system needs the Harmony path; drop --raw"
  [[ -z $reasoning ]] || usage_error "--reasoning needs the Harmony path; drop --raw"
fi
[[ -d $workspace ]] || usage_error "--workspace '$workspace' is not a directory"
[[ -n $url ]] || default_url_to url
url=${url%/}
require_http_url "$url"

if $from_stdin || ! $have_prompt; then
  [[ -t 0 ]] && ! $from_stdin && usage_error "no prompt: give it as an argument or on stdin"
  ! $raw || bulk_read_prompt prompt # the first BULK_BYTES; the rest goes from stdin to json_bulk
fi
# The Harmony path reads and checks (UTF-8, not empty) the prompt itself, in linear time.
if $raw; then
  [[ -n $BULK_PROMPT ]] || ! bulk_wanted "$prompt" || BULK_PROMPT=var
  [[ -n $prompt ]] || usage_error "the prompt is empty"
  [[ -n $BULK_PROMPT ]] || require_utf8 "the prompt" "$prompt" # json_bulk checks the others
fi

# JSON numbers: no leading zeros, no bare leading dot (require_number allows both).
json_number_to() { # json_number_to VAR DECIMAL
  local int=${2%%.*}
  int=$((10#${int:-0}))
  [[ $2 != *.* ]] || int+=.${2#*.}
  printf -v "$1" '%s' "$int"
}

# --- the Harmony / chat path lives in the Python core ---
if ! $raw; then
  py_args=(--prog "$PROG" --backend "$backend" --url "$url" --max-tokens "$max_tokens"
    --workspace "$workspace" --max-tool-turns "$max_tool_turns" --timeout "$timeout")
  for knob in model temperature top_p seed reasoning; do # the ones given, by their flags
    [[ -z ${!knob} ]] || py_args+=("--${knob//_/-}" "${!knob}")
  done
  $have_system && py_args+=(--system "$system")
  $tools && py_args+=(--tools)
  $stream && py_args+=(--stream)
  $show_reasoning && py_args+=(--show-reasoning)
  color_ok 2 && py_args+=(--color) # the one colour rule (common.sh) decides for Python
  $want_json && py_args+=(--json)
  $fallback || py_args+=(--no-fallback)
  # The prompt goes through stdin (argv cannot hold more than 128 KB per argument); one
  # read from stdin is left to Python, which drops its trailing newline as above.
  status=0
  if $from_stdin || ! $have_prompt; then
    py_main chat_main "${py_args[@]}" --prompt-from-stdin || status=$?
  else
    py_main chat_main "${py_args[@]}" < <(printf '%s' "$prompt") || status=$?
  fi
  exit "$status"
fi

# --- the raw path: Bash + curl ---
case $backend in
  openai) endpoint=/v1/completions tokens_key=max_tokens text_key=choices.0.text ;;
  *) endpoint=/completion tokens_key=n_predict text_key=content ;;
esac
text_file='' # json_bulk's escaped text of a long reply, for --json (request.sh)
# The body is BULK_PREFIX, the escaped prompt, BULK_SUFFIX: a prompt of BULK_BYTES or
# more is escaped by json_bulk (request.sh), once, into a file (a 503 sends it again).
BULK_PREFIX='{"prompt":"'
BULK_SUFFIX="\",\"$tokens_key\":$((10#$max_tokens))"
if [[ -n $model ]]; then
  json_escape_to model "$model" # (escaped in place, as the numbers below are normalised)
  BULK_SUFFIX+=",\"model\":\"$model\""
fi
if [[ -n $temperature ]]; then json_number_to temperature "$temperature"; BULK_SUFFIX+=",\"temperature\":$temperature"; fi
if [[ -n $top_p ]]; then json_number_to top_p "$top_p"; BULK_SUFFIX+=",\"top_p\":$top_p"; fi
[[ -n $seed ]] && BULK_SUFFIX+=",\"seed\":$((10#$seed))"
# response_fields: only what is read below; the full reply also echoes the prompt (as
# long as the prompt itself) and ~2 KB of settings.
[[ $endpoint == /completion ]] &&
  BULK_SUFFIX+=',"cache_prompt":true,"response_fields":["content","stop","stop_type","tokens_evaluated","tokens_predicted","truncated","timings"]'
$stream && BULK_SUFFIX+=',"stream":true'
BULK_SUFFIX+='}'
if [[ -n $BULK_PROMPT ]]; then
  use_libs bulk
  bulk_body_file
else
  json_escape_to body "$prompt"
  body=$BULK_PREFIX$body$BULK_SUFFIX
fi

t_start=0 now=0
now_ms t_start
timeout_ms=0
if [[ ! $timeout =~ ^0*\.?0*$ ]]; then
  json_number_to timeout "$timeout"
  milli timeout_ms "$timeout"
fi

# Results of one request (globals, so no subshell is needed to return them).
reply='' http='' curl_status=0 curl_error='' text='' streamed=false
timings=null stop_type='' truncated=false n_prompt=null n_predicted=null n_cached=null

# curl_args → the shared curl arguments in the array `args`, --max-time what is left of
# --timeout (request_open adds the body; `Expect:` off: no 100-continue round trip first)
curl_args() {
  args=(-X POST -H 'Expect:')
  ((timeout_ms > 0)) || return 0
  local now left secs
  now_ms now
  left=$((t_start + timeout_ms - now))
  ((left > 0)) || left=1
  printf -v secs '%d.%03d' $((left / 1000)) $((left % 1000))
  args+=(--max-time "$secs")
}

# read_reply_fields JSON → text, stop_type, truncated, token counts, timings of a final
# reply (native or OpenAI shape).
read_reply_fields() {
  local json=$1 choice usage prompt_n
  if [[ $endpoint == /completion ]]; then
    $streamed || json_string_field_to text "$json" content || return 1
    json_string_field_to stop_type "$json" stop_type || stop_type=
    json_number_field_to n_prompt "$json" tokens_evaluated || n_prompt=null
    json_number_field_to n_predicted "$json" tokens_predicted || n_predicted=null
  else
    json_object_field_to choice "$json" choices || return 1
    choice=${choice#\[}
    $streamed || json_string_field_to text "$choice" text || return 1
    json_string_field_to stop_type "$choice" finish_reason || true
    if json_object_field_to usage "$json" usage; then
      json_number_field_to n_prompt "$usage" prompt_tokens || n_prompt=null
      json_number_field_to n_predicted "$usage" completion_tokens || n_predicted=null
    fi
  fi
  json_bool_field_to truncated "$json" truncated || truncated=false
  if json_object_field_to timings "$json" timings; then
    json_number_field_to n_cached "$timings" cache_n || n_cached=null
    # A streamed OpenAI reply has no usage unless asked for: count from the timings.
    if [[ $n_prompt == null ]] && json_number_field_to prompt_n "$timings" prompt_n; then
      n_prompt=$((prompt_n + ${n_cached/null/0}))
    fi
    [[ $n_predicted != null ]] ||
      json_number_field_to n_predicted "$timings" predicted_n || n_predicted=null
  fi
  return 0
}

# send_plain → the reply in `reply` (request.sh); a long one is read by json_bulk, which
# prints the text itself (or, for --json, writes it escaped to text_file).
send_plain() {
  local -a args text_to=(--print-fd 4)
  $want_json && text_to=(--json-text-to text_file)
  curl_args
  args+=(-w '\n%{http_code} %{errormsg}')
  request_open "$url$endpoint" "${args[@]}"
  request_read --text-key "$text_key" "${text_to[@]}"
}

# send_stream → prints pieces as they arrive (only for HTTP 200: error replies are not
# SSE); a sentinel line after the body carries the status and curl's exit code.
send_stream() {
  local -a args
  local line out marker=$'\x1f'
  local -i size=0
  curl_args
  args+=(-N -w "\\n${marker}%{http_code} %{errormsg}\\n")
  reply='' text='' streamed=true curl_status=0 http='' stream_final='' stream_last=''
  stream_events=false stream_complete=false
  request_open "$url$endpoint" "${args[@]}"
  while IFS= read -r -u "$REQ_FD" line || [[ -n $line ]]; do
    stream_line "$line"
    size+=${#line}
    if ((size >= BULK_STREAM_BYTES)) && bulk_ready; then
      # A long stream: json_bulk reads the rest (Bash reads a pipe byte by byte), prints
      # each piece as it comes, and hands back the final event, how the text ended and
      # the lines that were not events.
      local -a opts=(--text-key "$text_key")
      use_libs bulk
      if $want_json; then bulk_temp text_file; opts+=(--json-text-file "$text_file"); else opts+=(--print-fd 4); fi
      { out=$(py_main json_bulk sse "${opts[@]}" <&"$REQ_FD"); } 4>&1
      [[ -n ${out%%$'\n'*} ]] && stream_final=${out%%$'\n'*} stream_events=true stream_complete=true
      out=${out#*$'\n'}
      [[ ${out%%$'\n'*} == none ]] || stream_last=${out%%$'\n'*}
      [[ $out == *$'\n'* ]] && while IFS= read -r line; do stream_line "$line"; done <<<"${out#*$'\n'}"
      break
    fi
  done
  exec {REQ_FD}<&-
  wait "$REQ_PID" || curl_status=$?
  [[ -n $stream_final ]] && reply=$stream_final
  [[ -n $http ]] || http=000
}

# stream_line LINE → one line of a stream: an event's text is printed and kept, the final
# event noted; the status line after the body (marker $'\x1f') gives http and
# curl_error; any other line (an error reply is not SSE) is kept in reply.
stream_line() {
  local line=$1 chunk piece='' choice marker=$'\x1f'
  case $line in
    '') ;;
    'data: [DONE]') stream_complete=true ;; # the OpenAI stream's end
    'data: '*)
      chunk=${line#data: }
      stream_events=true
      if [[ $endpoint == /completion ]]; then
        json_string_field_to piece "$chunk" content || true
      elif json_object_field_to choice "$chunk" choices; then
        json_string_field_to piece "${choice#\[}" text || true
      fi
      if [[ -n $piece ]]; then
        text+=$piece
        $want_json || printf '%s' "$piece"
      fi
      # The last event carries the stop reason (and, from llama.cpp, the timings):
      # /completion's has "stop": true; an OpenAI stream's a finish_reason, then [DONE].
      # Other servers write JSON with a space after each colon.
      if [[ $chunk == *'"stop":true'* || $chunk == *'"stop": true'* ||
        $chunk == *'"finish_reason":"'* || $chunk == *'"finish_reason": "'* ]]; then
        stream_final=$chunk stream_complete=true
      elif [[ $chunk == *'"timings"'* ]]; then
        stream_final=$chunk
      fi
      ;;
    "$marker"*)
      line=${line#"$marker"}
      http=${line%% *}
      curl_error=${line#* }
      ;;
    *) reply+=$line$'\n' ;;
  esac
  return 0
}

# --- send, waiting while the model loads (HTTP 503) up to --timeout ---
loading=false
while :; do
  if $stream; then send_stream; else send_plain; fi
  # The limit running out in a retry is still the loading model's doing (exit 4).
  if [[ $http == 503 && $curl_status == 0 ]] || { $loading && [[ $curl_status == 28 ]]; }; then
    loading=true
    now_ms now
    if [[ $curl_status == 0 ]] && ((timeout_ms > 0 && now + 250 < t_start + timeout_ms)); then
      sleep 0.25
      continue
    fi
    die "$EXIT_LOADING" "the server at $url is still loading the model (HTTP 503${reply:+: $(server_message)}); waited ${timeout}s (--timeout)"
  fi
  break
done

[[ $curl_status == 28 ]] && $stream && printf '\n' # end the partly streamed line
die_on_curl_failure "$curl_status" "$url" "$timeout" "$curl_error"
die_on_http_error "$http" "$url" "retry shortly" "$endpoint"
if $stream && ! $stream_complete; then
  # What a server that crashed mid-reply, or a proxy that is not SSE-aware, looks like.
  [[ -z $text ]] || $want_json || printf '\n'
  $stream_events || die "$EXIT_SERVER" "incomplete reply: the 200 reply from $url$endpoint is not an event stream: ${reply:0:200}"
  die "$EXIT_SERVER" "incomplete reply: the stream from $url$endpoint ended without its final event (did the server crash?)"
fi

read_reply_fields "$reply" ||
  die "$EXIT_SERVER" "unreadable reply from $url$endpoint: ${reply:0:200}"
warn_if_truncated "$truncated"

finish=stop
[[ $stop_type != @(limit|length) ]] || finish=length

if $want_json; then
  complete=false text_json=''
  [[ $finish == stop ]] && complete=true
  json_escape_to text_json "$text"
  printf -v json_tail '","reasoning":null,"finish_reason":"%s","complete":%s,"truncated":%s,"fallback":null,"tokens":{"prompt":%s,"predicted":%s,"cached":%s},"timings":%s,"requests":1,"tool_calls":[]}\n' \
    "$finish" "$complete" "$truncated" "$n_prompt" "$n_predicted" "$n_cached" "$timings"
  printf '{"backend":"%s","mode":"raw","text":"%s' "$backend" "$text_json"
  # A long text (or the rest of a long stream) is in json_bulk's file, escaped.
  [[ -z $text_file ]] || cat -- "$text_file"
  printf '%s' "$json_tail"
  exit 0
fi
if $stream; then
  # How the text ended: json_bulk saw the last piece when it read the end of the stream.
  [[ $stream_last == newline || (-z $stream_last && $text == *$'\n') ]] || printf '\n'
elif ! $REQ_BULK; then # (json_bulk printed a long text as it read the reply)
  [[ $text == *$'\n' ]] || text+=$'\n'
  printf '%s' "$text"
fi
