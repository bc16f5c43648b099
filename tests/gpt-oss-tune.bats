#!/usr/bin/env bats
# gpt-oss-tune.sh against the stub llama-server, whose speed depends on its flags
# (STUB_DELAY_BY_ARGS): the search, the tuned config gpt-oss-fast.sh reads (precedence,
# keyed by model and binary, bad values, --no-tuned) and interruption.

setup() {
  load helpers/test_helper
  common_setup
  use_fake_llama_server
  TUNE="$SUITE_ROOT/scripts/gpt-oss-tune.sh"
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  export GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/models/model-Q4_0.gguf"
  mkdir -p "${GPT_OSS_GGUF_MODEL_PATH%/*}"
  printf 'GGUF' >"$GPT_OSS_GGUF_MODEL_PATH"
  BIN=$(command -v llama-server)
  CONFIG="$XDG_CONFIG_HOME/gpt-oss-suite/tuned.conf"
  export GPT_OSS_PORT
  GPT_OSS_PORT=$(free_port)
}

teardown() {
  "$FAST" stop >/dev/null 2>&1 || true
  common_teardown
}

# write_config KEY=VALUE... → a tuned config for the test model and the stub binary
write_config() {
  "$SUITE_ROOT/.venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); from gpt_oss_suite.tune_config import main; sys.exit(main(sys.argv[2:]))' \
    "$SUITE_ROOT/py" write "$CONFIG" "$GPT_OSS_GGUF_MODEL_PATH" "$BIN" latency "$@"
}

@test "--dry-run prints the plan, the knobs it skips and why, and an estimate, and starts nothing" {
  run --separate-stderr "$TUNE" --dry-run --skip slots
  assert_success
  assert_line --regexp '^knob +batch +GPT_OSS_BATCH=128\|GPT_OSS_BATCH=512$'
  assert_line --regexp '^knob +flash-attn +GPT_OSS_FLASH_ATTN=off$'
  refute_line --regexp '^knob +slots'
  assert_line 'skipped    gpu-layers: no GPU backend in this build (llama-server --list-devices lists none)'
  assert_line --regexp '^skipped    quant: no other quant of this model'
  assert_line --regexp '^estimate   [0-9]+ s for [0-9]+ settings \(budget 300 s\)$'
  # Only `llama-server --help` and `--list-devices` were asked: no server started.
  ! grep -qx -- --port "$STUB_DIR/argv" 2>/dev/null || fail "a server was started: $(cat "$STUB_DIR/argv")"
}

@test "--dry-run offers the other quants of the model found in its folder" {
  printf 'GGUF' >"${GPT_OSS_GGUF_MODEL_PATH%/*}/model-Q3_K_S.gguf"
  printf 'GGUF' >"${GPT_OSS_GGUF_MODEL_PATH%/*}/other-Q3_K_S.gguf"
  run --separate-stderr "$TUNE" --dry-run --only quant
  assert_success
  assert_line "knob       quant          GPT_OSS_GGUF_MODEL_PATH=${GPT_OSS_GGUF_MODEL_PATH%/*}/model-Q3_K_S.gguf"
}

@test "bad options exit 2 with one line naming them" {
  run --separate-stderr "$TUNE" --objective speed
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-tune.sh: --objective must be latency, decode or throughput, got 'speed' (see gpt-oss-tune.sh --help)"
  run --separate-stderr "$TUNE" --only warp
  assert_failure 2
  [[ "$stderr" == *"unknown knob 'warp'"* ]]
}

@test "it finds the planted optimum, writes it, and gpt-oss-fast.sh then starts with it and says so" {
  # A large effect: the test machine's own noise (other tests on 2 cores) must not hide it.
  export STUB_DELAY_MS=200 STUB_DELAY_BY_ARGS="-b 512=-170"
  run --separate-stderr "$TUNE" --only batch --prompt "hello there" --runs 4 --budget 200 --json
  assert_success
  [[ "$(output_json_of "$output" 'd["winner"]')" == "{'GPT_OSS_BATCH': '512'}" ]] \
    || fail "$(output_json_of "$output" 'd["decision"]')"
  [[ "$(output_json_of "$output" 'd["decision"]["verdict"]')" == "GPT_OSS_BATCH=512: better by"* ]]
  run grep -x 'GPT_OSS_BATCH = 512' "$CONFIG"
  assert_success
  run --separate-stderr "$FAST" --print-cmd
  assert_output --partial " -b 512 "
  [[ "$stderr" == *"batch: 512: tuned config $CONFIG:"* ]] || fail "$stderr"
  [[ "$stderr" == *"tuned config: $CONFIG:"*"for this model and llama-server"* ]] || fail "$stderr"
}

