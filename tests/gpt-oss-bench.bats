#!/usr/bin/env bats
# scripts/gpt-oss-bench.sh against the stub llama-server: options, outputs, errors, and
# prompts that must reach the server byte-for-byte.

bats_require_minimum_version 1.5.0
load helpers/test_helper

BENCH="$SUITE_ROOT/scripts/gpt-oss-bench.sh"

setup() { common_setup; }
teardown() { common_teardown; }

completion_prompts_equal() { # completion_prompts_equal FILE → every /completion prompt == FILE's bytes
  python3 - "$STUB_DIR" "$1" <<'PY'
import json, sys
stub, expected = sys.argv[1], open(sys.argv[2], "rb").read().decode("utf-8")
n = 0
for i, line in enumerate(open(f"{stub}/requests.jsonl", encoding="utf-8"), 1):
    entry = json.loads(line)
    if entry["path"] != "/completion":
        continue
    n += 1
    body = json.loads(open(f"{stub}/body-{i}", "rb").read())
    if body["prompt"] != expected:
        sys.exit(f"request {i}: prompt {body['prompt']!r} != {expected!r}")
if n == 0:
    sys.exit("no /completion request")
print(n)
PY
}

completion_count() {
  if [[ -f "$STUB_DIR/requests.jsonl" ]]; then
    grep -c '"path": "/completion"' "$STUB_DIR/requests.jsonl" || true
  else
    echo 0
  fi
}

@test "bench --help prints the usage block" {
  run --separate-stderr "$BENCH" --help
  assert_success
  assert_line --index 0 "Usage: gpt-oss-bench.sh [options] [N]"
  assert_output --partial "--concurrency K"
  assert_output --partial "CSV columns:"
}

@test "bench rejects a non-numeric N with exit 2" {
  run --separate-stderr "$BENCH" ten
  assert_failure 2
  [[ "$stderr" == "gpt-oss-bench.sh: N must be a whole number >= 1, got 'ten' (see gpt-oss-bench.sh --help)" ]]
}

@test "bench rejects N=0, two Ns, unknown options and bad numbers with exit 2" {
  run --separate-stderr "$BENCH" 0
  assert_failure 2
  run --separate-stderr "$BENCH" 3 4
  assert_failure 2
  run --separate-stderr "$BENCH" --frobnicate
  assert_failure 2
  run --separate-stderr "$BENCH" -n x 3
  assert_failure 2
  run --separate-stderr "$BENCH" -c 0 3
  assert_failure 2
  run --separate-stderr "$BENCH" --warmup -1 3
  assert_failure 2
  run --separate-stderr "$BENCH" --json --csv 3
  assert_failure 2
  [[ "$stderr" == *"exclude each other"* ]]
}

@test "bench runs N streaming requests, one stderr line each, summary on stdout" {
  start_stub
  run --separate-stderr "$BENCH" 3
  assert_success
  [[ $(completion_count) == 3 ]]
  body=$(stub_last_body)
  [[ $(json_get 'd["n_predict"], d["stream"], d["temperature"], d["cache_prompt"], d["ignore_eos"]' <<<"$body") == "8 True 0 False True" ]]
  [[ "$stderr" =~ gpt-oss-bench.sh:\ run\ 1/3:\ [0-9]+\.[0-9]\ ms,\ TTFT\ [0-9]+\.[0-9]\ ms,\ 1\ tokens ]]
  [[ "$stderr" == *"run 3/3:"* ]]
  [[ "$stderr" != *$'\r'* ]] # no progress bar off a terminal
  assert_line --partial "runs          3 x 8 tokens, concurrency 1, warm-up 0"
  assert_line --regexp '^latency ms +min [0-9.]+ +mean [0-9.]+ +stdev [0-9.]+$'
  assert_line --regexp '^ +p50 [0-9.]+ +p90 [0-9.]+ +p95 [0-9.]+ +p99 [0-9.]+ +max [0-9.]+$'
  assert_line --regexp '^TTFT ms +p50 [0-9.]+ +p95 [0-9.]+'
  assert_line --partial "decode        100.0 tok/s (median, server timings)"
  assert_line --partial "prompt        2000.0 tok/s (median, server timings)"
  assert_line --regexp '^spikes +[0-9]+ \(runs over 2x p50'
}

