#!/usr/bin/env bats
# Unit tests of scripts/lib/json.sh, the pure-Bash JSON escaper/reader of the hot paths.
# Python (in a few tests) is only the oracle: it checks that what Bash wrote is the JSON
# a real parser reads back, and writes JSON the way other servers do (ensure_ascii).

setup() {
  load helpers/test_helper
  common_setup
  # shellcheck source=scripts/lib/json.sh
  source "$SUITE_ROOT/scripts/lib/json.sh"
}

teardown() {
  common_teardown
}

# escape_then_unescape STRING → fails unless both directions give the string back
escape_then_unescape() {
  local escaped back
  json_escape_to escaped "$1"
  json_unescape_to back "$escaped"
  [[ "$back" == "$1" ]] || {
    printf 'round trip changed the string:\n  in:  %q\n  esc: %q\n  out: %q\n' "$1" "$escaped" "$back" >&2
    return 1
  }
}

# python_reads BODY_FILE ORIGINAL_FILE → the escaped body, quoted, decodes to the original bytes
python_reads() {
  python3 - "$1" "$2" <<'PY'
import json, sys
body = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
want = open(sys.argv[2], "rb").read()
got = json.loads('"' + body + '"').encode("utf-8", "surrogateescape")
if got != want:
    sys.exit(f"python decoded {got[:80]!r}... but the original is {want[:80]!r}...")
PY
}

@test "escape: quotes and backslashes" {
  run json_escape 'say "hi" \ C:\dir\n'
  assert_success
  assert_output 'say \"hi\" \\ C:\\dir\\n'
}

@test "escape: newline, tab, carriage return, backspace and form feed get short escapes" {
  run json_escape $'a\nb\tc\rd\be\ff'
  assert_output 'a\nb\tc\rd\be\ff'
}

@test "escape: every other control character becomes \\u00XX" {
  local code char escaped
  for ((code = 1; code < 32; code++)); do
    case $code in 8 | 9 | 10 | 12 | 13) continue ;; esac
    printf -v char "\\x$(printf '%02x' "$code")"
    json_escape_to escaped "a${char}b"
    [[ "$escaped" == "$(printf 'a\\u%04xb' "$code")" ]] || fail "0x$(printf '%02x' "$code") gave $(printf '%q' "$escaped")"
  done
}

@test "escape: shell syntax, glob and & stay literal" {
  # & matters: Bash 5.2's patsub_replacement would put the match there if unquoted.
  local nasty='$(rm -rf /) `id` ${HOME} $HOME & && * ? [abc] ~ ! %s %d'
  run json_escape "$nasty"
  assert_output "$nasty"
}

@test "escape: UTF-8 passes through unchanged whatever the caller's locale" {
  local text='é 日本 😀 ü' escaped
  json_escape_to escaped "$text"
  [[ "$escaped" == "$text" ]]
  LC_ALL=C json_escape_to escaped "$text"
  [[ "$escaped" == "$text" ]]
}

@test "escape: the empty string" {
  local escaped=unset
  json_escape_to escaped ''
  [[ -z "$escaped" ]]
}

@test "round trip: quotes, backslashes, control characters, shell syntax, unicode" {
  local all_controls='' code char
  for ((code = 1; code < 32; code++)); do
    printf -v char "\\x$(printf '%02x' "$code")"
    all_controls+=$char
  done
  escape_then_unescape 'plain'
  escape_then_unescape '"quoted" and \backslashed\ and \\double\\ and \"both\"'
  escape_then_unescape $'line 1\nline 2\r\n\ttabbed\n\n'
  escape_then_unescape "$all_controls"
  escape_then_unescape '$(echo hi) `echo hi` ${x:-y} & * ? [a]'
  escape_then_unescape 'é 日本 😀 👩‍💻'
  escape_then_unescape '\u0041 \n \\u0041 literal escapes stay literal'
  escape_then_unescape $'placeholder bytes \x1c\x1d\x1e\x1f survive'
}

# The 200 KB cases run in a child Bash: bats traps every command of the test shell, which
# makes a whole-string pass over 200 KB take a second instead of milliseconds.
in_plain_bash() { # in_plain_bash SCRIPT → runs SCRIPT with json.sh loaded, outside bats' traps
  bash -c 'set -euo pipefail; source "$1"; eval "$2"' _ "$SUITE_ROOT/scripts/lib/json.sh" "$1"
}

