# shellcheck shell=bash
# shellcheck disable=SC2034 # reply, http, curl_error, curl_status are the caller's results
# shellcheck disable=SC2154 # body and prompt are the caller's (see request_open)
# One request of the Bash paths (gpt-oss-query.sh, local-infer.sh --raw), the same at
# every size. Up to BULK_BYTES the prompt and the reply stay in Bash (json.sh): no
# process but curl. Above it the JSON work goes to one Python process,
# py/gpt_oss_suite/json_bulk.py (py_main: the suite's interpreter without
# site-packages), whose C codec is linear where Bash's string passes are not: before,
# a 4 MB prompt took 17 s to escape and a 50 MB reply 15-30 s and ~0.7 GB to read. The
# bytes are the same either way (tests/big-input.bats). Without the suite's venv (no
# `make setup`) everything stays in Bash: slower, same bytes. Needs common.sh.
#
#   bulk_wanted TEXT → status 0 when TEXT (a prompt) is for json_bulk: BULK_BYTES or
#       more, and the venv is there.
#   bulk_read_prompt VAR → the prompt from stdin: the first BULK_BYTES bytes into VAR,
#       BULK_MORE=true when more waits on stdin (for request_open). Else all of it,
#       with one trailing newline dropped (the scripts' rule for stdin).
#   request_open URL CURL_ARG... → runs `curl_json CURL_ARG... --data-binary @- URL`,
#       its reply on fd REQ_FD (pid REQ_PID). The body is $body, or, when BULK_PROMPT
#       is `stdin` or `arg`, $BULK_PREFIX, the prompt JSON-escaped ($prompt, then for
#       `stdin` the rest of stdin with one trailing newline dropped), $BULK_SUFFIX; or
#       when it is `file`, the file bulk_body_file wrote (a request that may be sent
#       again: stdin can be read only once).
#   bulk_body_file → for BULK_PROMPT=stdin: writes that body to a temporary file once,
#       and sets BULK_PROMPT=file.
#   request_read [json_bulk reply option...] → reads that reply into reply (the body),
#       http, curl_error (curl's -w '\n%{http_code} %{errormsg}' must be among the
#       CURL_ARGs) and curl_status. A reply of BULK_BYTES or more is read by json_bulk:
#       REQ_BULK=true, reply is a small copy of the body (its big strings emptied),
#       BULK_TEXT says whether the text (--text-key) was there, and the options say
#       where it went; fd 4 is the caller's stdout (`--print-fd 4`), and
#       `--json-text-to VAR` sets VAR to a new temporary file for --json-text-file.
#   bulk_temp VAR → VAR = a new temporary file, removed when the script exits.

# Measured (docs/performance.md, "Size sweep"): Python with its JSON codec starts in
# ~10 ms; pure Bash escapes or reads 64 KB in a few ms and then grows faster than the size.
BULK_BYTES=65536
BULK_MORE=false BULK_PROMPT='' BULK_PREFIX='' BULK_SUFFIX='' BULK_TEXT=false BULK_BODY_FILE=''
REQ_FD='' REQ_PID='' REQ_BULK=false
_bulk_temps=()

bulk_ready() { [[ -x $SUITE_ROOT/.venv/bin/python ]]; }
bulk_wanted() { # bulk_wanted TEXT → TEXT has BULK_BYTES bytes or more, and bulk_ready
  local LC_ALL=C
  ((${#1} >= BULK_BYTES)) && bulk_ready
}

bulk_read_prompt() {
  local LC_ALL=C _bulk_in='' _bulk_rest='' # bytes: -N counts them, and reads in blocks
  IFS= read -r -N "$BULK_BYTES" _bulk_in || true
  BULK_MORE=false
  if ((${#_bulk_in} >= BULK_BYTES)); then
    if bulk_ready; then
      BULK_MORE=true
    else
      IFS= read -r -N 2147483647 _bulk_rest || true
      _bulk_in+=$_bulk_rest
    fi
  fi
  $BULK_MORE || _bulk_in=${_bulk_in%$'\n'}
  printf -v "$1" '%s' "$_bulk_in"
}

request_open() {
  local url=$1
  shift
  if [[ -z $BULK_PROMPT ]]; then
    # Redirections outside <(...): with none inside, bash execs curl without a fork.
    { exec {REQ_FD}< <(curl_json "$@" --data-binary @- "$url"); } 2>/dev/null <<<"$body"
  elif [[ $BULK_PROMPT == file ]]; then
    exec {REQ_FD}< <(curl_json "$@" --data-binary "@$BULK_BODY_FILE" "$url" 2>/dev/null)
  else
    local -a opts=(--prefix "$BULK_PREFIX" --suffix "$BULK_SUFFIX" --head-fd 3)
    if [[ $BULK_PROMPT == stdin ]]; then
      exec {REQ_FD}< <(curl_json "$@" --data-binary @- "$url" 2>/dev/null \
        < <(py_main json_bulk escape "${opts[@]}" 3<<<"$prompt"))
    else # an argument, whole in $prompt: its last newline is part of it
      exec {REQ_FD}< <(curl_json "$@" --data-binary @- "$url" 2>/dev/null \
        < <(py_main json_bulk escape "${opts[@]}" --keep-newline 3<<<"$prompt" </dev/null))
    fi
  fi
  REQ_PID=$!
}

request_read() {
  local LC_ALL=C head='' rest='' meta out
  BULK_TEXT=false REQ_BULK=false
  IFS= read -r -N "$BULK_BYTES" -u "$REQ_FD" head || true
  if ((${#head} >= BULK_BYTES)) && bulk_ready; then
    REQ_BULK=true
    local -a opts=()
    while (($#)); do
      if [[ $1 == --json-text-to ]]; then # a file made only now, when it is needed
        bulk_temp "$2"
        opts+=(--json-text-file "${!2}")
      else
        opts+=("$1" "$2")
      fi
      shift 2
    done
    { out=$(py_main json_bulk reply --head-fd 3 "${opts[@]}" 3<<<"$head" <&"$REQ_FD"); } 4>&1
    meta=${out%%$'\n'*}
    out=${out#*$'\n'}
    [[ ${out%%$'\n'*} == text ]] && BULK_TEXT=true
    reply=
    [[ $out == *$'\n'* ]] && reply=${out#*$'\n'}
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

bulk_body_file() {
  bulk_temp BULK_BODY_FILE
  py_main json_bulk escape --prefix "$BULK_PREFIX" --suffix "$BULK_SUFFIX" --head-fd 3 \
    3<<<"$prompt" >"$BULK_BODY_FILE"
  BULK_PROMPT='file'
}

bulk_temp() {
  local _bulk_file
  _bulk_file=$(mktemp "${TMPDIR:-/tmp}/gpt-oss-bulk.XXXXXX")
  ((${#_bulk_temps[@]})) || trap 'rm -f "${_bulk_temps[@]}"' EXIT
  _bulk_temps+=("$_bulk_file")
  printf -v "$1" '%s' "$_bulk_file"
}
