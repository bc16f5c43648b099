#!/usr/bin/env bats
# gpt-oss-fast.sh against the stub llama-server (tests/helpers/bin/llama-server).

setup() {
  load helpers/test_helper
  common_setup
  use_stub_fast
}

teardown() {
  common_teardown
}

# argv_line → the argv the stub was started with, on one line
argv_line() { paste -sd ' ' "$STUB_DIR/argv"; }

@test "--help prints the usage header" {
  run --separate-stderr "$FAST" --help
  assert_success
  assert_line --partial "Usage: gpt-oss-fast.sh [start] [options]"
  assert_line --partial "GPT_OSS_KEEPALIVE_SECS"
  assert_equal "$stderr" ""
}

@test "an unknown argument is a usage error with exit 2" {
  run --separate-stderr "$FAST" --bogus
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: unknown argument '--bogus' (see gpt-oss-fast.sh --help)"
}

@test "a 2026 server gets -lm none and -fa on, never --no-mmap or bare --flash-attn" {
  STUB_HELP=new run --separate-stderr "$FAST" --print-cmd
  assert_success
  assert_output --partial " -b 256 -ub 256 -np 4 -ctk f16 -ctv f16 -kvu --kv-unified-per-slot 12288 -lm none -fa on"
  refute_output --partial "--no-mmap"
  refute_output --partial "--jinja"
  assert_output --partial "--host 127.0.0.1 --port $GPT_OSS_PORT"
}

@test "an Aug-2025 server gets --no-mmap, bare --flash-attn and --jinja" {
  STUB_HELP=old run --separate-stderr "$FAST" --print-cmd
  assert_success
  assert_output --partial " -ctk f16 -ctv f16 -kvu --no-mmap --flash-attn --jinja"
  refute_output --partial "-lm none"
  refute_output --partial "-fa on"
}

@test "a server with neither flag form starts without them and says so once" {
  export STUB_HELP=bare
  run --separate-stderr "$FAST" --no-warmup
  assert_success
  refute_line --partial "--no-mmap"
  run argv_line
  refute_output --partial "mmap"
  refute_output --partial "-fa"
  refute_output --partial "flash"
}

@test "a bare-dialect start prints a one-line notice per missing flag" {
  STUB_HELP=bare run --separate-stderr "$FAST" --print-cmd
  assert_success
  assert_equal "$(grep -c 'notice: this llama-server has neither --load-mode nor --no-mmap' <<<"$stderr")" 1
  assert_equal "$(grep -c 'notice: this llama-server has no --flash-attn' <<<"$stderr")" 1
}

@test "the dialect is cached per binary and read again when the binary changes" {
  # A private copy of the fake binary whose help we can change and whose mtime we control.
  local bin="$BATS_TEST_TMPDIR/bin/llama-server"
  mkdir -p "${bin%/*}"
  printf '#!/usr/bin/env bash\nexec "%s" "$@"\n' "$LLAMA_SERVER" >"$bin"
  chmod +x "$bin"
  touch -d '2025-08-01 00:00' "$bin"
  LLAMA_SERVER=$bin STUB_HELP=old run "$FAST" --print-cmd
  assert_output --partial -- "--no-mmap"
  # Same file, same mtime: the cached answer is used even though --help would now differ.
  LLAMA_SERVER=$bin STUB_HELP=new run "$FAST" --print-cmd
  assert_output --partial -- "--no-mmap"
  # The binary changed (new mtime): detected again.
  touch -d '2026-11-01 00:00' "$bin"
  LLAMA_SERVER=$bin STUB_HELP=new run "$FAST" --print-cmd
  assert_output --partial -- "-lm none -fa on"
}

@test "--print-cmd shell-quotes arguments with spaces" {
  mkdir -p "$BATS_TEST_TMPDIR/my models"
  : >"$BATS_TEST_TMPDIR/my models/a Q4_0.gguf"
  GPT_OSS_MODEL_DIR="$BATS_TEST_TMPDIR/my models" run "$FAST" --print-cmd
  assert_success
  assert_output --partial "my\\ models/a\\ Q4_0.gguf"
  # Nothing was started by a dry run.
  [[ ! -e "$STUB_DIR/argv" ]]
  [[ ! -e "$STATE/server.pid" ]]
}

