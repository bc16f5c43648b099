#!/usr/bin/env bats
# llama.cpp RPC for real: two ggml-rpc-server workers on 127.0.0.1 started by
# gpt-oss-rpc-worker.sh, and the suite's llama-server (its RPC build, from
# scripts/provision/llama-server.sh --cached) started by gpt-oss-fast.sh with GPT_OSS_RPC.
# SmolLM2's real weights: they are placed on the RPC devices and a temperature-0 answer
# is the one-machine server's; then a worker dies and the clients say which. The tiny
# gpt-oss model (random weights, argmax fragile across kernels): a Harmony answer comes back.

setup_file() {
  # Resolved before common_setup moves HOME: the builds and models live in the real cache.
  RPC_SERVER=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh" --cached)
  RPC_WORKER_BIN=$("$BATS_TEST_DIRNAME/../scripts/provision/llama-server.sh" --rpc-worker)
  SMOLLM2=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" smollm2)
  TINY_GPT_OSS=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" tiny-gpt-oss)
  export RPC_SERVER RPC_WORKER_BIN SMOLLM2 TINY_GPT_OSS
}

setup() {
  load helpers/test_helper
  common_setup
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  WORKER="$SUITE_ROOT/scripts/gpt-oss-rpc-worker.sh"
  STATE="$XDG_STATE_HOME/gpt-oss"
  # No keepalive: each request below is the test's own. A set context: one start each.
  export LLAMA_SERVER=$RPC_SERVER GPT_OSS_RPC_WORKER_BIN=$RPC_WORKER_BIN GPT_OSS_KEEPALIVE_SECS=0
  export GPT_OSS_GGUF_MODEL_PATH=$SMOLLM2 GPT_OSS_CTX=2048 GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
  export GPT_OSS_URL="http://127.0.0.1:$GPT_OSS_PORT"
}

teardown() {
  "$FAST" stop >/dev/null 2>&1 || true
  "$WORKER" stop >/dev/null 2>&1 || true
  common_teardown
}

# two_workers → W1 W2 (ports) run, started by the script; GPT_OSS_RPC names them
two_workers() {
  W1=$(free_port) W2=$(free_port)
  "$WORKER" --port "$W1" --threads 1 >/dev/null 2>&1 3>&-
  "$WORKER" --port "$W2" --threads 1 >/dev/null 2>&1 3>&-
  export GPT_OSS_RPC="127.0.0.1:$W1,127.0.0.1:$W2"
}

# start_server [args...] → gpt-oss-fast.sh in the background's way (fd 3 closed for bats)
start_server() {
  "$FAST" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/fast.err" 3>&- || {
    cat "$BATS_TEST_TMPDIR/fast.err"
    return 1
  }
}

# answer12 → the first 12 tokens of SmolLM2's temperature-0 answer, as JSON [text, n]
answer12() {
  "$SUITE_ROOT/scripts/gpt-oss-query.sh" --json -n 12 "The capital of France is" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(json.dumps([d["content"], d["tokens_predicted"]]))'
}

@test "SmolLM2 over two loopback workers: weights on the RPC devices, the one machine's answer" {
  start_server --no-warmup
  local one
  one=$(answer12)
  "$FAST" stop 2>/dev/null

  two_workers
  # -lv 4: llama-server's info lines, where it says which device holds which weights.
  GPT_OSS_EXTRA_ARGS="-lv 4" start_server
  grep -q "gpt-oss-fast.sh: RPC workers answer: 127.0.0.1:$W1, 127.0.0.1:$W2" "$BATS_TEST_TMPDIR/fast.err"
  # llama.cpp logs one "model buffer size" line per device that holds weights.
  local w mib
  for w in "$W1" "$W2"; do
    mib=$(sed -nE "s/.*RPC[0-9]+\[127\.0\.0\.1:$w\] model buffer size = *([0-9.]+) MiB.*/\1/p" "$(server_state)/server.log")
    [[ -n "$mib" ]] || { grep -i "buffer size" "$(server_state)/server.log"; false; }
    awk -v m="$mib" 'BEGIN { exit !(m > 10) }' # MiB of SmolLM2's 98 MB on each worker
    grep -q "Accepted client connection" "$STATE/rpc-worker-$w/worker.log"
  done
  local rpc
  rpc=$(answer12)
  assert_equal "$rpc" "$one"
  [[ "$rpc" == *", 12]" ]]
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh" --no-probe --json
  assert_success
  run json_get '[w["address"] for w in d["rpc_workers"]]' <<<"$output"
  assert_output "['127.0.0.1:$W1', '127.0.0.1:$W2']"
}

@test "a worker that dies: the request is dropped and every client names that worker" {
  two_workers
  start_server --no-warmup
  local victim
  victim=$(cat "$STATE/rpc-worker-$W2/worker.pid")
  kill -KILL "$victim"
  local gone="it uses the llama.cpp RPC workers 127.0.0.1:$W1, 127.0.0.1:$W2, and 127.0.0.1:$W2 no longer answers (connection refused); restart that worker, then the server (gpt-oss-fast.sh --restart)"
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-query.sh" "1+1="
  assert_failure 6
  assert_equal "$stderr" "gpt-oss-query.sh: the server at $GPT_OSS_URL closed the connection without a complete reply: $gone"
  # The server aborted (llama.cpp: "Remote RPC server crashed"): what comes next is exit 3.
  run --separate-stderr "$SUITE_ROOT/scripts/gpt-oss-status.sh"
  assert_failure 3
  [[ "$stderr" == *"is gpt-oss-fast.sh running?): $gone" ]]
  GPT_OSS_CONTEXT_CHECK=0 run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" "1+1="
  assert_failure 3
  [[ "$stderr" == *"server not reachable at $GPT_OSS_URL (is gpt-oss-fast.sh running?): $gone" ]]
  # And a new start refuses before it starts anything.
  run --separate-stderr "$FAST" --restart
  assert_failure 3
  [[ "$stderr" == *"an RPC worker in GPT_OSS_RPC does not answer: 127.0.0.1:$W2 (connection refused)"* ]]
}

@test "the tiny gpt-oss model over two loopback workers gives a Harmony answer" {
  two_workers
  GPT_OSS_EXTRA_ARGS="-lv 4" start_server --model "$TINY_GPT_OSS" --ctx 4096 --parallel 1 --no-warmup
  grep -qE "RPC[0-9]+\[127\.0\.0\.1:$W1\] model buffer size" "$(server_state)/server.log"
  run --separate-stderr "$SUITE_ROOT/scripts/local-infer.sh" --max-tokens 16 --seed 1 --json "Say hi"
  assert_success
  run json_get 'd["mode"], d["fallback"], d["requests"], d["tokens"]["predicted"] <= 16' <<<"$output"
  assert_output "harmony None 1 True"
}