@test "a flat stub with noise gives no measurable difference: the defaults are the result written, replacing an earlier one for this pair" {
  # Noise, but the same noise for every setting (one seed): a real difference is then
  # only the machine's own noise, which the rule must not take for a gain.
  export STUB_DELAY_MS=40 STUB_DELAY_JITTER_MS=30 STUB_DELAY_JITTER_SEED=7
  # An earlier tuning of this model and binary (and one of another model, which stays)
  printf 'GGUF' >"$BATS_TEST_TMPDIR/models/other-Q8_0.gguf"
  GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/models/other-Q8_0.gguf" write_config GPT_OSS_BATCH=128
  write_config GPT_OSS_BATCH=512
  run --separate-stderr "$TUNE" --only batch --prompt "hello there" --runs 4 --budget 200 --json
  assert_success
  assert_equal "$(output_json_of "$output" 'd["decision"]["verdict"]')" "no measurable difference: the defaults stay"
  assert_equal "$(output_json_of "$output" 'd["winner"]')" "{}"
  assert_equal "$(output_json_of "$output" 'd["config_file"]')" "$CONFIG"
  [[ "$stderr" == *"no setting beat the defaults measurably: the defaults stay; wrote $CONFIG: the defaults measured best for this model and llama-server"* ]] || fail "$stderr"
  # Two sections: the other model's, unchanged, and this pair's, now without knob lines
  run grep -c '^\[tuned\]' "$CONFIG"
  assert_output 2
  run grep -cx 'GPT_OSS_BATCH = 512' "$CONFIG"
  assert_output 0
  run grep -cx 'GPT_OSS_BATCH = 128' "$CONFIG"
  assert_output 1
  # The next start uses the built-in defaults and says that is what was measured best
  run --separate-stderr "$FAST" --print-cmd
  assert_output --partial " -b 256 -ub 256 "
  [[ "$stderr" == *"tuned config: $CONFIG:"*"for this model and llama-server: the built-in defaults measured best (--no-tuned ignores it)"* ]] || fail "$stderr"
  [[ "$stderr" != *"batch: "*"tuned config"* ]] || fail "$stderr"
  # The text report: not a terminal, so no bar chart
  rm "$CONFIG"
  run --separate-stderr "$TUNE" --only batch --prompt "hello there" --runs 4 --budget 200
  assert_success
  assert_line "result: no measurable difference: the defaults stay"
  refute_output --partial '#'
  run grep -c '^\[tuned\]' "$CONFIG"
  assert_output 1
}

@test "the throughput and decode objectives find the planted optimum too" {
  export STUB_DELAY_MS=200 STUB_DELAY_BY_ARGS="-ub 512=-170"
  run --separate-stderr "$TUNE" --only ubatch --prompt "hello there" --runs 4 --budget 200 --objective throughput --json
  assert_success
  assert_equal "$(output_json_of "$output" 'd["winner"]')" "{'GPT_OSS_UBATCH': '512'}"
  [[ "$(output_json_of "$output" 'd["decision"]["unit"]')" == "req/s" ]]
  [[ "$(output_json_of "$output" 'd["decision"]["verdict"]')" == "GPT_OSS_UBATCH=512: better by "*" req/s "* ]]
  run grep -x 'objective = throughput' "$CONFIG"
  assert_success
  run --separate-stderr "$TUNE" --only ubatch --prompt "hello there" --runs 4 --budget 200 --objective decode
  assert_success
  # The table is sorted by the objective, best (most tok/s) first.
  assert_line --index 0 --regexp '^setting +decode tok/s '
  assert_line --index 1 --regexp '^GPT_OSS_UBATCH=512 '
  assert_line --regexp '^result: GPT_OSS_UBATCH=512: better by [0-9.]+ tok/s'
  run grep -x 'objective = decode' "$CONFIG"
  assert_success
}

