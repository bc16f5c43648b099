# shellcheck shell=bash
# gpt-oss-fast.sh's later steps, as the guide takes them by hand: start the server (or
# reuse ours), wait until it answers, check the KV layout it really gave, warm every
# slot, keep it warm, say what runs (the URL, or --json). Sourced by gpt-oss-fast.sh
# after its knobs are read (the knob variables are its own); needs common.sh,
# lifecycle.sh, dialect.sh and server_cmd.sh.
# shellcheck disable=SC2034,SC2154 # the knobs and results are gpt-oss-fast.sh's variables

http_status() { # http_status URL [SECS] → the HTTP status, 000 when nothing answers
  curl -4 -s -o /dev/null -w '%{http_code}' --max-time "${2:-2}" "$1" 2>/dev/null || true
}

# run_check → --check: exit 0 with the URL when our server is up and healthy.
run_check() {
  local pid recorded_url
  pid=$(instance_pid "$state" server) || die "$EXIT_UNREACHABLE" "no server of ours is running on port $port (state: $state)"
  recorded_url=$(cat "$state/server.url" 2>/dev/null || echo "$url")
  [[ "$(http_status "$recorded_url/health")" == 200 ]] \
    || die "$EXIT_LOADING" "our llama-server (pid $pid) runs but $recorded_url/health is not OK yet"
  printf '%s\n' "$recorded_url"
}

# reuse_running → our server already runs with these settings: report it (waiting for
# a start that is still loading) and return 0. Other settings exit 8 unless --restart,
# which stops it (status 1, as when none runs).
reuse_running() {
  reuse_or_replace "$state" server "$restart" stop_this \
    "our llama-server (pid {pid}) runs with other settings; use --restart to replace it (or 'gpt-oss-fast.sh stop')" || return 1
  if [[ "$(http_status "$url/health")" == 200 ]]; then
    say "reusing the running llama-server (pid $reused_pid) at $url with the same model and settings"
    if ((keepalive > 0)) && ! instance_pid "$state" keepalive >/dev/null; then start_keepalive "$reused_pid"; fi
  else
    # Ours, same settings, still loading (another start is finishing): wait for it.
    wait_until_ready "$reused_pid"
  fi
  read_props
  report true "$reused_pid"
}

# refuse_busy_port → exit 8 when another program holds the port.
refuse_busy_port() {
  if port_in_use "$client_host" "$port"; then
    die "$EXIT_PORT_BUSY" "port $port on $client_host is already in use by another program; stop it or choose another port (GPT_OSS_PORT or --port)"
  fi
}

# launch_server → starts argv with its state written, waits for /health, reads /props.
launch_server() {
  say "command: $(quoted_argv)"
  record_argv "$state" server
  printf '%s\n' "$url" >"$state/server.url"
  # Its RPC workers, one per line, for the clients' messages when one of them dies.
  if [[ -n "$rpc" ]]; then printf '%s\n' "${rpc//,/$'\n'}" >"$state/server.rpc"; else rm -f "$state/server.rpc"; fi
  # The key reaches the server through its environment, never through argv (ps shows argv).
  # Only when there is one: the Aug-2025 server treats an empty LLAMA_API_KEY as a key.
  if [[ -n "${GPT_OSS_API_KEY:+set}" ]]; then
    { set +x; } 2>/dev/null # an assignment shows its value in a GPT_OSS_DEBUG trace
    export LLAMA_API_KEY=$GPT_OSS_API_KEY
    [[ -z "${GPT_OSS_DEBUG:-}" ]] || set -x
  fi
  launch_instance "$state" server 5
  wait_until_ready "$started_pid"
  read_props
}

# wait_until_ready PID → polls /health every 20 ms; dies at once if the process exits
wait_until_ready() {
  loading_said=0
  wait_ready "$1" llama-server "$state/server.log" "$start_timeout" GPT_OSS_START_TIMEOUT \
    server_healthy explain_rpc_refusal
}
server_healthy() {
  local code
  code=$(http_status "$url/health" 1)
  [[ "$code" == 200 ]] && return 0
  if [[ "$code" == 503 ]] && ((!loading_said)) && stderr_is_tty; then
    say "loading the model..."
    loading_said=1
  fi
  return 1
}
explain_rpc_refusal() {
  if grep -q "RPC not supported" "$state/server.log" 2>/dev/null; then
    die "$EXIT_START_FAILED" "this llama-server was built without RPC support; unset GPT_OSS_RPC"
  fi
}

