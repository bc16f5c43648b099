#!/usr/bin/env bats
# Big prompts and big replies arrive byte for byte at every size (issue 17): on both
# sides of request.sh's thresholds (pure Bash below, json_bulk above), up to
# 4 MB of every byte value but NUL, for gpt-oss-query.sh, local-infer.sh --raw (plain,
# --stream, --json) and the Harmony path, checked on what the stub received; and the two
# JSON implementations give the same bytes for the same input. Speed is measured by
# `make bench` (its size sweep), never here.

bats_require_minimum_version 1.5.0
load helpers/test_helper

QUERY="$SUITE_ROOT/scripts/gpt-oss-query.sh"
INFER="$SUITE_ROOT/scripts/local-infer.sh"
BULK_BYTES=65536        # scripts/lib/request.sh: a reply from here on goes to json_bulk,
BULK_PROMPT_BYTES=40960 # a prompt from here (one with non-ASCII text from 16 KB)

setup() { common_setup; }
teardown() { common_teardown; }

# write_bytes FILE SIZE [utf8] → SIZE bytes cycling through every byte value 1-255 (not
# UTF-8), or with `utf8` UTF-8 text holding every byte value UTF-8 can carry: 0x01-0x7f,
# every continuation byte 0x80-0xbf and every lead byte 0xc2-0xf4 (0xc0, 0xc1 and
# 0xf5-0xff never occur in UTF-8), quotes, backslashes, `\u0041` as text, emoji. Never
# ends in a newline.
write_bytes() {
  python3 - "$@" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:
    chars = [chr(c) for c in range(1, 0x800)]  # ASCII, leads 0xc2-0xdf, all continuations
    chars += [chr(lead << 12 | (0x0AB if lead == 0xD else 0x8AB)) for lead in range(16)]  # 0xe0-0xef
    chars += ["\ud7ff", "\uffff"] + [chr(c) for c in (0x10000, 0x40000, 0x80000, 0xC0000, 0x10FFFF)]
    unit = ("".join(chars) + ' "q" \\ \\u0041 😀\n').encode()
else:
    unit = bytes(range(1, 256))
data = (unit * (size // len(unit) + 1))[:size]
text = data.decode("utf-8", "ignore") if len(sys.argv) > 3 else None
if text is not None:
    data = text.rstrip("\n").encode()
    data += b"x" * (size - len(data))
else:
    data = data.rstrip(b"\n")
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

@test "query: UTF-8 prompts of every byte value UTF-8 carries reach the server exact, from 1 KB to 4 MB" {
  start_stub STUB_N_CTX=100000000 STUB_REPLY=' ok'
  local size
  for size in 1000 $((BULK_BYTES - 1)) $BULK_BYTES $((BULK_BYTES + 1)) 1000000 4000000; do
    write_bytes "$BATS_TEST_TMPDIR/p" "$size" utf8
    run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/p"
    assert_success
    assert_output ' ok'
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "$size bytes"
  done
}

@test "query: ASCII prompts of every byte 0x01-0x7f reach the server exact, inline in curl's configuration, through a file, or from json_bulk" {
  # request.sh's REQ_INLINE_BYTES (16 KB of body) and BULK_PROMPT_BYTES decide; inline,
  # quotes and backslashes are escaped twice (JSON, then curl's configuration).
  start_stub STUB_N_CTX=100000000 STUB_REPLY=' ok'
  local size
  for size in 1 200 8000 16000 17000 $((BULK_PROMPT_BYTES - 1)) $BULK_PROMPT_BYTES \
    $((BULK_PROMPT_BYTES + 1)) 100000; do
    python3 -c 'import sys; u = bytes(range(1, 128)) + b"\\\"q\" \\\\ \\u0041 "; open(sys.argv[1], "wb").write((u * (int(sys.argv[2]) // len(u) + 1))[:int(sys.argv[2])].rstrip(b"\n") or b"x")' \
      "$BATS_TEST_TMPDIR/p" "$size"
    run --separate-stderr "$QUERY" "$(cat "$BATS_TEST_TMPDIR/p")"
    assert_success
    assert_output ' ok'
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "argument, $size bytes"
    run --separate-stderr "$QUERY" --timeout 30 <"$BATS_TEST_TMPDIR/p"
    assert_success
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "stdin, $size bytes"
  done
}

@test "query: a usage error leaves the early curl without a request, and no process behind" {
  start_stub
  local before pid stub_pid others=()
  before=$(stub_request_count)
  run --separate-stderr "$QUERY" --max-tokens 0 hello
  assert_failure 2
  run --separate-stderr "$QUERY" --help
  assert_success
  sleep 0.5 # the early curl reads an empty configuration and ends
  assert_equal "$(stub_request_count)" "$before"
  stub_pid=$(head -n 1 "$TEST_PIDS_FILE")
  while read -r pid; do
    [[ "$pid" == "$stub_pid" ]] || others+=("$pid")
  done < <(test_processes | sort -u)
  assert_equal "${others[*]-}" ''
}

@test "query: a prompt that is not UTF-8 is refused (exit 2, nothing sent) at every size" {
  start_stub
  local size
  for size in 1000 $((BULK_BYTES - 1)) $((BULK_BYTES + 1)) 4000000; do
    write_bytes "$BATS_TEST_TMPDIR/p" "$size"
    run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/p"
    assert_failure 2
    assert_equal "$stderr" "gpt-oss-query.sh: the prompt is not UTF-8 text (see gpt-oss-query.sh --help)"
  done
  write_bytes "$BATS_TEST_TMPDIR/p" 100000
  run --separate-stderr "$QUERY" "$(cat "$BATS_TEST_TMPDIR/p")"
  assert_failure 2
  assert_equal "$(stub_request_count)" 0
}

@test "query: one trailing newline of stdin is dropped on both sides of the threshold; an argument keeps it" {
  start_stub STUB_N_CTX=100000000 STUB_REPLY=' ok'
  local size
  for size in 1000 20000 $BULK_BYTES 4000000; do
    write_bytes "$BATS_TEST_TMPDIR/p" "$size" utf8
    { cat "$BATS_TEST_TMPDIR/p"; echo; } >"$BATS_TEST_TMPDIR/stdin"
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

@test "local-infer --raw: 4 MB of every byte value UTF-8 carries arrive exact (plain, --stream, --json, OpenAI backend)" {
  start_stub STUB_N_CTX=100000000
  write_bytes "$BATS_TEST_TMPDIR/p" 4000000 utf8
  local flags
  for flags in "" "--stream" "--json" "--backend openai"; do
    # shellcheck disable=SC2086 # the flags are words
    run --separate-stderr "$INFER" --raw $flags <"$BATS_TEST_TMPDIR/p"
    assert_success
    sent_prompt_is "$BATS_TEST_TMPDIR/p" || fail "--raw $flags"
  done
  write_bytes "$BATS_TEST_TMPDIR/p" 100000 utf8
  run --separate-stderr "$INFER" --raw --stream "$(cat "$BATS_TEST_TMPDIR/p")"
  assert_success
  sent_prompt_is "$BATS_TEST_TMPDIR/p"
  write_bytes "$BATS_TEST_TMPDIR/p" 4000000 # not UTF-8
  run --separate-stderr "$INFER" --raw <"$BATS_TEST_TMPDIR/p"
  assert_failure 2
  assert_equal "$stderr" "local-infer.sh: the prompt is not UTF-8 text (see local-infer.sh --help)"
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

# big_reply FILE SIZE [harmony] → a JSON array for STUB_REPLIES_FILE: one reply of SIZE
# bytes with every control character, quotes, backslashes and UTF-8; FILE.txt gets the
# text. With `harmony` the reply is an analysis message, then that text as the final one.
big_reply() {
  python3 - "$@" <<'PY'
import json, sys
path, size = sys.argv[1], int(sys.argv[2])
unit = "".join(map(chr, range(1, 128))) + 'é "q" \\ 日本 😀 \\u0041\n'
text = (unit * (size // len(unit.encode()) + 1)).encode()[:size].decode("utf-8", "ignore")
reply = text
if len(sys.argv) > 3:
    reply = "<|channel|>analysis<|message|>a thought<|end|><|start|>assistant<|channel|>final<|message|>" + text
open(path, "w", encoding="utf-8").write(json.dumps([reply], ensure_ascii=False))
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
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit((d["content"] + "\n").encode() != open(sys.argv[2], "rb").read())' \
      "$BATS_TEST_TMPDIR/out" "$want" || fail "query --json, $size bytes"
    "$INFER" --raw -n 100000000 x >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "--raw, $size bytes"
    "$INFER" --raw --stream -n 100000000 x >"$BATS_TEST_TMPDIR/out"
    cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "--raw --stream, $size bytes"
    for flags in --json "--stream --json"; do
      # shellcheck disable=SC2086 # the flags are words
      "$INFER" --raw $flags -n 100000000 x >"$BATS_TEST_TMPDIR/out"
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit((d["text"] + "\n").encode() != open(sys.argv[2], "rb").read())' \
        "$BATS_TEST_TMPDIR/out" "$want" || fail "--raw $flags, $size bytes"
    done
  done
}

@test "an 8 MB Harmony reply's final text prints exact through local-infer.sh and gpt-oss-py chat" {
  # Time and memory at 1-50 MB: make bench's size sweep; here the bytes.
  local want=$BATS_TEST_TMPDIR/replies.txt
  big_reply "$BATS_TEST_TMPDIR/replies" 8000000 harmony
  printf '\n' >>"$want" # the text does not end in a newline: the scripts add one
  start_stub STUB_REPLIES_FILE="$BATS_TEST_TMPDIR/replies" STUB_N_CTX=100000000
  "$INFER" -n 50000000 hello >"$BATS_TEST_TMPDIR/out"
  cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "local-infer.sh (Harmony)"
  "$SUITE_ROOT/.venv/bin/gpt-oss-py" chat --max-tokens 50000000 hello >"$BATS_TEST_TMPDIR/out"
  cmp "$BATS_TEST_TMPDIR/out" "$want" || fail "gpt-oss-py chat"
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
  local kind
  for kind in "" utf8; do
    write_bytes "$BATS_TEST_TMPDIR/p" 100000 $kind
    in_plain_bash 'IFS= read -r -d "" p <"$BATS_TEST_TMPDIR/p" || true; json_escape_to e "$p"; printf "%s" "$e"' \
      >"$BATS_TEST_TMPDIR/bash"
    # escape() passes any bytes through; the command refuses a prompt that is not UTF-8.
    "$SUITE_ROOT/.venv/bin/python" -E -S -c 'import sys; sys.path.insert(0, sys.argv[1]); from gpt_oss_suite.json_bulk import escape; sys.stdout.buffer.write(escape(sys.stdin.buffer.read()))' \
      "$SUITE_ROOT/py" <"$BATS_TEST_TMPDIR/p" >"$BATS_TEST_TMPDIR/python"
    cmp "$BATS_TEST_TMPDIR/bash" "$BATS_TEST_TMPDIR/python" || fail "${kind:-bytes}"
  done
  run json_bulk escape --keep-newline <"$BATS_TEST_TMPDIR/p"
  assert_success
  assert_output "$(cat "$BATS_TEST_TMPDIR/bash")"
  write_bytes "$BATS_TEST_TMPDIR/p" 300 # bytes 0x80-0xff too: not UTF-8
  run json_bulk escape <"$BATS_TEST_TMPDIR/p"
  assert_failure 3
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
