# shellcheck shell=bash
# shellcheck disable=SC1003 # '\' below is a literal backslash, not an escaped quote
# Pure-Bash JSON helpers for the hot paths (gpt-oss-query.sh, the bench loop): building a
# request body and reading a few fields of a reply without python or jq, and without
# starting a process per call. Needs Bash 5 (common.sh checks).
#
# API — each function stores its result in VAR with `printf -v` (no subshell); the same
# name without `_to` and VAR prints it to stdout (for tests and cold paths). VAR must not
# start with _json_ (the functions' own locals).
#   json_escape_to VAR STRING          STRING as a JSON string body, no quotes (json_escape.sh)
#   json_unescape_to VAR BODY          the text a JSON string body stands for
#   json_string_field_to VAR JSON KEY  the first top-level "KEY": "..." of the object JSON,
#                                      unescaped
#   json_number_field_to VAR JSON KEY  its number, as written (-1.5e3 stays -1.5e3)
#   json_bool_field_to VAR JSON KEY    true or false
#   json_object_field_to VAR JSON KEY  the raw JSON text of its object or array value, for
#                                      reading nested fields: error.message, timings.*
# The field readers return 1 when KEY is not a top-level key of JSON or its value has
# another type (null included), leaving VAR untouched; status 0 otherwise.
#
# How: every function runs with LC_ALL=C. That makes Bash treat strings as bytes, which
# is what JSON escaping needs (a multibyte character never contains a byte below 0x80,
# so UTF-8 passes through untouched), and it is far faster: `${s//x/y}` over 200 KB with
# a few thousand hits takes ~1.2 s in a UTF-8 locale and ~25 ms in C. Every step is a
# whole-string parameter expansion or one word split; nothing loops per character.
# Cost model: one pass (~10-25 ms per 200 KB on these 2-core machines) per kind of
# character that is present — backslash, quote, newline, tab... — and a few ms per scan
# for one that is not; 200 KB of C++ source escapes in ~40-60 ms, "1+1=" in ~50 us.
# To read a field, `\\` and `\"` are first swapped for placeholder bytes, after which
# every `"` left is a string delimiter, so splitting the text at `"` gives structure (even
# pieces) and strings (odd pieces); a loop over the pieces (a few hundred for a
# llama-server reply, however long its strings) tracks the nesting depth to find the key
# at the top level. The loops in Bash are per string, per bracket or per \u escape, so
# text dense with those (tens of thousands) is slow: fine for replies, not for bulk data.
#
# Limits (documented rather than handled, as none of them occurs in the replies read):
# - Bash strings cannot hold NUL: U+0000 cannot be escaped (it never reaches a variable)
#   and `\u0000` is dropped when unescaping.
# - Bytes are not validated: invalid UTF-8 in STRING is passed through as is (the server
#   then decides), and escaping never emits \uXXXX above U+001F.
# - Unescaping: a lone or reversed surrogate becomes U+FFFD; an unknown escape such as
#   `\x` or a short `\u12` is kept as written.
# - The readers expect valid JSON whose top level is an object. KEY must be plain text
#   (no `"` or `\`); keys are compared in their escaped form. Raw bytes 0x1c-0x1f, which
#   valid JSON never contains outside strings nor unescaped inside them, serve as
#   placeholders. Duplicate keys: the first wins.

[[ -n ${_JSON_SH_LOADED:-} ]] && return 0 # sourced by several libraries: once is enough
_JSON_SH_LOADED=1
# json_escape_to lives on its own, for the hot path that only escapes (gpt-oss-query.sh).
# shellcheck source=scripts/lib/json_escape.sh
source "${BASH_SOURCE[0]%/*}/json_escape.sh"

# Placeholders (see above). Not \x01 or \x7f: Bash uses those internally for quoting.
_JSON_BS=$'\x1f'   # stands for an escaped backslash, \\ in JSON
_JSON_QT=$'\x1e'   # stands for an escaped quote, \" in JSON
_JSON_U=$'\x1d'    # marks a \u escape while splitting
json_escape() { _json_print_from json_escape_to "$1"; } # STRING → the body on stdout, no newline

# _json_utf8_to VAR CODEPOINT → VAR = the UTF-8 bytes, whatever the locale (printf's
# \xHH escapes are bytes; its \u escapes would depend on LC_CTYPE).
_json_utf8_to() {
  local -i _json_cp=$2
  local _json_fmt
  if ((_json_cp < 0x80)); then
    printf -v _json_fmt '\\x%02x' "$_json_cp"
  elif ((_json_cp < 0x800)); then
    printf -v _json_fmt '\\x%02x\\x%02x' $((0xC0 | _json_cp >> 6)) $((0x80 | (_json_cp & 0x3F)))
  elif ((_json_cp < 0x10000)); then
    printf -v _json_fmt '\\x%02x\\x%02x\\x%02x' $((0xE0 | _json_cp >> 12)) \
      $((0x80 | (_json_cp >> 6 & 0x3F))) $((0x80 | (_json_cp & 0x3F)))
  else
    printf -v _json_fmt '\\x%02x\\x%02x\\x%02x\\x%02x' $((0xF0 | _json_cp >> 18)) \
      $((0x80 | (_json_cp >> 12 & 0x3F))) $((0x80 | (_json_cp >> 6 & 0x3F))) $((0x80 | (_json_cp & 0x3F)))
  fi
  # shellcheck disable=SC2059 # the format is the byte escapes built above
  printf -v "$1" "$_json_fmt"
}

