# shellcheck shell=bash
# shellcheck disable=SC2034 # reply, http, curl_error, curl_status are the caller's results
# shellcheck disable=SC2154 # body and prompt are the caller's (request_open, bulk_body_file)
# One request of the Bash paths (gpt-oss-query.sh, local-infer.sh --raw), the same at
# every size. Short prompts and replies stay in Bash (json.sh): no process but curl.
# Long ones go to one Python process, py/gpt_oss_suite/json_bulk.py (py_main: the
# suite's interpreter without site-packages), whose C codec is linear where Bash's
# string passes are not: before, a 4 MB prompt took 17 s to escape and a 50 MB reply
# 15-30 s and ~0.7 GB to read. The bytes are the same either way, and so are the
# checks: a prompt must be UTF-8 (exit 2 otherwise) and not empty (tests/big-input.bats).
# Without the suite's venv (no `make setup`) everything stays in Bash: slower, same
# bytes. Needs common.sh.
#
#   bulk_read_prompt VAR → the prompt from stdin: the first BULK_PROMPT_BYTES into VAR,
#       and BULK_PROMPT=stdin when more waits on stdin. Else all of it, with one
#       trailing newline dropped (the scripts' rule for stdin).
#   bulk_wanted TEXT → status 0 when the prompt TEXT (all of it) is for json_bulk:
#       BULK_PROMPT_BYTES or more, or BULK_UTF8_BYTES with a byte above 0x7f; and
#       the venv is there.
#   bulk_body_file → for BULK_PROMPT=stdin (the prompt is $prompt, then the rest of
#       stdin, one trailing newline dropped) or var (the prompt is $prompt): writes
#       $BULK_PREFIX, the prompt JSON-escaped, $BULK_SUFFIX to a temporary file
#       (read once, sent as often as needed) and sets BULK_PROMPT=file. Exits 2 when
#       the prompt is not UTF-8.
#   request_open URL CURL_ARG... → runs `curl_json CURL_ARG... --data-binary @- URL`,
#       its reply on fd REQ_FD (pid REQ_PID). The body: $body, or bulk_body_file's.
#   request_send URL MAX_TIME → the same request for a curl the caller started before
#       it knew it, `coproc curl -4 ... -K -` (gpt-oss-query.sh, first thing: curl's
#       ~8 ms of start-up then overlap the script's own), with the coproc's stdin on fd
#       REQ_IN, its reply on REQ_FD (a copy: bash closes a coproc's descriptors once it
#       has reaped it) and its pid in REQ_PID. Writes curl's configuration there (the
#       URL, --max-time unless MAX_TIME is 0, the API key's header: never in argv, the
#       body) and closes it. A curl whose configuration never comes (the script
#       stopped before: a usage error, --help) reads an empty one: no URL, no request.
#   request_read [json_bulk reply option...] → reads that reply into reply (the body),
#       http, curl_error (curl's -w '\n%{http_code} %{errormsg}' must be among the
#       CURL_ARGs) and curl_status. A reply of BULK_BYTES or more is read by json_bulk:
#       REQ_BULK=true, reply is a small copy of the body (its big strings emptied),
#       BULK_TEXT says whether the text (--text-key) was there, and the options say
#       where it went; fd 4 is the caller's stdout (`--print-fd 4`), and
#       `--json-text-to VAR` sets VAR to a new temporary file for --json-text-file.
#   bulk_temp VAR → VAR = a new temporary file, removed when the script exits.
# bulk_body_file and bulk_temp (and request_read's long-reply half) are in bulk.sh,
# sourced only when a long prompt or reply comes up (`use_libs bulk`): every line a
# short query parses costs it time.

# Measured (docs/performance.md, "Big prompts"): json_bulk starts in ~10 ms; Bash's
# escaping grows faster than the size, and checks UTF-8 (require_utf8) at ~0.7 ms per KB
# of non-ASCII text. A whole query's CPU ms, Bash against json_bulk: text with a quote, a
# backslash and a newline every ~24 bytes 27/37 at 16 KB, 38/37 at 32 KB, 72/38 at 64 KB;
# prose 36/46 at 32 KB, 43/41 at 48 KB, 60/42 at 64 KB. Replies: from BULK_BYTES.
BULK_BYTES=65536
BULK_PROMPT_BYTES=40960
BULK_UTF8_BYTES=16384
# A stream is read by Bash a byte at a time (read(2) cannot stop at a newline on a pipe)
# and each event parsed on its own: ~0.3 ms per event. From this many bytes of events
# (~15 of them: a short answer stays in Bash) on, json_bulk reads the rest
# (local-infer.sh --raw --stream); its start-up is then less than Bash's next 8 KB.
BULK_STREAM_BYTES=2048
# request_send's body goes inline in curl's configuration up to this size: quoting it
# there costs ~0.06 ms per KB up to 16 KB and grows faster after, while a file costs two
# forks (mktemp, and rm at exit), 3-5 ms.
REQ_INLINE_BYTES=16384
BULK_PROMPT='' BULK_PREFIX='' BULK_SUFFIX='' BULK_TEXT=false BULK_BODY_FILE=''
REQ_FD='' REQ_PID='' REQ_IN='' REQ_BULK=false