@test "bench defaults to 10 runs and honours -n/--max-tokens and --url" {
  start_stub
  url=$GPT_OSS_URL
  export GPT_OSS_URL=http://127.0.0.1:1 # --url wins over the environment
  run --separate-stderr "$BENCH" --url "$url" -n 3
  assert_success
  [[ $(completion_count) == 10 ]]
  [[ $(json_get 'd["n_predict"]' <<<"$(stub_last_body)") == 3 ]]
  run --separate-stderr "$BENCH" --url="$url" --max-tokens=5 1
  assert_success
  [[ $(json_get 'd["n_predict"]' <<<"$(stub_last_body)") == 5 ]]
}

@test "bench sends a -p prompt with quotes, backslashes, control bytes and unicode byte-for-byte" {
  start_stub STUB_N_CTX=4096
  prompt=$'say "hi" \\ back\\slash\ttab\nnew line $(date) `x` \x01\x1f caf\xc3\xa9 \xf0\x9f\x98\x80 \\u0041'
  printf '%s' "$prompt" >"$BATS_TEST_TMPDIR/expected"
  run --separate-stderr "$BENCH" -p "$prompt" 2
  assert_success
  run completion_prompts_equal "$BATS_TEST_TMPDIR/expected"
  assert_success
  assert_output 2
}

@test "bench --prompt-file sends the file's bytes, minus one trailing newline" {
  start_stub STUB_N_CTX=4096
  printf 'line one\n\n  "quoted" \\ tab\there\n\n' >"$BATS_TEST_TMPDIR/prompt.txt"
  printf 'line one\n\n  "quoted" \\ tab\there\n' >"$BATS_TEST_TMPDIR/expected"
  run --separate-stderr "$BENCH" --prompt-file "$BATS_TEST_TMPDIR/prompt.txt" 2
  assert_success
  run completion_prompts_equal "$BATS_TEST_TMPDIR/expected"
  assert_success
}

@test "bench reads the prompt from stdin with -p - or --prompt-file -" {
  start_stub STUB_N_CTX=4096
  printf 'from "stdin"\twith tab' >"$BATS_TEST_TMPDIR/expected"
  run --separate-stderr bash -c 'printf "from \"stdin\"\twith tab\n" | "$0" -p - 1' "$BENCH"
  assert_success
  run completion_prompts_equal "$BATS_TEST_TMPDIR/expected"
  assert_success
  run --separate-stderr bash -c 'printf "from \"stdin\"\twith tab" | "$0" --prompt-file - 1' "$BENCH"
  assert_success
  run completion_prompts_equal "$BATS_TEST_TMPDIR/expected"
  assert_success
}

@test "bench sends a 200 KB prompt intact" {
  start_stub STUB_N_CTX=100000
  python3 -c 'import sys; sys.stdout.write(("w" * 99 + " ") * 2000)' >"$BATS_TEST_TMPDIR/expected"
  run --separate-stderr "$BENCH" --prompt-file "$BATS_TEST_TMPDIR/expected" 1
  assert_success
  run completion_prompts_equal "$BATS_TEST_TMPDIR/expected"
  assert_success
}

@test "bench refuses an empty prompt clearly (exit 2), before any request" {
  start_stub
  run --separate-stderr "$BENCH" -p '' 3
  assert_failure 2
  [[ "$stderr" == "gpt-oss-bench.sh: the prompt is empty (see gpt-oss-bench.sh --help)" ]]
  : >"$BATS_TEST_TMPDIR/empty"
  run --separate-stderr "$BENCH" --prompt-file "$BATS_TEST_TMPDIR/empty" 3
  assert_failure 2
  [[ "$stderr" == *"the prompt is empty"* ]]
  run --separate-stderr bash -c 'printf "\n" | "$0" -p - 3' "$BENCH"
  assert_failure 2
  run --separate-stderr "$BENCH" --prompt-file "$BATS_TEST_TMPDIR/missing" 3
  assert_failure 2
  [[ "$stderr" == *"cannot read the prompt file"* ]]
  [[ $(completion_count) == 0 ]]
}

@test "bench exits 3 with the reason when nothing answers" {
  export GPT_OSS_URL="http://127.0.0.1:$(free_port)"
  run --separate-stderr "$BENCH" 3
  assert_failure 3
  [[ "$stderr" == "gpt-oss-bench.sh: server not reachable at $GPT_OSS_URL ("*"is gpt-oss-fast.sh running?)" ]]
  [[ "$stderr" == *"Couldn't connect"* || "$stderr" == *"Failed to connect"* ]]
}

@test "bench exits 4 while the model is loading" {
  start_stub STUB_LOADING_SECS=30
  run --separate-stderr "$BENCH" 3
  assert_failure 4
  [[ "$stderr" == *"still loading the model"* ]]
}

