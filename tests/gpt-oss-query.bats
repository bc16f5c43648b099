#!/usr/bin/env bats
# scripts/gpt-oss-query.sh against the stub llama-server (tests/helpers/stub_llama_server.py).
# Python appears only on the test side: to decode what the stub recorded and to serve
# canned replies the stub does not produce.

QUERY="$BATS_TEST_DIRNAME/../scripts/gpt-oss-query.sh"

setup() {
  load helpers/test_helper
  common_setup
}

teardown() {
  common_teardown
}

# prompt_sent N FILE → request N's JSON "prompt", decoded, equals FILE's bytes exactly
prompt_sent() {
  python3 - "$STUB_DIR/body-$1" "$2" <<'PY'
import json, sys
body = json.loads(open(sys.argv[1], "rb").read())
want = open(sys.argv[2], "rb").read()
got = body["prompt"].encode("utf-8", "surrogateescape")
if got != want:
    sys.exit(f"the server got {got[:120]!r}\n    but the prompt was {want[:120]!r}")
PY
}

# request_field N KEY → that top-level field of request N's body, as JSON
request_field() {
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
    "$STUB_DIR/body-$1" "$2"
}

# start_canned STATUS FILE → a server answering every POST with STATUS and FILE's bytes
# (for replies the stub never writes, such as \u escapes); exports CANNED_URL.
start_canned() {
  local port pid tries=0
  port=$(free_port)
  python3 - "$port" "$1" "$2" >/dev/null 2>&1 3>&- <<'PY' &
import http.server, sys
port, status, body = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "rb").read()
class Canned(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Canned).serve_forever()
PY
  pid=$!
  echo "$pid" >>"$TEST_PIDS_FILE"
  until (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    ((tries++ < 100)) || return 1
    sleep 0.05
  done
  export CANNED_URL="http://127.0.0.1:$port"
}

# The nasty prompt: quotes, backslashes, every control character but NUL, shell syntax,
# glob characters, UTF-8 and emoji. No trailing newline (see the stdin rule).
write_nasty_prompt() { # write_nasty_prompt FILE
  local code char text=$'say "hi" \\ C:\\dir\\n \\u0041 $(touch /tmp/pwned) `id` ${HOME} & * ? [x] ~\n\ttab\r\n'
  for ((code = 1; code < 32; code++)); do
    printf -v char "\\x$(printf '%02x' "$code")"
    text+=$char
  done
  text+=$'\x7f é 日本 😀 👩‍💻 end'
  printf '%s' "$text" >"$1"
}

@test "prints only the completion text of a prompt given as an argument" {
  start_stub STUB_REPLY=' 2'
  run --separate-stderr "$QUERY" "1+1="
  assert_success
  assert_output ' 2'
  assert_equal "$stderr" ''
  assert_equal "$(request_field 1 prompt)" '"1+1="'
}

@test "reads the prompt from stdin, without the trailing newline echo adds" {
  start_stub STUB_REPLY=' 2'
  run bash -c 'echo "1+1=" | "$1"' _ "$QUERY"
  assert_success
  assert_output ' 2'
  printf '%s' '1+1=' >"$BATS_TEST_TMPDIR/want"
  prompt_sent 1 "$BATS_TEST_TMPDIR/want"
}

@test "reads stdin when the prompt argument is -" {
  start_stub
  run bash -c 'printf "from stdin" | "$1" -n 3 -' _ "$QUERY"
  assert_success
  assert_output '2'
  assert_equal "$(request_field 1 prompt)" '"from stdin"'
}

@test "sends the documented request to /completion with the defaults" {
  start_stub
  run "$QUERY" "hello"
  assert_success
  run python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = lines[-1]
body = json.load(open(sys.argv[2]))
assert r["method"] == "POST" and r["path"] == "/completion", r
assert body == {"prompt": "hello", "n_predict": 8, "temperature": 0, "cache_prompt": True,
                "response_fields": ["content", "truncated"]}, body
print("ok")' "$STUB_DIR/requests.jsonl" "$STUB_DIR/body-1"
  assert_output ok
}

@test "--json asks for the whole reply (no response_fields)" {
  start_stub
  run "$QUERY" --json "hello"
  assert_success
  run python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))))' "$STUB_DIR/body-1"
  assert_output "['cache_prompt', 'n_predict', 'prompt', 'temperature']"
}

