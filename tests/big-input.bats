#!/usr/bin/env bats
# Big prompts and big replies arrive byte for byte at every size (issue 17): on both
# sides of request.sh's BULK_BYTES threshold (pure Bash below, json_bulk above), up to
# 4 MB of every byte value but NUL, for gpt-oss-query.sh, local-infer.sh --raw (plain,
# --stream, --json) and the Harmony path, checked on what the stub received; and the two
# JSON implementations give the same bytes for the same input. Speed is measured by
# `make bench` (its size sweep), never here.

bats_require_minimum_version 1.5.0
load helpers/test_helper

QUERY="$SUITE_ROOT/scripts/gpt-oss-query.sh"
INFER="$SUITE_ROOT/scripts/local-infer.sh"
BULK_BYTES=65536 # scripts/lib/request.sh

setup() { common_setup; }
teardown() { common_teardown; }

# write_bytes FILE SIZE [utf8] → SIZE bytes cycling through every byte value 1-255 (not
# valid UTF-8), or with `utf8` a valid UTF-8 text holding every ASCII byte 1-127,
# quotes, backslashes and 2-, 3- and 4-byte characters. Never ends in a newline.
write_bytes() {
  python3 - "$@" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:
    unit = (bytes(range(1, 128)) + 'é "q" \\ 日本 😀 \\u0041\n'.encode()) * 3
else:
    unit = bytes(range(1, 256))
data = (unit * (size // len(unit) + 1))[:size]
while data.endswith(b"\n") or data[-1:] in (b"\xc3", b"\xe6", b"\xf0"):
    data = data[:-1] + b"x"
open(path, "wb").write(data)
PY
}

# sent_prompt_is FILE [KEY] → the last request the stub recorded has a JSON body whose
# KEY ("prompt") holds exactly FILE's bytes (or, for KEY=harmony, whose prompt holds
# them as the user message).
sent_prompt_is() {
  python3 - "$STUB_DIR" "$1" "${2:-prompt}" <<'PY'
import glob, json, os, sys
stub, want_file, key = sys.argv[1:]
bodies = sorted(glob.glob(os.path.join(stub, "body-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
bodies = [b for b in bodies if os.path.getsize(b)]
raw = open(bodies[-1], "rb").read()
body = json.loads(raw.decode("utf-8", "surrogateescape"))
want = open(want_file, "rb").read()
if key == "harmony":
    got = body["prompt"].encode("utf-8", "surrogateescape")
    if b"<|start|>user<|message|>" + want + b"<|end|>" not in got:
        sys.exit(f"the Harmony prompt does not hold the {len(want)}-byte text as the user turn")
    sys.exit(0)
got = body[key].encode("utf-8", "surrogateescape")
if got != want:
    at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    sys.exit(f"sent {len(got)} bytes, the prompt has {len(want)}; first difference at {at}")
PY
}

@test "query: prompts of every byte but NUL reach the server exact, from 1 KB to 4 MB" {
  start_stub STUB_N_CTX=100000000
  local size
  for size in 1000 $((BULK_BYTES - 1)) $BULK_BYTES $((BULK_BYTES + 1)) 1000000 4000000; do
    write_bytes "$BATS_TEST_TMPDIR/p" "$size"
    # Not UTF-8: the stub answers 500 as llama-server does; what it received is the point.
    run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/p"
    assert_failure 6
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "$size bytes"
  done
}

@test "query: UTF-8 prompts of every ASCII byte arrive exact and get their answer, from stdin and as an argument" {
  start_stub STUB_N_CTX=100000000 STUB_REPLY=' ok'
  local size
  for size in 1000 $BULK_BYTES 4000000; do
    write_bytes "$BATS_TEST_TMPDIR/p" "$size" utf8
    { cat "$BATS_TEST_TMPDIR/p"; echo; } >"$BATS_TEST_TMPDIR/stdin" # one newline is dropped
    run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/stdin"
    assert_success
    assert_output ' ok'
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "stdin, $size bytes"
  done
  # An argument keeps its trailing newline, also above the threshold (up to Linux's
  # 128 KB per argument).
  write_bytes "$BATS_TEST_TMPDIR/p" 100000 utf8
  printf '\n' >>"$BATS_TEST_TMPDIR/p"
  run --separate-stderr "$QUERY" "$(cat "$BATS_TEST_TMPDIR/p"; printf x)"
  assert_success
  printf 'x' >>"$BATS_TEST_TMPDIR/p"
  sent_prompt_is "$BATS_TEST_TMPDIR/p"
}

@test "local-infer --raw: 4 MB of every byte but NUL arrive exact (plain, --stream, --json, OpenAI backend)" {
  start_stub STUB_N_CTX=100000000
  write_bytes "$BATS_TEST_TMPDIR/p" 4000000
  local flags
  for flags in "" "--stream" "--json" "--backend openai"; do
    # shellcheck disable=SC2086 # the flags are words
    run --separate-stderr "$INFER" --raw $flags <"$BATS_TEST_TMPDIR/p"
    assert_failure 6
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "--raw $flags"
  done
  write_bytes "$BATS_TEST_TMPDIR/p" 100000
  run --separate-stderr "$INFER" --raw --stream "$(cat "$BATS_TEST_TMPDIR/p")"
  assert_failure 6
  sent_prompt_is "$BATS_TEST_TMPDIR/p"
}

@test "local-infer --raw: a 4 MB stdin prompt is sent again whole after a 503" {
  start_stub STUB_N_CTX=100000000 STUB_LOADING_SECS=1
  write_bytes "$BATS_TEST_TMPDIR/p" 4000000 utf8
  run --separate-stderr "$INFER" --raw --timeout 30 <"$BATS_TEST_TMPDIR/p"
  assert_success
  assert_output '2'
  sent_prompt_is "$BATS_TEST_TMPDIR/p"
}

@test "the Harmony path sends a 4 MB UTF-8 prompt exact as the user turn" {
  start_stub STUB_N_CTX=100000000
  write_bytes "$BATS_TEST_TMPDIR/p" 4000000 utf8
  run --separate-stderr "$INFER" --max-tokens 8 <"$BATS_TEST_TMPDIR/p"
  assert_success
  sent_prompt_is "$BATS_TEST_TMPDIR/p" harmony
}

# big_reply FILE SIZE → a JSON array for STUB_REPLIES_FILE: one reply of SIZE bytes with
# every control character, quotes, backslashes and UTF-8; FILE.txt gets the text.
big_reply() {
  python3 - "$1" "$2" <<'PY'
import json, sys
path, size = sys.argv[1], int(sys.argv[2])
unit = "".join(map(chr, range(1, 128))) + 'é "q" \\ 日本 😀 \\u0041\n'
text = (unit * (size // len(unit.encode()) + 1)).encode()[:size].decode("utf-8", "ignore")
open(path, "w", encoding="utf-8").write(json.dumps([text], ensure_ascii=False))
open(path + ".txt", "wb").write(text.encode())
PY
}

@test "replies up to 8 MB print exact on every path (query, --json, --raw plain, --stream, --json)" {
  local size want
  for size in $((BULK_BYTES - 200)) $((BULK_BYTES + 200)) 8000000; do
    big_reply "$BATS_TEST_TMPDIR/replies" "$size"
    want=$BATS_TEST_TMPDIR/replies.txt
    printf '\n' >>"$want" # the text does not end in a newline: the scripts add one
    common_teardown
    start_stub STUB_REPLIES_FILE="$BATS_TEST_TMPDIR/replies" STUB_N_CTX=100000000
    "$QUERY" -n 100000000 x >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "query, $size bytes"
    "$QUERY" --json -n 100000000 x >"$BATS_TEST_TMPDIR/out"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["content"] + "\n" != open(sys.argv[2], encoding="utf-8").read())' \
      "$BATS_TEST_TMPDIR/out" "$want" || fail "query --json, $size bytes"
    "$INFER" --raw -n 100000000 x >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "--raw, $size bytes"
    "$INFER" --raw --stream -n 100000000 x >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "--raw --stream, $size bytes"
    for flags in --json "--stream --json"; do
      # shellcheck disable=SC2086 # the flags are words
      "$INFER" --raw $flags -n 100000000 x >"$BATS_TEST_TMPDIR/out"
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["text"] + "\n" != open(sys.argv[2], encoding="utf-8").read())' \
        "$BATS_TEST_TMPDIR/out" "$want" || fail "--raw $flags, $size bytes"
    done
  done
}

# The two implementations side by side, outside the scripts.
in_plain_bash() { # in_plain_bash SCRIPT → SCRIPT with json.sh loaded, outside bats' traps
  bash -c 'set -euo pipefail; source "$1"; eval "$2"' _ "$SUITE_ROOT/scripts/lib/json.sh" "$1"
}
json_bulk() {
  "$SUITE_ROOT/.venv/bin/python" -E -S -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); from gpt_oss_suite.json_bulk import main; sys.exit(main())' \
    "$SUITE_ROOT/py" "$@"
}

@test "json.sh and json_bulk escape every byte but NUL to the same JSON" {
  write_bytes "$BATS_TEST_TMPDIR/p" 100000
  in_plain_bash 'IFS= read -r -d "" p <"$BATS_TEST_TMPDIR/p" || true; json_escape_to e "$p"; printf "%s" "$e"' \
    >"$BATS_TEST_TMPDIR/bash"
  json_bulk escape --keep-newline <"$BATS_TEST_TMPDIR/p" >"$BATS_TEST_TMPDIR/python"
  cmp "$BATS_TEST_TMPDIR/bash" "$BATS_TEST_TMPDIR/python"
}

@test "json.sh and json_bulk read the same text from \\u escapes, lone surrogates, \\u0000 and raw bytes" {
  python3 - "$BATS_TEST_TMPDIR/reply" <<'PY'
import json, sys
text = "".join(map(chr, range(1, 0x800))) + "😀 \ud83d lone \ude00 \udbff\udfff \x00 end"
body = json.dumps({"content": text, "n": 1, "content_dup": "x"}, ensure_ascii=True)
body = body.replace('"content_dup"', '"content"')  # a duplicate key: the first one wins
open(sys.argv[1], "wb").write(body.encode() + b"\n200 ")
PY
  in_plain_bash 'r=$(<"$BATS_TEST_TMPDIR/reply"); json_string_field_to t "${r%$'"'"'\n'"'"'*}" content; printf "%s\n" "$t"' \
    >"$BATS_TEST_TMPDIR/bash"
  json_bulk reply --print-fd 3 <"$BATS_TEST_TMPDIR/reply" 3>"$BATS_TEST_TMPDIR/python" >"$BATS_TEST_TMPDIR/rest"
  cmp "$BATS_TEST_TMPDIR/bash" "$BATS_TEST_TMPDIR/python"
  assert_equal "$(head -n 2 "$BATS_TEST_TMPDIR/rest")" $'200 \ntext'
}

@test "json_bulk hands back a small skeleton, not the big strings" {
  python3 -c 'import json; print(json.dumps({"content": "x" * 200000, "prompt": "y" * 100000, "truncated": True, "timings": {"predicted_n": 3}}), end="\n200 ")' \
    >"$BATS_TEST_TMPDIR/reply"
  json_bulk reply <"$BATS_TEST_TMPDIR/reply" >"$BATS_TEST_TMPDIR/out"
  assert_equal "$(sed -n 3p "$BATS_TEST_TMPDIR/out")" '{"content":"","prompt":"","truncated":true,"timings":{"predicted_n":3}}'
}