@test "round trip: a 200 KB prompt" {
  # Realistic density (a few escapes per line) and a rare control character.
  line=$'The "quick" brown fox\tjumps over C:\\temp, $(x) `y` & é 日本 😀 and {"k": [1]}'
  big=$'\x01'"$line"$'\n'
  while ((${#big} < 200000)); do big+=$big; done # doubling: a += loop re-counts the string
  printf '%s' "$big" >"$BATS_TEST_TMPDIR/original"
  in_plain_bash '
    IFS= read -r -d "" big <"$BATS_TEST_TMPDIR/original" || true
    json_escape_to escaped "$big"
    printf "%s" "$escaped" >"$BATS_TEST_TMPDIR/body"
    json_unescape_to back "$escaped"
    [[ "$back" == "$big" ]]'
  python_reads "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/original"
}

@test "escape: a JSON parser reads back every byte 1-127 and a UTF-8 mix" {
  local text='' code char escaped
  for ((code = 1; code < 128; code++)); do
    printf -v char "\\x$(printf '%02x' "$code")"
    text+=$char
  done
  text+='é日本😀'
  json_escape_to escaped "$text"
  printf '%s' "$escaped" >"$BATS_TEST_TMPDIR/body"
  printf '%s' "$text" >"$BATS_TEST_TMPDIR/original"
  python_reads "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/original"
}

@test "unescape: short escapes and \\/" {
  run json_unescape 'a\nb\tc\rd\be\ff\/g\"h\\i'
  assert_output $'a\nb\tc\rd\be\ff/g"h\\i'
}

@test "unescape: \\uXXXX gives UTF-8 in any locale" {
  local out
  for locale in C.UTF-8 C POSIX; do
    LC_ALL=$locale json_unescape_to out '\u00e9 \u65E5\u672c \u0041'
    [[ "$out" == 'é 日本 A' ]] || fail "LC_ALL=$locale gave $(printf '%q' "$out")"
  done
}

@test "unescape: a surrogate pair is one emoji (4 UTF-8 bytes)" {
  local out
  LC_ALL=C json_unescape_to out '\ud83d\ude00!'
  [[ "$out" == $'\xf0\x9f\x98\x80!' ]]
  json_unescape_to out 'x\uD83D\uDE00y\ud83e\udd16'
  [[ "$out" == 'x😀y🤖' ]]
}

@test "unescape: lone or reversed surrogates become U+FFFD" {
  run json_unescape '\ud83d x \ude00 \ude00\ud83d'
  assert_output '� x � ��'
}

@test "unescape: a lone high surrogate at the very end is U+FFFD, also under set -u" {
  # The pair check looked at the piece after it, which does not exist: "unbound variable".
  run bash -c 'set -euo pipefail; source "$1"; json_unescape "\ud83d"; printf "|"; json_unescape "x\ud83d\ud83d"; printf "|"; json_string_field "{\"content\":\"a\ud83d\"}" content' \
    _ "$SUITE_ROOT/scripts/lib/json.sh"
  assert_success
  assert_output '�|x��|a�'
}

@test "unescape: escaped backslashes are not escape starts" {
  run json_unescape '\\u0041 \\n \\\\ \\"'
  assert_output '\u0041 \n \\ \"'
}

@test "unescape: decoded control characters are not mistaken for placeholders" {
  local out
  json_unescape_to out '\u001f\u001e\u001d\u001c \\ \"'
  [[ "$out" == $'\x1f\x1e\x1d\x1c \\ "' ]]
}

@test "unescape: \\u0000 is dropped, malformed escapes are kept as written" {
  run json_unescape 'a\u0000b \uZZZZ \u12 \q end\u'
  assert_output 'ab \uZZZZ \u12 \q end\u'
}

@test "unescape: a body without escapes comes back unchanged" {
  run json_unescape 'nothing to do here: é 😀'
  assert_output 'nothing to do here: é 😀'
}

@test "string field: the first top-level value, unescaped" {
  run json_string_field '{"content":" 2\n\"x\"","stop":true}' content
  assert_success
  assert_output $' 2\n"x"'
}

@test "string field: nested keys and string values that look like keys are skipped" {
  local reply='{"a":"content","n":{"content":"nested","l":[{"content":"deep"}]},"s":"\"content\":\"fake\"","content":"top"}'
  run json_string_field "$reply" content
  assert_output 'top'
}

@test "string field: braces and brackets inside strings do not change the depth" {
  run json_string_field '{"p":"}}]] {{ [[","q":{"content":"no"},"content":"yes"}' content
  assert_output 'yes'
}

@test "string field: pretty-printed JSON with spaces and newlines" {
  local reply=$'{\n  "index" : 0 ,\n  "content" :\t"spaced out"\n}'
  run json_string_field "$reply" content
  assert_output 'spaced out'
}

@test "readers: JSON pretty-printed by a proxy (indent, spaces around colons, CRLF)" {
  local reply=$'{\r\n  "content" : "a \\"b\\"",\r\n  "truncated" :\n    true,\r\n  "timings" : {\n    "predicted_n" : 8,\n    "predicted_per_second" : 12.5\n  },\n  "choices" : [\n    {\n      "text" : "t"\n    }\n  ]\n}\n'
  run json_string_field "$reply" content
  assert_output 'a "b"'
  run json_bool_field "$reply" truncated
  assert_output true
  local timings choices
  json_object_field_to timings "$reply" timings
  run json_number_field "$timings" predicted_per_second
  assert_output 12.5
  json_object_field_to choices "$reply" choices
  run json_string_field "${choices#[}" text
  assert_output t
}

@test "string field: empty string value" {
  run json_string_field '{"content":"","x":1}' content
  assert_success
  assert_output ''
}

@test "string field: absent key or a value of another type returns 1" {
  run json_string_field '{"a":"b"}' content
  assert_failure 1
  run json_string_field '{"content":null}' content
  assert_failure 1
  run json_string_field '{"content":3}' content
  assert_failure 1
  run json_string_field '{"x":{"content":"only nested"}}' content
  assert_failure 1
  run json_string_field '' content
  assert_failure 1
}

@test "string field: reads what Python writes with ensure_ascii (\\u escapes, surrogates)" {
  local text=$'é 日本 😀 "q" \\ \x01 tab\there\nnew'
  printf '%s' "$text" >"$BATS_TEST_TMPDIR/original"
  local reply
  reply=$(python3 -c 'import json,sys; t=open(sys.argv[1],"rb").read().decode(); print(json.dumps({"index":0,"content":t,"x":{"content":"no"}}))' "$BATS_TEST_TMPDIR/original")
  [[ "$reply" == *'\ud83d\ude00'* ]] # the oracle really wrote a surrogate pair
  local got
  json_string_field_to got "$reply" content
  [[ "$got" == "$text" ]] || fail "got $(printf '%q' "$got")"
}

@test "string field: a field after a 200 KB string is found" {
  in_plain_bash '
    big=$'"'"'A "quoted" word, a back\\slash and {[ braces ]} on a line of text\n'"'"'
    while ((${#big} < 200000)); do big+=$big; done
    json_escape_to escaped "$big"
    reply="{\"content\":\"x\",\"prompt\":\"$escaped\",\"truncated\":true,\"stop_type\":\"limit\"}"
    json_string_field_to got "$reply" prompt
    [[ "$got" == "$big" ]]
    json_string_field_to got "$reply" stop_type
    [[ "$got" == limit ]]
    json_bool_field_to got "$reply" truncated
    [[ "$got" == true ]]'
}

@test "_to forms set the caller's variable and leave locale and options alone" {
  local result='' before_len
  before_len=${#result}
  json_string_field_to result '{"content":"é"}' content
  [[ "$result" == é ]]
  [[ ${#result} == 1 ]] # still counted in characters: the C locale did not leak
  [[ $- != *f* ]]      # noglob did not leak
  [[ "$IFS" == $' \t\n' ]]
}

@test "number field: integers, negatives, decimals and exponents as written" {
  local reply='{"a":42,"b":-1.5e3,"c":0.25 ,"d" : 7}'
  run json_number_field "$reply" a
  assert_output 42
  run json_number_field "$reply" b
  assert_output -1.5e3
  run json_number_field "$reply" c
  assert_output 0.25
  run json_number_field "$reply" d
  assert_output 7
}

@test "number field: nested, null, string or absent returns 1" {
  run json_number_field '{"t":{"n":1}}' n
  assert_failure 1
  run json_number_field '{"n":null}' n
  assert_failure 1
  run json_number_field '{"n":"1"}' n
  assert_failure 1
  run json_number_field '{"n":true}' n
  assert_failure 1
}

@test "number field: the top-level key wins over an earlier nested one" {
  run json_number_field '{"error":{"n_ctx":1},"n_ctx":256}' n_ctx
  assert_output 256
}

@test "bool field: true and false; null or a string returns 1" {
  run json_bool_field '{"truncated":true}' truncated
  assert_output true
  run json_bool_field '{"stop":false,"truncated":false}' truncated
  assert_output false
  run json_bool_field '{"truncated":null}' truncated
  assert_failure 1
  run json_bool_field '{"truncated":"true"}' truncated
  assert_failure 1
}

@test "object field: the raw text of a nested object or array, escapes intact" {
  local err='{"error":{"code":400,"message":"a \"quoted\" \\ word","type":"exceed_context_size_error","n_prompt_tokens":601,"n_ctx":256}}'
  run json_object_field "$err" error
  assert_output '{"code":400,"message":"a \"quoted\" \\ word","type":"exceed_context_size_error","n_prompt_tokens":601,"n_ctx":256}'
  local inner
  json_object_field_to inner "$err" error
  run json_string_field "$inner" message
  assert_output 'a "quoted" \ word'
  run json_number_field "$inner" n_prompt_tokens
  assert_output 601
  run json_object_field '{"a":[1,[2,{"b":"]}"}],3],"c":{}}' a
  assert_output '[1,[2,{"b":"]}"}],3]'
  run json_object_field '{"a":[1,[2,{"b":"]}"}],3],"c":{}}' c
  assert_output '{}'
}

@test "object field: scalars, absent keys and unbalanced text return 1" {
  run json_object_field '{"a":1}' a
  assert_failure 1
  run json_object_field '{"a":[1,[2' a
  assert_failure 1
  run json_object_field '{"b":{}}' a
  assert_failure 1
}