@test "-n and -t values are sent as JSON numbers" {
  start_stub
  run "$QUERY" -n 3 -t 0.7 "x"
  assert_success
  assert_equal "$(request_field 1 n_predict)" 3
  assert_equal "$(request_field 1 temperature)" 0.7
  run "$QUERY" --max-tokens=016 --temperature=.5 "x"
  assert_success
  assert_equal "$(request_field 2 n_predict)" 16
  assert_equal "$(request_field 2 temperature)" 0.5
}

@test "a nasty prompt reaches the server byte for byte (argument)" {
  start_stub
  write_nasty_prompt "$BATS_TEST_TMPDIR/prompt"
  run --separate-stderr "$QUERY" "$(<"$BATS_TEST_TMPDIR/prompt")"
  assert_success
  prompt_sent 1 "$BATS_TEST_TMPDIR/prompt"
  [[ ! -e /tmp/pwned ]]
}

@test "a nasty prompt reaches the server byte for byte (stdin, one newline dropped)" {
  start_stub
  write_nasty_prompt "$BATS_TEST_TMPDIR/prompt"
  { cat "$BATS_TEST_TMPDIR/prompt"; printf '\n\n'; } >"$BATS_TEST_TMPDIR/stdin"
  { cat "$BATS_TEST_TMPDIR/prompt"; printf '\n'; } >"$BATS_TEST_TMPDIR/want"
  run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/stdin"
  assert_success
  prompt_sent 1 "$BATS_TEST_TMPDIR/want"
}

