# shellcheck shell=bash
# shellcheck disable=SC2034 # the TR_* results are read by the scripts that source this
# One timed streaming request to llama-server's /completion, shared by gpt-oss-bench.sh
# (its measuring loop) and gpt-oss-status.sh (its probe). Bash + curl only: no process
# but the one curl per request, so the numbers are the server's plus curl's, nothing else.
# Needs common.sh (exit codes); brings request_errors.sh (the wording of failures,
# shared with gpt-oss-query.sh) and json.sh (reading replies) with it.
#
# The times, microseconds from $EPOCHREALTIME (no fork): TR_T0 just before curl starts;
# TR_T1 at the first byte of the body: with -N (no buffering) and without -i that is the
# first SSE event, sent once the first token exists, so TR_T1 - TR_T0 is the time to first
# token a client sees: connection, prompt processing, first decode step (curl's
# %{time_starttransfer} is not: it stops at the headers, which a streaming server may send
# before any token); TR_T2 when curl closes the stream, as a bare `curl` loop sees the
# end. One read(2) per event: `read -N 1` takes the first byte, then `read -N` with a huge
# count the rest in 4 KB blocks until EOF (a plain `read` on a pipe reads byte by byte).
#
# API
#   tr_request_body FILE PROMPT MAX_TOKENS → FILE = the JSON body: stream, temperature 0,
#       cache_prompt false (every run processes its whole prompt, so prompt tok/s is
#       real) and ignore_eos (every run decodes exactly MAX_TOKENS tokens).
#   timed_completion URL BODY_FILE [TIMEOUT] → sets TR_T0 TR_T1 TR_T2 TR_CURL (curl's
#       exit status), TR_HTTP (the status code) and TR_BODY (the whole response body);
#       never fails. TIMEOUT (seconds, 0 = none) bounds the whole request (curl
#       --max-time): a server whose /completion stalls ends as FAIL_TIMEOUT in tr_check.
#   tr_check URL → status 0 when the last response was a complete stream, setting
#       TR_TIMINGS (the final event's flat "timings" object) and TR_PREDICTED_N;
#       otherwise status 1 with TR_ERR_CODE (an EXIT_* number) and TR_ERR_MSG.
#   ms_of VAR MICROSECONDS [DECIMALS] → a duration in ms as text, for TR_T* differences.
#   tr_health URL → sets TR_HEALTH: ok, loading, down (TR_ERR_MSG: why), timeout (no
#       reply within 5 s: a stalled server, TR_ERR_MSG says so) or http-NNN; unless ok,
#       TR_ERR_CODE (a FAIL_* code) and TR_HEALTH_ERR (the one line to die with) too;
#       down, TR_RPC_HINT: which RPC workers of the server no longer answer (rpc.sh).

# shellcheck source=scripts/lib/request_errors.sh
source "${BASH_SOURCE[0]%/*}/request_errors.sh"

TR_DEFAULT_PROMPT="Write one sentence about the sea."

tr_request_body() { # tr_request_body FILE PROMPT MAX_TOKENS
  local _tr_prompt
  json_escape_to _tr_prompt "$2"
  printf '{"prompt":"%s","n_predict":%d,"temperature":0,"cache_prompt":false,"ignore_eos":true,"stream":true}' \
    "$_tr_prompt" "$((10#$3))" >"$1"
}