@test "a setting that cannot start is reported as failed with the end of its log, and the search goes on" {
  export STUB_DELAY_MS=20 STUB_FAIL_BY_ARGS="-ctk q8_0"
  run --separate-stderr "$TUNE" --only kv-type,flash-attn --prompt hi --runs 2 --budget 200
  assert_success
  [[ "$stderr" == *"GPT_OSS_KV_TYPE=q8_0: failed to start"* ]] || fail "$stderr"
  # The stub is flat: when machine noise made flash-attn off look faster in the descent,
  # q8_0 was tried on top of it.
  assert_line --regexp '^(GPT_OSS_FLASH_ATTN=off )?GPT_OSS_KV_TYPE=q8_0 +(- +)+failed$'
  assert_line --regexp '^(GPT_OSS_FLASH_ATTN=off )?GPT_OSS_KV_TYPE=q8_0: failed: could not start: '
  assert_line --regexp '^    \| .*failed to initialize the context: stub refuses .*-ctk q8_0'
  # flash-attn was still measured
  assert_line --regexp '^GPT_OSS_FLASH_ATTN=off +[0-9]'
  # The same run as CSV: a header, then one row per measured setting, the reason kept
  run --separate-stderr "$TUNE" --only kv-type --prompt hi --runs 2 --budget 200 --csv
  assert_success
  assert_line --index 0 "setting,score,p50_ms,p95_ms,ttft_p50_ms,prompt_tps,decode_tps,spikes,rss_mib,start_ms,n_ctx,status,reason"
  assert_line --index 1 --regexp '^defaults,[0-9.]+,[0-9.]+,'
  assert_line --index 2 --regexp '^GPT_OSS_KV_TYPE=q8_0,,,,,,,,,[0-9]*,,failed,"?could not start: '
  assert_equal "${#lines[@]}" 3
  [[ "$stderr" == *"nothing was compared with the defaults (see the report): no config written"* ]] || fail "$stderr"
}

@test "the report has a bar chart on a terminal, and none with NO_COLOR" {
  export STUB_DELAY_MS=20
  local cmd="'$TUNE' --only flash-attn --prompt hi --runs 2 --budget 200 2>/dev/null"
  run env -u NO_COLOR TERM=xterm script -qec "$cmd" /dev/null
  assert_success
  assert_line --regexp '^defaults +[0-9.]+ .*ok  #+'
  assert_line --regexp '^GPT_OSS_FLASH_ATTN=off +[0-9.]+ .*ok  #+'
  run env NO_COLOR=1 TERM=xterm script -qec "$cmd" /dev/null
  assert_success
  assert_line --regexp '^defaults +[0-9.]+ .*ok'
  refute_output --partial '#'
}

@test "GPU knobs are varied only when llama-server --list-devices shows a device" {
  cp "$("$SUITE_ROOT/scripts/provision/models.sh" tiny-gpt-oss)" "$GPT_OSS_GGUF_MODEL_PATH"
  run --separate-stderr "$TUNE" --dry-run --only gpu-layers,n-cpu-moe
  assert_success
  assert_line 'skipped    gpu-layers: no GPU backend in this build (llama-server --list-devices lists none)'
  assert_line 'skipped    n-cpu-moe: no GPU backend in this build'
  export STUB_DEVICES="CUDA0: NVIDIA GeForce RTX 4090 (24080 MiB, 23400 MiB free)"
  run --separate-stderr "$TUNE" --dry-run --only gpu-layers,n-cpu-moe
  assert_success
  assert_line --regexp '^knob +gpu-layers +GPT_OSS_GPU_LAYERS=0\|GPT_OSS_GPU_LAYERS=999$'
  # the tiny gpt-oss model: 2 layers, 4 experts
  assert_line --regexp '^knob +n-cpu-moe +GPT_OSS_N_CPU_MOE=1\|GPT_OSS_N_CPU_MOE=2$'
  export STUB_DELAY_MS=200 STUB_DELAY_BY_ARGS="-ngl 999=-170"
  run --separate-stderr "$TUNE" --only gpu-layers --prompt hi --runs 3 --budget 200
  assert_success
  assert_line --regexp '^result: GPT_OSS_GPU_LAYERS=999: better by '
  run --separate-stderr "$FAST" --print-cmd
  assert_output --regexp ' -ngl 999$'
  [[ "$stderr" == *"gpu-layers: 999: tuned config $CONFIG:"* ]] || fail "$stderr"
}