# _json_unescape_protected_to VAR BODY — BODY already has \\ and \" as placeholders.
_json_unescape_protected_to() {
  local _json_s=$2
  if [[ $_json_s == *'\'* ]]; then
    [[ $_json_s == *'\n'* ]] && _json_s=${_json_s//'\n'/$'\n'}
    [[ $_json_s == *'\t'* ]] && _json_s=${_json_s//'\t'/$'\t'}
    [[ $_json_s == *'\r'* ]] && _json_s=${_json_s//'\r'/$'\r'}
    [[ $_json_s == *'\/'* ]] && _json_s=${_json_s//'\/'/'/'}
    [[ $_json_s == *'\b'* ]] && _json_s=${_json_s//'\b'/$'\b'}
    [[ $_json_s == *'\f'* ]] && _json_s=${_json_s//'\f'/$'\f'}
  fi
  [[ $_json_s == *"$_JSON_QT"* ]] && _json_s=${_json_s//"$_JSON_QT"/'"'}
  if [[ $_json_s != *'\u'* ]]; then
    [[ $_json_s == *"$_JSON_BS"* ]] && _json_s=${_json_s//"$_JSON_BS"/'\'}
    printf -v "$1" '%s' "$_json_s"
    return 0
  fi
  # \uXXXX: split at each escape; piece k>0 starts with the 4 hex digits of escape k.
  # The backslash placeholder is restored per piece, after decoding, so that neither
  # `\\u0041` turns into `A` nor a decoded U+001F turns into a backslash.
  local -
  set -f
  local IFS=$_JSON_U _json_rest _json_ch _json_hex _json_lo
  local -i _json_i _json_n _json_cp _json_low
  local -a _json_pieces _json_out
  _json_s=${_json_s//'\u'/"$_JSON_U"}
  # shellcheck disable=SC2206 # splitting at the marker is the point (globbing is off)
  _json_pieces=($_json_s)
  # Word splitting drops a final empty piece (a body ending in a bare `\u`).
  [[ $_json_s == *"$_JSON_U" ]] && _json_pieces+=('')
  _json_out=("${_json_pieces[0]//"$_JSON_BS"/'\'}")
  _json_n=${#_json_pieces[@]}
  for ((_json_i = 1; _json_i < _json_n; _json_i++)); do
    _json_rest=${_json_pieces[_json_i]}
    _json_hex=${_json_rest:0:4}
    if [[ $_json_hex != [0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f] ]]; then
      _json_out+=('\u' "${_json_rest//"$_JSON_BS"/'\'}")
      continue
    fi
    _json_cp=16#$_json_hex
    _json_rest=${_json_rest:4}
    if ((_json_cp >= 0xD800 && _json_cp <= 0xDBFF)); then
      # A high surrogate pairs with a low one written right after it (a lone one at
      # the very end has no next piece: `-` keeps set -u quiet).
      _json_lo=${_json_pieces[_json_i + 1]-}
      _json_lo=${_json_lo:0:4}
      if [[ -z $_json_rest && $_json_lo == [dD][c-fC-F][0-9A-Fa-f][0-9A-Fa-f] ]]; then
        _json_low=16#$_json_lo
        _json_cp=$((0x10000 + ((_json_cp - 0xD800) << 10) + (_json_low - 0xDC00)))
        _json_i+=1
        _json_rest=${_json_pieces[_json_i]:4}
      else
        _json_cp=0xFFFD
      fi
    elif ((_json_cp >= 0xDC00 && _json_cp <= 0xDFFF)); then
      _json_cp=0xFFFD
    fi
    _json_ch=''
    ((_json_cp == 0)) || _json_utf8_to _json_ch "$_json_cp"
    _json_out+=("$_json_ch" "${_json_rest//"$_JSON_BS"/'\'}")
  done
  IFS=
  printf -v "$1" '%s' "${_json_out[*]}"
}

json_unescape_to() { # json_unescape_to VAR BODY
  local LC_ALL=C
  local _json_s=$2
  if [[ $_json_s == *'\'* ]]; then
    _json_s=${_json_s//'\\'/"$_JSON_BS"}
    _json_s=${_json_s//'\"'/"$_JSON_QT"}
  fi
  _json_unescape_protected_to "$1" "$_json_s"
}
json_unescape() { _json_print_from json_unescape_to "$1"; } # BODY → the text on stdout, no newline

# _json_find JSON KEY → on success sets _json_kind to `string` (and _json_value to the
# string's body, \\ and \" still as placeholders), `scalar` (and _json_value to the
# text of the value: a number, true, false or null) or `compound` (_json_value: the raw
# text of the object or array). The caller declares both and sets LC_ALL=C.
_json_find() {
  local _json_text=$1 _json_key=$2
  # Cheap reject: most absent keys never appear at all.
  [[ $_json_text == *"\"$_json_key\""* ]] || return 1
  if [[ $_json_text == *'\'* ]]; then
    _json_text=${_json_text//'\\'/"$_JSON_BS"}
    _json_text=${_json_text//'\"'/"$_JSON_QT"}
  fi
  local -
  set -f
  local IFS='"' _json_seg _json_opens _json_closes
  local -a _json_parts
  local -i _json_i _json_n _json_depth=0
  # shellcheck disable=SC2206 # splitting at quotes is the point (globbing is off)
  _json_parts=($_json_text)
  _json_n=${#_json_parts[@]}
  for ((_json_i = 0; _json_i + 1 < _json_n; _json_i += 2)); do
    _json_seg=${_json_parts[_json_i]}
    _json_opens=${_json_seg//[^\{\[]/}
    _json_closes=${_json_seg//[^\}\]]/}
    _json_depth+=$((${#_json_opens} - ${#_json_closes}))
    ((_json_depth == 1)) || continue
    [[ ${_json_parts[_json_i + 1]} == "$_json_key" ]] || continue
    _json_seg=${_json_parts[_json_i + 2]-}
    [[ $_json_seg =~ ^[[:space:]]*:[[:space:]]*(.*)$ ]] || continue # a value, not a key
    _json_seg=${BASH_REMATCH[1]}
    if [[ -z $_json_seg ]]; then
      ((_json_i + 3 < _json_n)) || return 1
      _json_kind=string
      _json_value=${_json_parts[_json_i + 3]}
    elif [[ $_json_seg == [\{\[]* ]]; then
      _json_kind=compound
      _json_compound "$_json_i" || return 1
    else
      _json_kind=scalar
      _json_value=${_json_seg%%[,\}\][:space:]]*}
    fi
    return 0
  done
  return 1
}

# _json_compound I — for _json_find: the object or array that starts in the structural
# piece after the key at _json_parts[I+1] (_json_seg: that piece from the bracket on).
# Jumps from bracket to bracket (a loop per bracket and per string, never per character)
# and sets _json_value to the raw text with the escapes put back.
_json_compound() {
  local -i _json_j=$1+2 _json_d=0
  local _json_piece=$_json_seg _json_head _json_br
  local -a _json_acc=()
  local IFS= # for joining _json_acc (the caller splits at quotes)
  while :; do
    if ((_json_j % 2 == 0)); then
      while [[ $_json_piece == *[\{\}\[\]]* ]]; do
        _json_head=${_json_piece%%[\{\}\[\]]*}
        _json_br=${_json_piece:${#_json_head}:1}
        _json_piece=${_json_piece:${#_json_head}+1}
        _json_acc+=("$_json_head" "$_json_br")
        if [[ $_json_br == [\{\[] ]]; then _json_d+=1; else _json_d+=-1; fi
        if ((_json_d == 0)); then
          _json_value=${_json_acc[*]}
          _json_value=${_json_value//"$_JSON_BS"/'\\'}
          _json_value=${_json_value//"$_JSON_QT"/'\"'}
          return 0
        fi
      done
      _json_acc+=("$_json_piece")
    else
      _json_acc+=("\"$_json_piece\"")
    fi
    _json_j+=1
    ((_json_j < ${#_json_parts[@]})) || return 1 # unbalanced
    _json_piece=${_json_parts[_json_j]}
  done
}

# _json_print_from FUNC ARGS... → prints what the _to form FUNC stores (the plain readers)
_json_print_from() {
  local _json_print
  "$1" _json_print "${@:2}" || return 1
  printf '%s' "$_json_print"
}

# _json_field_to VAR JSON KEY KIND [REGEX] → VAR = the value of KEY when it is of KIND
# (see _json_find) and, a scalar, matches REGEX; a string unescaped.
_json_field_to() {
  local LC_ALL=C
  local _json_kind _json_value
  _json_find "$2" "$3" || return 1
  [[ $_json_kind == "$4" && ($4 != scalar || $_json_value =~ $5) ]] || return 1
  if [[ $4 == string ]]; then
    _json_unescape_protected_to "$1" "$_json_value"
  else
    printf -v "$1" '%s' "$_json_value"
  fi
}

json_string_field_to() { _json_field_to "$1" "$2" "$3" string; } # VAR JSON KEY
json_string_field() { _json_print_from json_string_field_to "$@"; } # JSON KEY → the string

json_object_field_to() { _json_field_to "$1" "$2" "$3" compound; } # VAR JSON KEY
json_object_field() { _json_print_from json_object_field_to "$@"; } # JSON KEY → raw JSON text

json_number_field_to() { # json_number_field_to VAR JSON KEY
  _json_field_to "$1" "$2" "$3" scalar '^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
}
json_number_field() { _json_print_from json_number_field_to "$@"; } # JSON KEY → the number
json_bool_field_to() { _json_field_to "$1" "$2" "$3" scalar '^(true|false)$'; } # VAR JSON KEY
json_bool_field() { _json_print_from json_bool_field_to "$@"; } # JSON KEY → true or false