bulk_ready() { [[ -x $SUITE_ROOT/.venv/bin/python ]]; }
bulk_wanted() {
  local LC_ALL=C
  ((${#1} >= BULK_PROMPT_BYTES)) || { ((${#1} >= BULK_UTF8_BYTES)) && [[ $1 == *[$'\x80'-$'\xff']* ]]; } &&
    bulk_ready
}

bulk_read_prompt() {
  local LC_ALL=C _bulk_in='' _bulk_rest='' # bytes: -N counts them, and reads in blocks
  IFS= read -r -N "$BULK_PROMPT_BYTES" _bulk_in || true
  if ((${#_bulk_in} >= BULK_PROMPT_BYTES)) && bulk_ready; then
    BULK_PROMPT=stdin
  else
    IFS= read -r -N 2147483647 _bulk_rest || true
    _bulk_in+=$_bulk_rest
    _bulk_in=${_bulk_in%$'\n'}
  fi
  printf -v "$1" '%s' "$_bulk_in"
}

request_open() {
  local url=$1
  shift
  if [[ $BULK_PROMPT == file ]]; then
    exec {REQ_FD}< <(curl_json "$@" --data-binary "@$BULK_BODY_FILE" "$url" 2>/dev/null)
  else
    # Redirections outside <(...): with none inside, bash execs curl without a fork.
    { exec {REQ_FD}< <(curl_json "$@" --data-binary @- "$url"); } 2>/dev/null <<<"$body"
  fi
  REQ_PID=$!
}

request_send() {
  local - LC_ALL=C config=${1//\\/\\\\} value
  set +x # the configuration may carry the API key: never in a GPT_OSS_DEBUG trace
  config="url = \"${config//\"/\\\"}\""
  [[ $2 != *[1-9]* ]] || config+=$'\n'"max-time = $2"
  if [[ -n ${GPT_OSS_API_KEY:-} ]]; then
    value=${GPT_OSS_API_KEY//\\/\\\\}
    config+=$'\n'"header = \"Authorization: Bearer ${value//\"/\\\"}\""
  fi
  if [[ $BULK_PROMPT != file ]] && ((${#body} > REQ_INLINE_BYTES)); then
    use_libs bulk
    bulk_temp BULK_BODY_FILE
    printf '%s' "$body" >"$BULK_BODY_FILE"
    BULK_PROMPT='file'
  fi
  if [[ $BULK_PROMPT == file ]]; then
    value=@$BULK_BODY_FILE
  else
    value=$body
  fi
  # In double quotes curl's configuration reads \\ and \" (JSON text has no raw control
  # character left, so no other escape is needed).
  value=${value//\\/\\\\}
  config+=$'\n'"data-binary = \"${value//\"/\\\"}\""
  # A curl that is gone already (not installed...) must not end this shell with
  # SIGPIPE: its exit status, read by request_read, says what happened.
  trap '' PIPE
  printf '%s\n' "$config" 2>/dev/null 1>&"$REQ_IN" || true
  trap - PIPE
  exec {REQ_IN}>&-
}

request_read() {
  local LC_ALL=C head='' rest='' meta
  BULK_TEXT=false REQ_BULK=false
  IFS= read -r -N "$BULK_BYTES" -u "$REQ_FD" head || true
  if ((${#head} >= BULK_BYTES)) && bulk_ready; then
    use_libs bulk
    bulk_read_reply "$@" # sets meta, reply, REQ_BULK, BULK_TEXT
  else
    if ((${#head} >= BULK_BYTES)); then
      IFS= read -r -N 2147483647 -u "$REQ_FD" rest || true
      head+=$rest
    fi
    # The status line is short and last: cut from the end (a `##*` pattern would test
    # every prefix of the reply).
    reply=${head%$'\n'*}
    meta=${head:${#reply}+1}
  fi
  exec {REQ_FD}<&-
  curl_status=0
  wait "$REQ_PID" || curl_status=$?
  http=${meta%% *}
  curl_error=${meta#* }
}