@test "bad knob values exit 2 with one line and start nothing" {
  local case
  for case in GPT_OSS_CTX=abc GPT_OSS_CTX=-5 GPT_OSS_CTX=0 GPT_OSS_PORT=70000 GPT_OSS_PARALLEL=x \
    GPT_OSS_BATCH=1.5 GPT_OSS_UBATCH=2x GPT_OSS_KV_TYPE=f17 GPT_OSS_KEEPALIVE_SECS=-1 \
    GPT_OSS_START_TIMEOUT=soon "GPT_OSS_HOST=a b" GPT_OSS_RPC=nohost; do
    run --separate-stderr env "$case" "$FAST"
    assert_failure 2
    assert_equal "$(wc -l <<<"$stderr")" 1
    assert_output ""
  done
  assert [ ! -e "$STUB_DIR/argv" ]
  assert [ ! -e "$STATE/server.pid" ]
}

@test "GPT_OSS_CTX=abc names the knob and the bad value" {
  GPT_OSS_CTX=abc run --separate-stderr "$FAST"
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: GPT_OSS_CTX (--ctx) must be a whole number >= 1, got 'abc' (see gpt-oss-fast.sh --help)"
}

@test "flags beat environment variables, which beat defaults" {
  GPT_OSS_CTX=512 GPT_OSS_PARALLEL=2 run "$FAST" --print-cmd --ctx 1024
  assert_output --partial " -c 1024 "
  assert_output --partial " -np 2 "
  GPT_OSS_KV_TYPE=q8_0 GPT_OSS_BATCH=128 GPT_OSS_UBATCH=64 run "$FAST" --print-cmd
  assert_output --partial " -b 128 -ub 64 -np 4 -ctk q8_0 -ctv q8_0 "
}

@test "GPT_OSS_EXTRA_ARGS is appended word by word" {
  GPT_OSS_EXTRA_ARGS="--metrics --threads 2" run "$FAST" --print-cmd
  assert_output --regexp " --metrics --threads 2$"
}