@test "a 200 KB prompt goes through stdin and reaches the server intact" {
  start_stub STUB_N_CTX=1000000
  python3 -c '
import sys
line = "The \"quick\" brown fox\tjumps over C:\\temp $(x) é 日本 😀 {\"k\": [1]}\n"
sys.stdout.write(line * (200_000 // len(line) + 1) + "end")' >"$BATS_TEST_TMPDIR/prompt"
  run --separate-stderr "$QUERY" <"$BATS_TEST_TMPDIR/prompt"
  assert_success
  assert_output '2'
  prompt_sent 1 "$BATS_TEST_TMPDIR/prompt"
}

@test "\\u escapes and surrogate pairs in the reply print as the characters" {
  printf '%s' '{"index":0,"content":" caf\u00e9 \u65e5\u672c \ud83d\ude00 \"q\" \\ tab\there","stop":true,"truncated":false}' \
    >"$BATS_TEST_TMPDIR/reply"
  start_canned 200 "$BATS_TEST_TMPDIR/reply"
  run --separate-stderr "$QUERY" --url "$CANNED_URL" "x"
  assert_success
  assert_output $' café 日本 😀 "q" \\ tab\there'
}

@test "control characters in the reply come back as bytes" {
  start_stub STUB_REPLY=$'a\x01b\x1fc'
  run "$QUERY" "x"
  assert_success
  assert_output $'a\x01b\x1fc'
}

@test "a newline is added only when the text lacks one" {
  printf '%s' '["2", "2\n", ""]' >"$BATS_TEST_TMPDIR/replies"
  start_stub STUB_REPLIES_FILE="$BATS_TEST_TMPDIR/replies"
  "$QUERY" "a" >"$BATS_TEST_TMPDIR/out1"
  "$QUERY" "a" >"$BATS_TEST_TMPDIR/out2"
  "$QUERY" "a" >"$BATS_TEST_TMPDIR/out3"
  assert_equal "$(od -An -c "$BATS_TEST_TMPDIR/out1" | tr -s ' ')" ' 2 \n'
  assert_equal "$(od -An -c "$BATS_TEST_TMPDIR/out2" | tr -s ' ')" ' 2 \n'
  assert_equal "$(od -An -c "$BATS_TEST_TMPDIR/out3" | tr -s ' ')" ' \n'
}

@test "--json prints the server's raw JSON reply" {
  start_stub STUB_REPLY=' 2'
  run --separate-stderr "$QUERY" --json "1+1="
  assert_success
  run python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["content"] == " 2" and "timings" in r and r["prompt"] == "1+1=", r
print("ok")' "$output"
  assert_output ok
}

@test "GPT_OSS_URL is the default server and --url overrides it" {
  start_stub
  run "$QUERY" "x"
  assert_success
  GPT_OSS_URL=http://127.0.0.1:9 run "$QUERY" --url "$STUB_URL/" "x"
  assert_success
  assert_equal "$(stub_request_count)" 2
}

@test "unreachable server: exit 3 and one line" {
  local port
  port=$(free_port)
  run --separate-stderr "$QUERY" --url "http://127.0.0.1:$port" "x"
  assert_failure 3
  assert_output ''
  assert_equal "$stderr" "gpt-oss-query.sh: server not reachable at http://127.0.0.1:$port (is gpt-oss-fast.sh running?)"
}

@test "model still loading (503): exit 4 and one line" {
  start_stub STUB_LOADING_SECS=60
  run --separate-stderr "$QUERY" "x"
  assert_failure 4
  assert_output ''
  [[ "$stderr" == "gpt-oss-query.sh: the server at $STUB_URL is still loading the model (HTTP 503: Loading model); retry shortly" ]]
}

@test "prompt over the per-slot context (400): exit 5 with both token counts and the fix" {
  start_stub STUB_N_CTX=4
  run --separate-stderr "$QUERY" "one two three four five six"
  assert_failure 5
  assert_output ''
  assert_equal "$stderr" "gpt-oss-query.sh: the prompt is 6 tokens but the per-slot context is 4 tokens; raise GPT_OSS_CTX (and restart the server) or shorten the prompt"
}

@test "a server that cut the prompt (truncated: true) gets a warning, the text still prints" {
  start_stub STUB_TRUNCATE=1 STUB_N_CTX=4 STUB_REPLY=' 2'
  run --separate-stderr "$QUERY" "one two three four five six"
  assert_success
  assert_output ' 2'
  [[ "$stderr" == "gpt-oss-query.sh: warning: the server cut the prompt to fit its per-slot context"* ]]
  assert_equal "$(wc -l <<<"$stderr")" 1
}

@test "GPT_OSS_API_KEY goes as a bearer token and never on curl's command line" {
  start_stub STUB_API_KEY=s3cret-key
  # A curl first on PATH that records its argv, then runs the real one.
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  cat >"$BATS_TEST_TMPDIR/bin/curl" <<EOF
#!/usr/bin/env bash
printf '%s\n' "\$@" >>"$BATS_TEST_TMPDIR/curl-argv"
exec $(command -v curl) "\$@"
EOF
  chmod +x "$BATS_TEST_TMPDIR/bin/curl"
  GPT_OSS_API_KEY=s3cret-key PATH="$BATS_TEST_TMPDIR/bin:$PATH" run "$QUERY" "x"
  assert_success
  assert_output '2'
  grep -q -- '-4' "$BATS_TEST_TMPDIR/curl-argv"
  run grep -c s3cret "$BATS_TEST_TMPDIR/curl-argv"
  assert_output 0
  run python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["headers"]["Authorization"])' \
    "$STUB_DIR/requests.jsonl"
  assert_output 'Bearer s3cret-key'
}

@test "missing or wrong API key (401): exit 6 naming GPT_OSS_API_KEY" {
  start_stub STUB_API_KEY=s3cret-key
  run --separate-stderr "$QUERY" "x"
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: the server at $STUB_URL needs an API key: set GPT_OSS_API_KEY (HTTP 401: Invalid API Key)"
  GPT_OSS_API_KEY=wrong run --separate-stderr "$QUERY" "x"
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: the server at $STUB_URL rejected GPT_OSS_API_KEY (HTTP 401: Invalid API Key)"
}

@test "other HTTP errors: exit 6 with the server's message" {
  start_stub
  run --separate-stderr "$QUERY" --url "$STUB_URL/nowhere" "x"
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: the server at $STUB_URL/nowhere has no llama.cpp /completion endpoint (HTTP 404: File Not Found); for an OpenAI-compatible server use local-infer.sh --backend openai"
}

@test "a reply that is not JSON: exit 6" {
  printf 'hello, not json' >"$BATS_TEST_TMPDIR/reply"
  start_canned 200 "$BATS_TEST_TMPDIR/reply"
  run --separate-stderr "$QUERY" --url "$CANNED_URL" "x"
  assert_failure 6
  [[ "$stderr" == *'has no "content" text: hello, not json' ]]
}

@test "--timeout: exit 10 when the reply is late" {
  start_stub STUB_DELAY_MS=5000
  run --separate-stderr "$QUERY" --timeout 0.3 "x"
  assert_failure 10
  assert_equal "$stderr" "gpt-oss-query.sh: no complete reply from $STUB_URL within 0.3s (--timeout)"
}

@test "a server that drops the connection: exit 6" {
  start_stub STUB_DIE_ON_REQUEST=1
  run --separate-stderr "$QUERY" "x"
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: the server at $STUB_URL closed the connection without a complete reply (did it crash?)"
}

@test "--help prints the usage header and exits 0" {
  run "$QUERY" --help
  assert_success
  assert_line --index 0 'Usage: gpt-oss-query.sh [options] [PROMPT | -]'
  assert_output --partial '-n, --max-tokens N'
  assert_output --partial 'Exit codes:'
  refute_output --partial 'set -euo pipefail'
  run "$QUERY" -h
  assert_line --index 0 'Usage: gpt-oss-query.sh [options] [PROMPT | -]'
}

@test "bad knobs are usage errors (exit 2) before any request" {
  start_stub
  local bad
  for bad in "-n x" "-n 0" "-n -3" "-n 1.5" "-t hot" "-t -1" "--timeout soon" "--bogus"; do
    # shellcheck disable=SC2086 # word splitting the flag and its value is intended
    run --separate-stderr "$QUERY" $bad "x"
    assert_failure 2
    [[ "$stderr" == gpt-oss-query.sh:*"(see gpt-oss-query.sh --help)" ]] || fail "$bad: $stderr"
  done
  run --separate-stderr "$QUERY" -n
  assert_failure 2
  run --separate-stderr "$QUERY" "two" "prompts"
  assert_failure 2
  assert_equal "$(stub_request_count)" 0
}

@test "an empty prompt is a usage error (exit 2)" {
  start_stub
  run --separate-stderr "$QUERY" ""
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-query.sh: the prompt is empty (see gpt-oss-query.sh --help)"
  run --separate-stderr "$QUERY" </dev/null
  assert_failure 2
  run --separate-stderr bash -c 'echo | "$1"' _ "$QUERY"
  assert_failure 2
  assert_equal "$(stub_request_count)" 0
}

@test "-- lets a prompt start with a dash" {
  start_stub
  run "$QUERY" -- "-5+3="
  assert_success
  assert_equal "$(request_field 1 prompt)" '"-5+3="'
}

@test "the request path runs no python and no jq" {
  start_stub
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  local tool
  for tool in python python3 jq; do
    printf '#!/bin/sh\necho "%s was run" >>"%s"\nexit 99\n' "$tool" "$BATS_TEST_TMPDIR/forbidden" \
      >"$BATS_TEST_TMPDIR/bin/$tool"
    chmod +x "$BATS_TEST_TMPDIR/bin/$tool"
  done
  PATH="$BATS_TEST_TMPDIR/bin:$PATH" run "$QUERY" "x"
  assert_success
  [[ ! -e "$BATS_TEST_TMPDIR/forbidden" ]]
}

@test "leaves no process running, also after a timeout" {
  start_stub STUB_DELAY_MS=300
  run "$QUERY" --timeout 0.1 "x"
  assert_failure 10
  run "$QUERY" "x"
  assert_success
  local pid stub_pid others=()
  stub_pid=$(head -n 1 "$TEST_PIDS_FILE")
  while read -r pid; do
    [[ "$pid" == "$stub_pid" ]] || others+=("$pid")
  done < <(test_processes | sort -u)
  assert_equal "${others[*]-}" ''
}

@test "runs the same from its own folder, as 'bash name.sh', and through a symlink" {
  start_stub STUB_REPLY=' 2'
  ln -s "$SUITE_ROOT/scripts/gpt-oss-query.sh" "$BATS_TEST_TMPDIR/q"
  run --separate-stderr bash -c 'cd "$SUITE_ROOT/scripts" && bash gpt-oss-query.sh "1+1="'
  assert_success
  assert_output " 2"
  run --separate-stderr "$BATS_TEST_TMPDIR/q" "1+1="
  assert_success
  assert_output " 2"
}

@test "the trimmed reply's fast path gets \\n, \\t, \\\" right and leaves \\\\n and others to the JSON reader" {
  local body
  for body in '{"content":"a\nb\tc\"d","truncated":false}' '{"content":"x\\ny \\\\ \u00e9\/","truncated":false}'; do
    printf '%s' "$body" >"$BATS_TEST_TMPDIR/reply"
    common_teardown
    start_canned 200 "$BATS_TEST_TMPDIR/reply"
    run --separate-stderr "$QUERY" --url "$CANNED_URL" "x"
    assert_success
    assert_output "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["content"])' "$body")"
  done
}