@test "SmolLM2 (not a mixture of experts) gets no --n-cpu-moe values, with the reason" {
  cp "$("$SUITE_ROOT/scripts/provision/models.sh" smollm2)" "$GPT_OSS_GGUF_MODEL_PATH"
  STUB_DEVICES="Metal: Apple M2 Pro (10922 MiB, 10922 MiB free)" run --separate-stderr "$TUNE" --dry-run --only n-cpu-moe
  assert_success
  assert_line 'skipped    n-cpu-moe: not a mixture-of-experts model'
}

@test "knobs a build does not take are skipped with a note" {
  run --separate-stderr env STUB_HELP=bare "$TUNE" --dry-run --only flash-attn,mmap,batch
  assert_success
  assert_line 'skipped    flash-attn: this llama-server has no --flash-attn'
  assert_line 'skipped    mmap: this llama-server has no way to turn mmap off (it always maps)'
  assert_line --regexp '^knob +batch '
}

@test "gpt-oss-fast.sh: flag > environment > tuned config > default, and --no-tuned ignores the file" {
  write_config GPT_OSS_BATCH=512 GPT_OSS_UBATCH=128 GPT_OSS_THREADS=2 GPT_OSS_FLASH_ATTN=off
  GPT_OSS_UBATCH=64 run --separate-stderr "$FAST" --print-cmd -b 1024
  assert_success
  assert_output --regexp ' -b 1024 -ub 64 .* -fa off -t 2$'
  [[ "$stderr" == *"batch: 1024: flag -b"* ]] || fail "$stderr"
  [[ "$stderr" == *"ubatch: 64: env GPT_OSS_UBATCH"* ]] || fail "$stderr"
  [[ "$stderr" == *"threads: 2: tuned config $CONFIG:"* ]] || fail "$stderr"
  [[ "$stderr" == *"kv-type: f16: default"* ]] || fail "$stderr"
  # stdout stays a command line that runs as printed
  [[ "$(head -c 1 <<<"$output")" == / ]]
  run --separate-stderr "$FAST" --print-cmd --no-tuned
  assert_success
  assert_output --regexp ' -b 256 -ub 256 .* -fa on$'
  [[ "$stderr" != *"tuned config"* ]] || fail "$stderr"
}

@test "the tuned config applies only to its model and binary, as they were (size and mtime)" {
  write_config GPT_OSS_BATCH=512
  run --separate-stderr "$FAST" --print-cmd
  assert_output --partial " -b 512 "
  # Another model file
  printf 'GGUF' >"$BATS_TEST_TMPDIR/models/model-Q8_0.gguf"
  GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/models/model-Q8_0.gguf" run --separate-stderr "$FAST" --print-cmd
  assert_output --partial " -b 256 "
  # Another binary (a copy of the stub's launcher)
  cp "$BIN" "$BATS_TEST_TMPDIR/llama-server"
  ln -s "$SUITE_ROOT/tests/helpers/stub_llama_server.py" "$BATS_TEST_TMPDIR/stub_llama_server.py"
  mkdir -p "$BATS_TEST_TMPDIR/bin" && mv "$BATS_TEST_TMPDIR/llama-server" "$BATS_TEST_TMPDIR/bin/"
  LLAMA_SERVER="$BATS_TEST_TMPDIR/bin/llama-server" run --separate-stderr "$FAST" --print-cmd
  assert_output --partial " -b 256 "
  # The same model, rewritten (a new download): its stamp no longer matches
  touch -d '2020-01-01' "$GPT_OSS_GGUF_MODEL_PATH"
  run --separate-stderr "$FAST" --print-cmd
  assert_output --partial " -b 256 "
}