@test "the model pick prefers Q4_0, then other Q4, then Q5-F16, then Q3, then Q2" {
  rm -f "$MODEL_DIR"/*
  local f
  for f in m-Q2_K.gguf m-Q3_K_S.gguf m-F16.gguf m-Q8_0.gguf m-Q4_K_M.gguf m-Q4_0.gguf; do : >"$MODEL_DIR/$f"; done
  run --separate-stderr "$FAST" --print-cmd
  assert_output --partial "$MODEL_DIR/m-Q4_0.gguf"
  rm "$MODEL_DIR/m-Q4_0.gguf"
  run "$FAST" --print-cmd
  assert_output --partial "$MODEL_DIR/m-Q4_K_M.gguf"
  rm "$MODEL_DIR/m-Q4_K_M.gguf"
  run "$FAST" --print-cmd
  assert_output --partial "$MODEL_DIR/m-Q8_0.gguf"
  rm "$MODEL_DIR/m-Q8_0.gguf" "$MODEL_DIR/m-F16.gguf"
  run "$FAST" --print-cmd
  assert_output --partial "$MODEL_DIR/m-Q3_K_S.gguf"
  rm "$MODEL_DIR/m-Q3_K_S.gguf"
  run "$FAST" --print-cmd
  assert_output --partial "$MODEL_DIR/m-Q2_K.gguf"
}

@test "a split model is picked by its first part, and projector files are ignored" {
  rm -f "$MODEL_DIR"/*
  : >"$MODEL_DIR/big-Q4_0-00002-of-00003.gguf"
  : >"$MODEL_DIR/big-Q4_0-00001-of-00003.gguf"
  : >"$MODEL_DIR/big-Q4_0-00003-of-00003.gguf"
  : >"$MODEL_DIR/mmproj-Q4_0.gguf"
  run "$FAST" --print-cmd
  assert_output --partial "$MODEL_DIR/big-Q4_0-00001-of-00003.gguf"
}

@test "the start says which model it picked and why" {
  run --separate-stderr "$FAST" --no-warmup
  assert_success
  assert_line --index 0 "http://127.0.0.1:$GPT_OSS_PORT"
  [[ "$stderr" == *"model: $MODEL_DIR/gpt-oss-20b-Q4_0.gguf (Q4_0: the guide's best all-round quant)"* ]]
}

@test "GPT_OSS_GGUF_MODEL_PATH wins over the model folder" {
  : >"$BATS_TEST_TMPDIR/chosen-Q8_0.gguf"
  GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/chosen-Q8_0.gguf" run "$FAST" --print-cmd
  assert_output --partial "-m $BATS_TEST_TMPDIR/chosen-Q8_0.gguf "
}

@test "no model found names the folder and both variables, with exit 7" {
  GPT_OSS_MODEL_DIR="$BATS_TEST_TMPDIR/nowhere" run --separate-stderr "$FAST"
  assert_failure 7
  assert_equal "$stderr" "gpt-oss-fast.sh: no GGUF model found in $BATS_TEST_TMPDIR/nowhere; set GPT_OSS_GGUF_MODEL_PATH to a .gguf file or GPT_OSS_MODEL_DIR to a folder of them"
  GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/missing.gguf" run --separate-stderr "$FAST"
  assert_failure 7
  assert_output ""
}

@test "the default model folder is ~/models/gpt-oss-20b/gguf" {
  unset GPT_OSS_MODEL_DIR
  run --separate-stderr "$FAST"
  assert_failure 7
  [[ "$stderr" == *"no GGUF model found in $HOME/models/gpt-oss-20b/gguf"* ]]
  mkdir -p "$HOME/models/gpt-oss-20b/gguf"
  : >"$HOME/models/gpt-oss-20b/gguf/gpt-oss-20b-MXFP4.gguf"
  run "$FAST" --print-cmd
  assert_output --partial "$HOME/models/gpt-oss-20b/gguf/gpt-oss-20b-MXFP4.gguf"
}

@test "a server that dies at start-up fails at once with the tail of its log and exit 9" {
  # The 2026 server rejects the guide's --no-mmap.
  GPT_OSS_EXTRA_ARGS=--no-mmap run --separate-stderr "$FAST"
  assert_failure 9
  [[ "$stderr" == *"llama-server exited during start-up"* ]]
  [[ "$stderr" == *"invalid argument: --no-mmap"* ]]
  assert [ ! -e "$STATE/server.pid" ]
}

@test "a loading server (503) is waited for until /health answers 200" {
  STUB_LOADING_SECS=1 run --separate-stderr "$FAST" --json --no-warmup
  assert_success
  local ready_ms
  ready_ms=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ready_ms"])' "$output")
  ((ready_ms >= 1000))
  grep -q '"path": "/health"' "$STUB_DIR/requests.jsonl"
}

@test "a start that runs past --timeout stops the server and exits 10" {
  STUB_LOADING_SECS=30 run --separate-stderr "$FAST" --timeout 1
  assert_failure 10
  [[ "$stderr" == *"was not ready after 1s"* ]]
  local pid
  pid=$(cat "$STUB_DIR/pid")
  run kill -0 "$pid"
  assert_failure
}

@test "every slot is warmed with concurrent requests and the time is reported" {
  run --separate-stderr "$FAST" --parallel 3
  assert_success
  [[ "$stderr" == *"warm-up: 3 requests in "*" ms"* ]]
  # Warm-up requests, told apart from the keepalive loop's one-token requests.
  assert_equal "$(grep -l '"n_predict":4' "$STUB_DIR"/body-* | wc -l)" 3
}

@test "a second start with the same settings reuses the running server" {
  run "$FAST" --no-warmup
  assert_success
  local first_pid
  first_pid=$(cat "$STATE/server.pid")
  run --separate-stderr "$FAST" --no-warmup
  assert_success
  assert_output "http://127.0.0.1:$GPT_OSS_PORT"
  [[ "$stderr" == *"reusing the running llama-server (pid $first_pid)"* ]]
  assert_equal "$(cat "$STATE/server.pid")" "$first_pid"
}

@test "other settings on our running server are refused (exit 8) unless --restart" {
  run "$FAST" --no-warmup
  local first_pid
  first_pid=$(cat "$STATE/server.pid")
  GPT_OSS_CTX=1024 run --separate-stderr "$FAST" --no-warmup
  assert_failure 8
  [[ "$stderr" == *"runs with other settings; use --restart"* ]]
  GPT_OSS_CTX=1024 run --separate-stderr "$FAST" --no-warmup --restart
  assert_success
  refute [ "$(cat "$STATE/server.pid")" = "$first_pid" ]
  run kill -0 "$first_pid"
  assert_failure
  grep -qx -- 1024 "$STUB_DIR/argv"
}

@test "a port held by another program is a clear error naming the port (exit 8)" {
  start_stub
  GPT_OSS_PORT=$STUB_PORT run --separate-stderr "$FAST"
  assert_failure 8
  assert_equal "$stderr" "gpt-oss-fast.sh: port $STUB_PORT on 127.0.0.1 is already in use by another program; stop it or choose another port (GPT_OSS_PORT or --port)"
}

@test "two starts at once leave one server, and both succeed" {
  "$FAST" --no-warmup >"$BATS_TEST_TMPDIR/a.out" 2>"$BATS_TEST_TMPDIR/a.err" &
  local a=$!
  "$FAST" --no-warmup >"$BATS_TEST_TMPDIR/b.out" 2>"$BATS_TEST_TMPDIR/b.err" &
  local b=$!
  wait "$a"
  wait "$b"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/a.out")" "http://127.0.0.1:$GPT_OSS_PORT"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/b.out")" "http://127.0.0.1:$GPT_OSS_PORT"
  run cat "$BATS_TEST_TMPDIR/a.err" "$BATS_TEST_TMPDIR/b.err"
  assert_equal "$(grep -c 'reusing the running llama-server' <<<"$output")" 1
  assert_equal "$(pgrep -fc "bin/llama-server -m $MODEL_DIR")" 1
  assert [ ! -d "$STATE/start.lock" ]
}

@test "a stale lock left by a dead start does not block the next one" {
  mkdir -p "$STATE/start.lock"
  echo 999999 >"$STATE/start.lock/pid"
  run "$FAST" --no-warmup
  assert_success
}

@test "stop ends the server and the keepalive loop and removes the pid files" {
  GPT_OSS_KEEPALIVE_SECS=1 run "$FAST" --no-warmup
  assert_success
  local server keepalive
  server=$(cat "$STATE/server.pid")
  keepalive=$(cat "$STATE/keepalive.pid")
  kill -0 "$server"
  kill -0 "$keepalive"
  run --separate-stderr "$FAST" stop
  assert_success
  run kill -0 "$server"
  assert_failure
  run kill -0 "$keepalive"
  assert_failure
  assert [ ! -e "$STATE/server.pid" ]
  assert [ ! -e "$STATE/keepalive.pid" ]
}

@test "stop with nothing running says so and succeeds" {
  run --separate-stderr "$FAST" stop
  assert_success
  assert_equal "$stderr" "gpt-oss-fast.sh: no server of ours is running; nothing to stop"
}

@test "stop never kills a process that is not ours, even with its pid in the pid file" {
  sleep 60 &
  local stranger=$!
  mkdir -p "$STATE"
  echo "$stranger" >"$STATE/server.pid"
  printf '%s\n' "$LLAMA_SERVER" -m x >"$STATE/server.argv"
  echo "$stranger" >"$STATE/keepalive.pid"
  run "$FAST" stop
  assert_success
  kill -0 "$stranger"
  assert [ ! -e "$STATE/server.pid" ]
  kill "$stranger"
}

@test "the keepalive loop sends tiny requests and ends by itself when the server is gone" {
  GPT_OSS_KEEPALIVE_SECS=1 run "$FAST" --no-warmup
  assert_success
  local keepalive server tries=0
  keepalive=$(cat "$STATE/keepalive.pid")
  server=$(cat "$STATE/server.pid")
  until grep -q '"n_predict":1' "$STUB_DIR"/body-* 2>/dev/null || ((tries++ > 40)); do sleep 0.1; done
  grep -q '"n_predict":1' "$STUB_DIR"/body-*
  kill "$server"
  tries=0
  while kill -0 "$keepalive" 2>/dev/null && ((tries++ < 40)); do sleep 0.1; done
  run kill -0 "$keepalive"
  assert_failure
}

@test "--check answers 0 with the URL when our server is healthy, 3 when none runs" {
  run --separate-stderr "$FAST" --check
  assert_failure 3
  run "$FAST" --no-warmup
  run --separate-stderr "$FAST" --check
  assert_success
  assert_output "http://127.0.0.1:$GPT_OSS_PORT"
}

@test "GPT_OSS_API_KEY protects the server without appearing in its argv" {
  export GPT_OSS_API_KEY="s3cret-key"
  run --separate-stderr "$FAST"
  assert_success
  refute [ "$(grep -c s3cret "$STUB_DIR/argv")" -gt 0 ]
  refute [ "$(grep -c s3cret "$STATE/server.argv")" -gt 0 ]
  grep -q "s3cret" "/proc/$(cat "$STATE/server.pid")/environ"
  # The warm-up requests carried the key, so none failed with 401.
  [[ "$stderr" != *"warm-up request failed"* ]]
  run curl -s -o /dev/null -w '%{http_code}' -d '{"prompt":"x"}' "http://127.0.0.1:$GPT_OSS_PORT/completion"
  assert_output 401
}

@test "GPT_OSS_RPC is passed to --rpc when the binary supports RPC" {
  STUB_RPC=1 GPT_OSS_RPC=10.0.0.2:50052,10.0.0.3:50052 run "$FAST" --print-cmd
  assert_success
  assert_output --partial " --rpc 10.0.0.2:50052,10.0.0.3:50052"
}

@test "GPT_OSS_RPC is refused clearly when the binary was built without RPC" {
  GPT_OSS_RPC=10.0.0.2:50052 run --separate-stderr "$FAST"
  assert_failure 2
  [[ "$stderr" == *"built without RPC support"* ]]
  assert [ ! -e "$STUB_DIR/argv" ]
}

@test "--json prints one JSON object with the URL, argv and per-slot context" {
  run --separate-stderr "$FAST" --json --ctx 2048
  assert_success
  run python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["url"].startswith("http://127.0.0.1:"), d
assert d["reused"] is False and d["n_ctx_per_slot"] == 512 and d["slots"] == 4, d
assert d["argv"][0].endswith("llama-server") and "-c" in d["argv"], d
assert d["quant"] == "Q4_0" and isinstance(d["warmup_ms"], int), d
print("ok")' "$output"
  assert_output ok
}

@test "a per-slot context too small for the tools gets a warning; the default gets none" {
  GPT_OSS_CTX=384 run --separate-stderr "$FAST" --no-warmup
  assert_success
  [[ "$stderr" == *"warning: per-slot context is 256 tokens"*"local-infer.sh --tools falls back to raw"*"unset GPT_OSS_CTX"* ]]
  run --separate-stderr "$FAST" --no-warmup --restart
  assert_success
  [[ "$stderr" != *"warning: per-slot context"* ]]
}

@test "by default a 2026 server shares one unified pool, each request capped at 12288" {
  run --separate-stderr "$FAST" --no-warmup --json
  assert_success
  assert_equal "$(argv_line | grep -oE -- '-c [0-9]+ .*-kvu --kv-unified-per-slot [0-9]+')" \
    "-c 25600 -b 256 -ub 256 -np 4 -ctk f16 -ctv f16 -kvu --kv-unified-per-slot 12288"
  assert_equal "$(output_json_of "$output" 'd["n_ctx_per_slot"], d["ctx"], d["kv_unified"]')" "12288 25600 True"
  [[ "$stderr" == *"context: -c 25600: unified KV: 4 slots share one 25600-token pool, each request at most 12288"* ]]
  [[ "$stderr" != *"restarting"* ]]
}

@test "an Aug-2025 server that divides -kvu per slot is restarted with 12288 per slot, once per binary" {
  export STUB_HELP=old
  run --separate-stderr "$FAST" --no-warmup --json
  assert_success
  [[ "$stderr" == *"this llama-server divides -kvu per slot (/props n_ctx 6400); restarting with 12288 per slot"* ]]
  assert_equal "$(argv_line | grep -oE -- '-c [0-9]+')" "-c 49152"
  refute_output --partial '"-kvu"'
  assert_equal "$(output_json_of "$output" 'd["n_ctx_per_slot"], d["kv_unified"]')" "12288 False"
  # Remembered: the next start goes straight to the per-slot layout, and says why.
  "$FAST" stop 2>/dev/null
  run --separate-stderr "$FAST" --no-warmup
  assert_success
  [[ "$stderr" != *"restarting"* ]]
  [[ "$stderr" == *"context: -c 49152: this llama-server divides -kvu per slot (seen in its /props); 12288 per slot"* ]]
  assert_equal "$(grep -c -- '-kvu' "$STUB_DIR/argv")" 0
}

@test "GPT_OSS_CTX given means the guide's layout: -c N divided per slot, no -kvu" {
  GPT_OSS_CTX=384 run --separate-stderr "$FAST" --print-cmd
  assert_success
  assert_output --partial " -c 384 -b 256 -ub 256 -np 4 -ctk f16 -ctv f16 -lm none -fa on"
  refute_output --partial "-kvu"
  # --print-cmd names every value and where it came from (issue 15), the context last.
  assert_equal "${stderr##*$'\n'}" "gpt-oss-fast.sh: context: -c 384: GPT_OSS_CTX given: divided among the 4 slots as llama-server does"
  [[ "$stderr" == *$'\n'"gpt-oss-fast.sh: batch: 256: default"$'\n'* ]] || fail "$stderr"
}

@test "GPT_OSS_KV_UNIFIED (--kv-unified) forces -kvu on or off; other values exit 2" {
  GPT_OSS_KV_UNIFIED=0 run --separate-stderr "$FAST" --print-cmd
  assert_success
  assert_output --partial " -c 49152 -b 256"
  refute_output --partial "-kvu"
  GPT_OSS_CTX=4096 run --separate-stderr "$FAST" --print-cmd --kv-unified 1
  assert_success
  assert_output --partial " -c 4096 -b 256 -ub 256 -np 4 -ctk f16 -ctv f16 -kvu -lm none"
  run --separate-stderr "$FAST" --print-cmd --kv-unified maybe
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: GPT_OSS_KV_UNIFIED (--kv-unified) must be auto, 1 or 0, got 'maybe' (see gpt-oss-fast.sh --help)"
}

@test "the keepalive stays on the last slot, so a tool loop's cached conversation is not evicted" {
  run --separate-stderr "$FAST" --no-warmup --keepalive 1
  assert_success
  for _ in $(seq 50); do grep -qs '"prompt":"ok"' "$STUB_DIR"/body-* && break; sleep 0.1; done
  run cat $(grep -ls '"prompt":"ok"' "$STUB_DIR"/body-*)
  assert_output --partial '"id_slot":3}'
  refute_output --partial '"id_slot":0'
}

@test "--kv-estimate prints the KV memory of the chosen context from the GGUF header" {
  export GPT_OSS_GGUF_MODEL_PATH
  GPT_OSS_GGUF_MODEL_PATH=$("$SUITE_ROOT/scripts/provision/models.sh" smollm2)
  run --separate-stderr "$FAST" --kv-estimate
  assert_success
  assert_output "KV cache: 562.5 MiB for -c 25600 (one pool shared by 4 slots, f16): 30 full-attention layers x 25600 cells per stream; 22.5 KiB per token of context"
  GPT_OSS_CTX=384 run --separate-stderr "$FAST" --kv-estimate --json
  assert_success
  assert_equal "$(output_json_of "$output" 'd["mib"], d["unified"], d["cells_per_stream"], d["streams"]')" "22.5 False 256 4"
  [[ ! -e "$STUB_DIR/argv" ]] # nothing was started
}

@test "--foreground stays attached and a stop signal ends the server and keepalive" {
  GPT_OSS_KEEPALIVE_SECS=1 "$FAST" --foreground --no-warmup >/dev/null 2>"$BATS_TEST_TMPDIR/fg.err" 3>&- &
  local fg=$! tries=0
  until [[ -s "$STATE/keepalive.pid" ]] || ((tries++ > 100)); do sleep 0.05; done
  local server keepalive
  server=$(cat "$STATE/server.pid")
  keepalive=$(cat "$STATE/keepalive.pid")
  kill -0 "$fg"
  # Background jobs of a script ignore SIGINT, so the test sends TERM (handled the same way).
  kill -TERM "$fg"
  local status=0
  wait "$fg" || status=$?
  assert_equal "$status" 143
  run kill -0 "$server"
  assert_failure
  run kill -0 "$keepalive"
  assert_failure
}