# check_kv_layout → both dialects list -kvu, but only some share the pool: /props tells.
# One that divides it is restarted with the per-slot layout, and the answer is kept for
# this binary. A model trained on a shorter context caps every slot at that (SmolLM2:
# 8192): that is not a divided pool, so the check compares with the smaller of the two.
check_kv_layout() {
  local models
  ((unified && expect_slot_ctx)) && [[ "$slot_ctx" =~ ^[0-9]+$ ]] || return 0
  models=$(curl_json --max-time 5 "$url/v1/models" 2>/dev/null || true)
  [[ "$models" =~ \"n_ctx_train\":[[:space:]]*([0-9]+) ]] && ((BASH_REMATCH[1] < expect_slot_ctx)) &&
    expect_slot_ctx=${BASH_REMATCH[1]}
  if ((slot_ctx < expect_slot_ctx)); then
    dialect_fact "$binary" kvu_shared no
    say "this llama-server divides -kvu per slot (/props n_ctx $slot_ctx); restarting with $PER_REQUEST_CTX per slot (remembered for this binary)"
    stop_pid "$started_pid" 10
    build_argv "$binary" # auto now reads the fact just recorded
    say "context: -c $run_ctx: $ctx_why"
    launch_server
  else
    dialect_fact "$binary" kvu_shared yes
  fi
}

# warm_up → one short request per slot, all at once, so every slot is warm
warm_up() {
  local i t0 t1 body='{"prompt":"Hello","n_predict":4,"cache_prompt":false}'
  local -a pids=()
  ((warmup)) || return 0
  now_ms t0
  for ((i = 0; i < parallel; i++)); do
    curl_json --max-time 120 -o /dev/null --data-binary "$body" "$url/completion" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || warn "a warm-up request failed"; done
  now_ms t1
  warmup_ms=$((t1 - t0))
  say "warm-up: $parallel requests in ${warmup_ms} ms"
}

start_keepalive() { # start_keepalive SERVER_PID
  ((keepalive > 0)) || return 0
  launch_keepalive "$state" "$url" "$1" "$keepalive" "$((${slots:-$parallel} - 1))" "$state/server.log"
}

read_props() { # read_props → sets slot_ctx and slots from /props
  local props
  props=$(curl_json --max-time 5 "$url/props" 2>/dev/null || true)
  slot_ctx=unknown slots=$parallel
  # [[:space:]]*: a proxy may pretty-print the JSON ("n_ctx": 256).
  [[ "$props" =~ \"n_ctx\"[[:space:]]*:[[:space:]]*([0-9]+) ]] && slot_ctx=${BASH_REMATCH[1]}
  [[ "$props" =~ \"total_slots\"[[:space:]]*:[[:space:]]*([0-9]+) ]] && slots=${BASH_REMATCH[1]}
  return 0
}

report() { # report REUSED PID → human lines on stderr, URL or JSON on stdout
  local reused=$1 pid=$2 model_json
  if [[ "$slot_ctx" =~ ^[0-9]+$ ]] && ((slot_ctx < TOOLS_MIN_CTX)); then
    warn "per-slot context is $slot_ctx tokens: a Harmony prompt with the tools and a 256-token reply needs ~$TOOLS_MIN_CTX, so local-infer.sh --tools falls back to raw; unset GPT_OSS_CTX for the default ($PER_REQUEST_CTX per request)"
  fi
  if ((json)); then
    use_libs json
    json_escape_to model_json "$model"
    printf '{"url":"%s","pid":%s,"reused":%s,"model":"%s","quant":"%s","argv":%s,"ctx":%s,"kv_unified":%s,"n_ctx_per_slot":%s,"slots":%s,"ready_ms":%s,"warmup_ms":%s,"keepalive_secs":%s}\n' \
      "$url" "$pid" "$reused" "$model_json" "$model_quant" "$(argv_json)" "$run_ctx" \
      "$( ((unified)) && echo true || echo false)" \
      "$([[ "$slot_ctx" =~ ^[0-9]+$ ]] && echo "$slot_ctx" || echo null)" "$slots" \
      "${ready_ms:-null}" "${warmup_ms:-null}" "$keepalive"
  else
    printf '%s\n' "$url"
  fi
}
