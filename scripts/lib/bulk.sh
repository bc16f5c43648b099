# shellcheck shell=bash
# shellcheck disable=SC2034 # reply, meta, BULK_* are request.sh's and its callers'
# shellcheck disable=SC2154 # prompt, head and REQ_FD come from request.sh and its callers
# The long-prompt and long-reply half of request.sh, sourced only when one comes up (a
# short query then parses none of it). Its functions are described in request.sh's
# header; json_bulk (py/gpt_oss_suite/json_bulk.py) does the JSON work. Needs common.sh
# and request.sh.

_bulk_temps=()

# bulk_read_reply [json_bulk reply option...] → for request_read (its locals head and
# meta are this function's too): json_bulk reads the rest of the reply from REQ_FD.
bulk_read_reply() {
  local out
  local -a opts=()
  REQ_BULK=true
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
  return 0
}

bulk_body_file() {
  local status=0
  local -a opts=(--prefix "$BULK_PREFIX" --suffix "$BULK_SUFFIX" --head-fd 3)
  bulk_temp BULK_BODY_FILE
  if [[ $BULK_PROMPT == stdin ]]; then
    py_main json_bulk escape "${opts[@]}" 3<<<"$prompt" >"$BULK_BODY_FILE" || status=$?
  else # all of it in $prompt: a last newline is part of it
    py_main json_bulk escape "${opts[@]}" --keep-newline 3<<<"$prompt" </dev/null \
      >"$BULK_BODY_FILE" || status=$?
  fi
  case $status in
    0) BULK_PROMPT='file' ;;
    2) usage_error "the prompt is empty" ;;
    3) usage_error "the prompt is not UTF-8 text" ;; # require_utf8's words
    *) die "$EXIT_ERROR" "could not prepare the request (json_bulk exit $status)" ;;
  esac
}

bulk_temp() {
  local _bulk_file
  _bulk_file=$(mktemp "${TMPDIR:-/tmp}/gpt-oss-bulk.XXXXXX")
  ((${#_bulk_temps[@]})) || trap 'rm -f "${_bulk_temps[@]}"' EXIT
  _bulk_temps+=("$_bulk_file")
  printf -v "$1" '%s' "$_bulk_file"
}