@test "bench exits 5 when the prompt does not fit the per-slot context" {
  start_stub STUB_N_CTX=4
  run --separate-stderr "$BENCH" -p "one two three four five six" 3
  assert_failure 5
  [[ "$stderr" == "gpt-oss-bench.sh: run 1: the prompt is 6 tokens but the per-slot context is 4 tokens; raise GPT_OSS_CTX (and restart the server) or shorten the prompt" ]]
}

@test "bench exits 6 when the server drops the connection" {
  start_stub STUB_DIE_ON_REQUEST=1
  run --separate-stderr "$BENCH" 3
  assert_failure 6
  [[ "$stderr" == *"run 1: the server at $GPT_OSS_URL closed the connection"* ]]
}

@test "bench sends GPT_OSS_API_KEY as a bearer token, and says so when it is missing" {
  start_stub STUB_API_KEY=s3cret
  run --separate-stderr "$BENCH" 2
  assert_failure 6
  [[ "$stderr" == *"needs an API key: set GPT_OSS_API_KEY"* ]]
  GPT_OSS_API_KEY=s3cret run --separate-stderr "$BENCH" 2
  assert_success
  grep -q '"Authorization": "Bearer s3cret"' "$STUB_DIR/requests.jsonl"
}

@test "bench --json prints the documented summary" {
  start_stub STUB_MODEL_PATH=/models/gpt-oss-20b-Q4_0.gguf
  run --separate-stderr "$BENCH" --json -n 4 4
  assert_success
  [[ "$stderr" == *"gpt-oss-bench.sh: 4 runs: p50 "* ]]
  json=$output
  [[ $(json_get 'd["schema"], d["tool"], d["runs"], d["url"] == "'"$GPT_OSS_URL"'", d["model"]' <<<"$json") == "1 gpt-oss-bench 4 True /models/gpt-oss-20b-Q4_0.gguf" ]]
  [[ $(json_get 'd["params"]' <<<"$json") == "{'runs': 4, 'warmup': 0, 'max_tokens': 4, 'concurrency': 1, 'prompt_bytes': 33}" ]]
  [[ $(json_get 'sorted(d["latency_ms"])' <<<"$json") == "['count', 'max', 'mean', 'min', 'p50', 'p90', 'p95', 'p99', 'spikes', 'stdev']" ]]
  [[ $(json_get 'd["latency_ms"]["count"], d["ttft_ms"]["count"], d["decode_tps_median"], d["prompt_tps_median"]' <<<"$json") == "4 4 100.0 2000.0" ]]
  [[ $(json_get 'd["ttft_ms"]["p50"] <= d["latency_ms"]["p50"], d["spike_threshold_ms"] == 2 * d["latency_ms"]["p50"]' <<<"$json") == "True True" ]]
  [[ $(json_get 'sorted(d["aggregate"]), d["aggregate"]["tokens"], d["compare"]' <<<"$json") == "['decode_tps', 'requests_per_s', 'tokens', 'wall_ms'] 4 None" ]]
  [[ $(json_get '"rows" in d' <<<"$json") == False ]]
}