@test "a hand-edited bad value is an error naming the file and line; --no-tuned still starts" {
  write_config GPT_OSS_BATCH=512 GPT_OSS_FLASH_ATTN=off
  sed -i 's/^GPT_OSS_FLASH_ATTN = off$/GPT_OSS_FLASH_ATTN = maybe/' "$CONFIG"
  line=$(grep -n '^GPT_OSS_FLASH_ATTN' "$CONFIG" | cut -d: -f1)
  run --separate-stderr "$FAST" --print-cmd
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: $CONFIG:$line: GPT_OSS_FLASH_ATTN must be on or off, got 'maybe' (fix it, or --no-tuned to ignore the file) (see gpt-oss-fast.sh --help)"
  printf 'GPT_OSS_WARP = 9\n' >>"$CONFIG"
  run --separate-stderr "$FAST" --print-cmd --no-tuned
  assert_success
  sed -i 's/= maybe/= on/' "$CONFIG"
  run --separate-stderr "$FAST" --print-cmd
  assert_failure 2
  [[ "$stderr" == *"$CONFIG:$((line + 1)): unknown setting 'GPT_OSS_WARP'"* ]] || fail "$stderr"
}

@test "a tuned value is checked by the very rule a flag and the environment are" {
  # One rule per knob (scripts/lib/tuned.sh): the same words for all three sources.
  local why="GPT_OSS_THREADS must be a whole number >= 1, got '0'"
  GPT_OSS_THREADS=0 run --separate-stderr "$FAST" --print-cmd
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: $why (see gpt-oss-fast.sh --help)"
  write_config GPT_OSS_THREADS=0
  line=$(grep -n '^GPT_OSS_THREADS' "$CONFIG" | cut -d: -f1)
  run --separate-stderr "$FAST" --print-cmd
  assert_failure 2
  assert_equal "$stderr" "gpt-oss-fast.sh: $CONFIG:$line: $why (fix it, or --no-tuned to ignore the file) (see gpt-oss-fast.sh --help)"
  why="GPT_OSS_KV_TYPE (--kv-type) must be f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0 or q5_1, got 'f17'"
  run --separate-stderr "$FAST" --print-cmd --kv-type f17 --no-tuned
  assert_equal "$stderr" "gpt-oss-fast.sh: $why (see gpt-oss-fast.sh --help)"
  write_config GPT_OSS_KV_TYPE=f17
  run --separate-stderr "$FAST" --print-cmd
  [[ "$stderr" == *"tuned.conf:"*": GPT_OSS_KV_TYPE must be f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0 or q5_1, got 'f17'"* ]] || fail "$stderr"
  # tune_config.py checks the layout only: no value rule of its own
  run grep -nE "q8_0|>= ?1|\"on\", \"off\"" "$SUITE_ROOT/py/gpt_oss_suite/tune_config.py"
  assert_failure
  # The one Python list of KV types (bytes per element, kv_estimate.py) is the rule's.
  rule=$(bash -c 'source "$1/scripts/lib/common.sh"; use_libs tuned; knob_rule GPT_OSS_KV_TYPE' _ "$SUITE_ROOT")
  sizes=$("$SUITE_ROOT/.venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); from gpt_oss_suite.kv_estimate import TYPE_BYTES; print("|".join(TYPE_BYTES))' "$SUITE_ROOT/py")
  assert_equal "$rule" "$sizes"
}

@test "it refuses while the suite's servers run (any port), unless --stop-running, which restarts them afterwards" {
  GPT_OSS_KEEPALIVE_SECS=0 "$FAST" --no-warmup >/dev/null 2>&1
  other=$(free_port)
  GPT_OSS_KEEPALIVE_SECS=0 "$FAST" --no-warmup --port "$other" >/dev/null 2>&1
  pid=$(cat "$(server_state)/server.pid")
  other_pid=$(cat "$(server_state "$other")/server.pid")
  argv_before=$(cat "$(server_state)/server.argv")
  other_argv_before=$(cat "$(server_state "$other")/server.argv")
  run --separate-stderr "$TUNE" --only batch --budget 60
  assert_failure 8
  [[ "$stderr" == *"the suite's llama-server runs (pid "*"$pid"*")"*"--stop-running"* ]] || fail "$stderr"
  [[ "$stderr" == *"(pid "*"$other_pid"*")"* ]] || fail "the server on port $other was not seen: $stderr"
  export STUB_DELAY_MS=20
  run --separate-stderr "$TUNE" --only flash-attn --prompt hi --runs 3 --budget 200 --stop-running
  assert_success
  [[ "$stderr" == *"restarting the suite's llama-server with its own settings at http://127.0.0.1:$GPT_OSS_PORT"* ]] || fail "$stderr"
  [[ "$stderr" == *"restarting the suite's llama-server with its own settings at http://127.0.0.1:$other"* ]] || fail "$stderr"
  run "$FAST" --check
  assert_success
  run "$FAST" --check --port "$other"
  assert_success
  assert_equal "$(cat "$(server_state)/server.argv")" "$argv_before"
  assert_equal "$(cat "$(server_state "$other")/server.argv")" "$other_argv_before"
  "$FAST" stop --all >/dev/null 2>&1
}

@test "SIGTERM stops the tuner's servers, keeps the results measured so far and writes no config" {
  export STUB_DELAY_MS=400
  "$TUNE" --only batch --prompt hi --runs 6 --budget 300 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
  tuner=$!
  results="$XDG_STATE_HOME/gpt-oss/tune/results.jsonl"
  for ((i = 0; i < 600; i++)); do
    [[ -s "$results" ]] && break
    sleep 0.1
  done
  [[ -s "$results" ]] || fail "nothing measured: $(cat "$BATS_TEST_TMPDIR/err")"
  sleep 1 # inside the next measurement
  kill -TERM "$tuner"
  status=0
  wait "$tuner" || status=$?
  assert_equal "$status" 143
  grep -q 'interrupted (TERM): results so far in' "$BATS_TEST_TMPDIR/err" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
  grep -q '^defaults ' "$BATS_TEST_TMPDIR/out" || fail "no report: $(cat "$BATS_TEST_TMPDIR/out")"
  [[ ! -e "$CONFIG" ]] || fail "a config was written"
  [[ -s "$results" ]]
  # every server the tuner started is gone
  sleep 0.5
  run pgrep -f "bin/llama-server -m $GPT_OSS_GGUF_MODEL_PATH"
  assert_failure
}

@test "make bench's tuned section adds a row with the tuned config beside the defaults, and never tunes" {
  export BENCH_ROOT=$SUITE_ROOT BENCH_BINARY=$BIN BENCH_MODEL=$GPT_OSS_GGUF_MODEL_PATH BENCH_RUNS=3
  export BENCH_SECTIONS_DIR="$BATS_TEST_TMPDIR/sections"
  mkdir -p "$BENCH_SECTIONS_DIR"
  run --separate-stderr "$SUITE_ROOT/scripts/make/bench-sections/40-tuned.sh"
  assert_success
  assert_line --partial "No tuned config for model-Q4_0.gguf and this llama-server: run \`make tune\`"
  write_config GPT_OSS_BATCH=512
  run --separate-stderr "$SUITE_ROOT/scripts/make/bench-sections/40-tuned.sh"
  assert_success
  assert_line --index 0 "## Tuned settings (gpt-oss-tune.sh) beside the defaults"
  assert_line --regexp '^\| defaults \| `[0-9]+ -b 256 '
  assert_line --regexp '^\| tuned \| `[0-9]+ -b 512 '
  run output_json_of "$(cat "$BENCH_SECTIONS_DIR/40-tuned.json")" '[r["setting"] for r in d["rows"]]'
  assert_output "['defaults', 'tuned']"
  # A tuning that found the defaults best: its row says so, with the same flags
  write_config
  run --separate-stderr "$SUITE_ROOT/scripts/make/bench-sections/40-tuned.sh"
  assert_success
  assert_line --regexp '^\| tuned \(the defaults measured best\) \| `[0-9]+ -b 256 '
  [[ ! -e "$XDG_STATE_HOME/gpt-oss/tune" ]] || fail "the tuner ran"
}
