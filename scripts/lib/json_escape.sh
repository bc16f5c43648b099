# shellcheck shell=bash
# shellcheck disable=SC1003 # '\' below is a literal backslash, not an escaped quote
# json_escape_to VAR STRING → VAR = STRING as a JSON string body (no quotes), in pure
# Bash. Part of json.sh (which sources it; its header explains the method, the costs and
# the limits), on its own so that a script which only builds a request body parses ~60
# lines instead of ~330: gpt-oss-query.sh, whose whole run is a few ms.

[[ -n ${_JSON_ESCAPE_SH_LOADED:-} ]] && return 0
_JSON_ESCAPE_SH_LOADED=1

# Control characters other than the five with short escapes (\b \t \n \f \r).
_JSON_CTRL_PATTERN=$'*[\x01-\x07\x0b\x0e-\x1f]*'

# _json_replace_all_to VAR STRING CHAR REPLACEMENT — VAR = STRING with every CHAR
# replaced. ${s//c/r} costs 3-13 us per hit (it re-scans around each one); splitting at
# CHAR and joining with printf runs in C and is ~5x faster on code-like text full of
# quotes. CHAR must not be a space, tab or newline (word splitting merges runs of those).
# The caller sets LC_ALL=C.
_json_replace_all_to() {
  local -
  set -f
  local IFS=$3 _json_format=${4//'\'/'\\'} _json_joined
  local -a _json_fields
  _json_format=%s${_json_format//'%'/'%%'}
  # shellcheck disable=SC2206 # splitting at CHAR is the point (globbing is off)
  _json_fields=($2)
  # shellcheck disable=SC2059 # the format carries the replacement
  printf -v _json_joined "$_json_format" "${_json_fields[@]}"
  # The format ran once per field, so the text ends in a replacement: right only when
  # STRING ended in CHAR (the split drops a final empty field).
  [[ $2 == *"$3" ]] || _json_joined=${_json_joined%"$4"}
  printf -v "$1" '%s' "$_json_joined"
}

json_escape_to() { # json_escape_to VAR STRING
  local LC_ALL=C
  local _json_s=$2 _json_c _json_hex
  [[ $_json_s == *'\'* ]] && _json_replace_all_to _json_s "$_json_s" '\' '\\'
  [[ $_json_s == *'"'* ]] && _json_replace_all_to _json_s "$_json_s" '"' '\"'
  [[ $_json_s == *[$'\x01'-$'\x1f']* ]] || { printf -v "$1" '%s' "$_json_s"; return 0; }
  # Newlines are the common case; most text has no other control character, which one
  # scan then shows (each scan of 200 KB costs a few ms, each replacement pass ~20 ms).
  [[ $_json_s == *$'\n'* ]] && _json_s=${_json_s//$'\n'/'\n'}
  if [[ $_json_s == *[$'\x01'-$'\x1f']* ]]; then
    [[ $_json_s == *$'\t'* ]] && _json_s=${_json_s//$'\t'/'\t'}
    [[ $_json_s == *$'\r'* ]] && _json_s=${_json_s//$'\r'/'\r'}
    [[ $_json_s == *$'\b'* ]] && _json_s=${_json_s//$'\b'/'\b'}
    [[ $_json_s == *$'\f'* ]] && _json_s=${_json_s//$'\f'/'\f'}
    # The rare rest: one scan to see if any is there, then one pass per byte found.
    # shellcheck disable=SC2053 # the pattern is meant to match as a glob
    if [[ $_json_s == $_JSON_CTRL_PATTERN ]]; then
      for _json_hex in 01 02 03 04 05 06 07 0b 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f; do
        # shellcheck disable=SC2059 # \xHH in the format makes the byte
        printf -v _json_c "\\x$_json_hex"
        [[ $_json_s == *"$_json_c"* ]] && _json_s=${_json_s//"$_json_c"/"\\u00$_json_hex"}
      done
    fi
  fi
  printf -v "$1" '%s' "$_json_s"
}