@test "bench --csv prints one row per measured run" {
  start_stub
  run --separate-stderr "$BENCH" --csv --warmup 1 3
  assert_success
  assert_line --index 0 "run,client,start_ms,ms,ttft_ms,prompt_n,prompt_ms,prompt_tps,predicted_n,predicted_ms,decode_tps"
  [[ ${#lines[@]} == 4 ]]
  assert_line --index 1 --regexp '^1,1,0,[0-9.]+,[0-9.]+,6,3,2000,1,10,100$'
  [[ "$stderr" == *"warm-up 1/1:"* ]]
  [[ $(completion_count) == 4 ]]
}

@test "bench --warmup K sends K more requests that are not counted" {
  start_stub
  run --separate-stderr "$BENCH" --json --warmup 2 3
  assert_success
  [[ $(completion_count) == 5 ]]
  [[ $(json_get 'd["runs"], d["params"]["warmup"]' <<<"$output") == "3 2" ]]
}

@test "bench --histogram goes to stdout with the text summary, to stderr with --json" {
  start_stub
  run --separate-stderr "$BENCH" --histogram 4
  assert_success
  assert_line "latency histogram (ms)"
  assert_line --regexp '^ +[0-9.]+ - +[0-9.]+ \| #+ +[0-9]+$'
  run --separate-stderr "$BENCH" --histogram --json 4
  assert_success
  json_get 'd["runs"]' <<<"$output"
  [[ "$stderr" == *"latency histogram (ms)"* ]]
}

@test "bench -c K runs K clients and reports aggregate throughput" {
  start_stub STUB_DELAY_MS=50
  run --separate-stderr "$BENCH" --json -c 2 4
  assert_success
  [[ $(completion_count) == 4 ]]
  [[ $(json_get 'd["runs"], d["params"]["concurrency"], d["aggregate"]["tokens"]' <<<"$output") == "4 2 4" ]]
  # Two clients overlap: the wall time is well under the sum of the runs.
  [[ $(json_get 'd["aggregate"]["wall_ms"] < 0.8 * 4 * d["latency_ms"]["mean"]' <<<"$output") == True ]]
  [[ "$stderr" == *"(client 1)"* && "$stderr" == *"(client 2)"* ]]
}

@test "bench refuses more clients than the server has slots" {
  start_stub STUB_SLOTS=2
  run --separate-stderr "$BENCH" -c 3 6
  assert_failure 2
  [[ "$stderr" == *"--concurrency 3 is more than the server's 2 slots"* ]]
  [[ $(completion_count) == 0 ]]
}

@test "bench stops with the server's error when a concurrent client fails" {
  start_stub STUB_N_CTX=4
  run --separate-stderr "$BENCH" -c 2 -p "one two three four five" 4
  assert_failure 5
  [[ "$stderr" == *"the prompt is 5 tokens but the per-slot context is 4 tokens"* ]]
}

@test "bench --save keeps summary and rows; --compare shows the change" {
  start_stub
  run --separate-stderr "$BENCH" --save "$BATS_TEST_TMPDIR/base.json" 3
  assert_success
  [[ $(json_get 'd["runs"], len(d["rows"]), sorted(d["rows"][0])[:3]' <"$BATS_TEST_TMPDIR/base.json") == "3 3 ['client', 'decode_tps', 'ms']" ]]
  run --separate-stderr "$BENCH" --compare "$BATS_TEST_TMPDIR/base.json" 3
  assert_success
  assert_line --partial "compared with $BATS_TEST_TMPDIR/base.json"
  assert_line --regexp '^  p50 ms +[0-9.]+ -> [0-9.]+ \([-+][0-9.]+%\)$'
  assert_line --regexp '^  decode tok/s +100.0 -> 100.0 \(\+0.0%\)$'
  run --separate-stderr "$BENCH" --json --compare "$BATS_TEST_TMPDIR/base.json" 3
  assert_success
  [[ $(json_get 'sorted(d["compare"]), d["compare"]["decode_tps_median"]["pct"]' <<<"$output") == "['created', 'decode_tps_median', 'file', 'latency_ms', 'prompt_tps_median', 'ttft_ms'] 0.0" ]]
}

@test "bench checks --compare and --save before sending anything" {
  start_stub
  run --separate-stderr "$BENCH" --compare "$BATS_TEST_TMPDIR/none.json" 3
  assert_failure 2
  [[ "$stderr" == *"cannot read --compare file"* ]]
  echo '{"something": "else"}' >"$BATS_TEST_TMPDIR/other.json"
  run --separate-stderr "$BENCH" --compare "$BATS_TEST_TMPDIR/other.json" 3
  assert_failure 2
  [[ "$stderr" == *"is not a summary saved by gpt-oss-bench.sh --save"* ]]
  run --separate-stderr "$BENCH" --save "$BATS_TEST_TMPDIR/no/such/dir/x.json" 3
  assert_failure 2
  [[ $(completion_count) == 0 ]]
}

@test "bench leaves its summary in the state dir for gpt-oss-status.sh" {
  start_stub
  run --separate-stderr "$BENCH" 2
  assert_success
  state="$XDG_STATE_HOME/gpt-oss/last-bench.json"
  [[ $(json_get 'd["runs"], d["decode_tps_median"], "rows" in d' <"$state") == "2 100.0 False" ]]
  [[ -z $(find "$XDG_STATE_HOME/gpt-oss" -name '.bench-*') ]]
  [[ -z $(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'gpt-oss-bench.*' -newer "$state" 2>/dev/null) ]]
}

@test "bench draws a progress bar on a terminal, and not with NO_COLOR" {
  start_stub
  # A terminal that can draw, whatever the caller's TERM (dumb drops the bar, rightly).
  run env -u NO_COLOR TERM=xterm script -qec "'$BENCH' 3 >/dev/null" /dev/null
  assert_success
  [[ "$output" == *$'\r'*"[##############################] 3/3"* ]]
  run env NO_COLOR=1 TERM=xterm script -qec "'$BENCH' 3 >/dev/null" /dev/null
  assert_success
  [[ "$output" != *"[###"* ]]
  [[ "$output" == *"run 3/3:"* ]]
}