timed_completion() { # timed_completion URL BODY_FILE [TIMEOUT]
  local LC_ALL=C # bytes, not characters: `read -N` counts whatever it is given
  local IFS= # nor may `read` drop a leading newline (an empty body's status line)
  local url=$1 body_file=$2 fd pid first='' rest='' body
  # After the body, on its own line behind a \x1f: the status code (a 503 may have none).
  local -a opts=(-w $'\n\037%{http_code}')
  TR_TIMEOUT=${3:-0}
  [[ $TR_TIMEOUT =~ ^0*\.?0*$ ]] || opts+=(--max-time "$TR_TIMEOUT")
  # curl writes into a FIFO next to the body file (one per process: bench clients run
  # side by side), made once. Not a process substitution: Bash 5.2 keeps ~50 bytes for
  # every one it ran, which a 10000-run bench would add up; a background job it forgets.
  local fifo="${body_file%/*}/.timed-request.$BASHPID.fifo"
  [[ -p $fifo ]] || mkfifo -m 600 "$fifo"
  # `Expect:` off: no 100-continue round trip for a long prompt. The key goes through a
  # here-string on fd 3 (a pipe, no extra process), never through argv.
  TR_T0=${EPOCHREALTIME/[.,]/}
  if [[ -n ${GPT_OSS_API_KEY:+set} ]]; then # not the key itself in a GPT_OSS_DEBUG trace
    curl -4 -s -N "${opts[@]}" -H 'Content-Type: application/json' -H 'Expect:' \
      -H @/dev/fd/3 --data-binary "@$body_file" "$url/completion" \
      3<<<"Authorization: Bearer $GPT_OSS_API_KEY" >"$fifo" &
  else
    curl -4 -s -N "${opts[@]}" -H 'Content-Type: application/json' -H 'Expect:' \
      --data-binary "@$body_file" "$url/completion" >"$fifo" &
  fi
  pid=$!
  exec {fd}<"$fifo"
  read -r -N 1 -u "$fd" first || true
  TR_T1=${EPOCHREALTIME/[.,]/}
  read -r -N 2147483647 -u "$fd" rest || true
  TR_T2=${EPOCHREALTIME/[.,]/}
  exec {fd}<&-
  TR_CURL=0
  wait "$pid" || TR_CURL=$?
  TR_BODY=$first$rest
  body=${TR_BODY%$'\n\037'*} # cut from the end: the status line is short and last
  TR_HTTP=${TR_BODY:${#body}+2}
  TR_HTTP=${TR_HTTP:-000}
  TR_BODY=$body
}

ms_of() { # ms_of VAR MICROSECONDS [DECIMALS] → VAR = "123.4" (1 decimal) or "123.456" (3)
  if ((${3:-1} == 3)); then
    printf -v "$1" '%d.%03d' "$(($2 / 1000))" "$(($2 % 1000))"
  else
    printf -v "$1" '%d.%d' "$(($2 / 1000))" "$(($2 % 1000 / 100))"
  fi
}

tr_check() { # tr_check URL → see above
  local url=$1 tail error='' http=''
  TR_ERR_CODE=0 TR_ERR_MSG='' TR_TIMINGS='' TR_PREDICTED_N=0
  if ((TR_CURL == 28)); then
    _tr_capture die_on_curl_failure "$TR_CURL" "$url" "$TR_TIMEOUT"
  elif [[ $TR_HTTP =~ ^[1-5][0-9][0-9]$ && $TR_HTTP != 200 ]]; then
    _tr_capture die_on_http_error "$TR_HTTP" "$url" "retry shortly" /completion
  elif [[ $TR_BODY == data:* ]]; then
    # The final event of /completion carries "timings":{...} (flat, numbers only) near
    # its end; a proxy may have written it with spaces (`"timings": {`), which go.
    tail=${TR_BODY##*\"timings\"}
    if [[ $tail != "$TR_BODY" && $tail =~ ^[[:space:]]*:[[:space:]]*(\{[^\}]*\}) ]]; then
      TR_TIMINGS=${BASH_REMATCH[1]//[[:space:]]/}
      [[ $TR_TIMINGS =~ \"predicted_n\":([0-9]+) ]] && TR_PREDICTED_N=${BASH_REMATCH[1]}
      return 0
    fi
    if ((TR_CURL != 0)); then
      TR_ERR_CODE=$FAIL_DROPPED
      use_libs rpc # a server started with RPC workers drops requests when one of them dies
      TR_ERR_MSG="the server at $url dropped the connection in the middle of a reply (curl exit $TR_CURL)$(rpc_crash_hint "$url" || echo " (did it crash?)")"
    else
      TR_ERR_CODE=$EXIT_SERVER
      TR_ERR_MSG="incomplete reply: the stream from $url/completion ended without its final event (no \"timings\"; did the server crash?)"
    fi
  elif [[ -z $TR_BODY ]]; then
    if ((TR_CURL == 0)); then
      TR_ERR_CODE=$EXIT_SERVER TR_ERR_MSG="the server at $url sent an empty reply"
    else
      _tr_capture die_on_curl_failure "$TR_CURL" "$url" 0
    fi
  # An error reply, {"error":{"code":N,"message":"...","type":"...",...}}: its code is
  # the HTTP status, worded as gpt-oss-query.sh words it (request_errors.sh).
  elif json_object_field_to error "$TR_BODY" error && json_number_field_to http "$error" code &&
    [[ $http =~ ^[1-5][0-9][0-9]$ && $http != 200 ]]; then
    _tr_capture die_on_http_error "$http" "$url"
  else
    TR_ERR_CODE=$EXIT_SERVER
    TR_ERR_MSG="incomplete reply: the 200 reply from $url/completion is not an event stream: ${TR_BODY:0:200}"
  fi
  return 1
}

# _tr_capture DIE_HELPER ARGS... → runs one of request_errors.sh's die_* helpers in a
# subshell (an error path only) and keeps its exit code and message instead of exiting,
# so a concurrent bench client can hand both to the main shell.
_tr_capture() {
  TR_ERR_MSG=$(
    # shellcheck disable=SC2034 # read by request_errors.sh
    reply=$TR_BODY
    "$@" 2>&1 >/dev/null
  ) || TR_ERR_CODE=$?
  TR_ERR_MSG=${TR_ERR_MSG#"$PROG: "}
  TR_ERR_MSG=${TR_ERR_MSG%%$'\n'*}
}

tr_health() { # tr_health URL → TR_HEALTH, TR_ERR_CODE, TR_ERR_MSG, TR_HEALTH_ERR
  local url=$1 out code status=0
  TR_ERR_MSG='' TR_ERR_CODE=0 TR_HEALTH_ERR='' TR_RPC_HINT=''
  out=$(curl -4 -s -o /dev/null -w '%{http_code} %{errormsg}' --max-time 5 "$url/health" 2>/dev/null) || status=$?
  code=${out%% *}
  ((status != 28)) || code=timeout
  case $code in
    200) TR_HEALTH=ok ;;
    timeout)
      TR_HEALTH=timeout TR_ERR_CODE=$FAIL_TIMEOUT TR_ERR_MSG="no reply from $url/health within 5s"
      TR_HEALTH_ERR="the server at $url is not healthy: $TR_ERR_MSG"
      ;;
    503)
      TR_HEALTH=loading TR_ERR_CODE=$FAIL_LOADING
      TR_HEALTH_ERR="the server at $url is still loading the model (HTTP 503); retry shortly"
      ;;
    000 | '')
      TR_HEALTH=down TR_ERR_CODE=$FAIL_UNREACHABLE
      TR_ERR_MSG=${out#* }
      [[ -n $TR_ERR_MSG && $TR_ERR_MSG != "$out" ]] || TR_ERR_MSG="curl exit $status"
      TR_HEALTH_ERR="server not reachable at $url ($TR_ERR_MSG; is gpt-oss-fast.sh running?)"
      use_libs rpc # a server started with RPC workers ends when one of them dies
      TR_RPC_HINT=$(rpc_crash_hint "$url") || TR_RPC_HINT=''
      TR_HEALTH_ERR+=$TR_RPC_HINT
      ;;
    *)
      TR_HEALTH=http-$code TR_ERR_CODE=$FAIL_HTTP
      TR_HEALTH_ERR="the server at $url answered /health with HTTP $code"
      ;;
  esac
}
