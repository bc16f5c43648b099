# shellcheck shell=bash
# gpt-oss-fast.sh's first steps, as the guide takes them by hand: find the llama-server,
# pick the model, build its command line in the binary's own dialect with a context
# sized for the tool loop. Sourced by gpt-oss-fast.sh after its knobs are read (the
# knob variables are its own); needs common.sh, lifecycle.sh, model_pick.sh, dialect.sh.
# shellcheck disable=SC2034,SC2154 # the knobs and results are gpt-oss-fast.sh's variables

# find_server_binary → LLAMA_SERVER, else llama-server on PATH, else the build `make
# setup` cached.
find_server_binary() { find_binary LLAMA_SERVER llama-server; }

# resolve_model → sets model (its folder resolved: the same file by another relative
# path is the same setting), model_quant, model_reason
resolve_model() {
  local line
  if [[ -n "$model" ]]; then
    [[ -f "$model" ]] || die "$EXIT_NO_MODEL" "model file not found: $model (from GPT_OSS_GGUF_MODEL_PATH or --model)"
    read -r _ model_quant model_reason <<<"$(quant_rank "$model")"
    model_reason="given by GPT_OSS_GGUF_MODEL_PATH or --model"
  elif ! line=$(pick_model_in "$model_dir"); then
    die "$EXIT_NO_MODEL" "no GGUF model found in $model_dir; set GPT_OSS_GGUF_MODEL_PATH to a .gguf file or GPT_OSS_MODEL_DIR to a folder of them"
  else
    IFS=$'\t' read -r model model_quant model_reason <<<"$line"
  fi
  model=$(resolved_path "$model")
}

# The tool-use path's need in ONE request, measured on the tiny test model (the larger
# token counts): Harmony prompt with the tools (780) + one full-size tool result (the
# tools' 8000-byte cap, ~8400 tokens with its turn markup) + the default 256-token reply.
PER_REQUEST_CTX=12288
# The shared pool with unified KV: two requests at PER_REQUEST_CTX (a tool loop and a
# query) and the keepalive fit at once. More live tokens than the pool holds make the
# server fail every running request (HTTP 500 "Context size has been exceeded").
POOL_CTX=$((2 * PER_REQUEST_CTX + 1024))
# Below this per-slot size a Harmony prompt with the tools and a 256-token reply does not
# fit (780 + 256 on the tiny model): local-infer.sh --tools falls back to raw.
TOOLS_MIN_CTX=1100

# choose_context BINARY KVU_FLAG PER_SLOT_FLAG → run_ctx, kv_flags, unified (1 when -kvu
# is passed), expect_slot_ctx (per-slot size the choice relies on, 0 = none) and
# ctx_why, following the rule in the help text ("Context").
choose_context() {
  local bin=$1 kvu_flag=$2 per_slot_flag=$3 honoured
  kv_flags=() unified=0 expect_slot_ctx=0
  honoured=$(dialect_fact "$bin" kvu_shared)
  case "$kv_unified" in
    1) unified=1 ;;
    0) ctx_why="GPT_OSS_KV_UNIFIED=0" ;;
    auto)
      if [[ -n "$ctx" ]]; then
        ctx_why="GPT_OSS_CTX given: divided among the $parallel slots as llama-server does"
      elif [[ -z "$kvu_flag" ]]; then
        ctx_why="this llama-server has no unified KV"
      elif [[ "$honoured" == no ]]; then
        ctx_why="this llama-server divides -kvu per slot (seen in its /props)"
      else
        unified=1
      fi
      ;;
  esac
  if ((unified)); then
    [[ -n "$kvu_flag" ]] || usage_error "GPT_OSS_KV_UNIFIED=1 but $bin has no -kvu/--kv-unified"
    kv_flags=("$kvu_flag")
    run_ctx=${ctx:-$POOL_CTX}
    ctx_why="unified KV: $parallel slots share one $run_ctx-token pool${ctx:+ (GPT_OSS_CTX)}"
    if [[ -z "$ctx" ]]; then
      expect_slot_ctx=$PER_REQUEST_CTX
      if [[ -n "$per_slot_flag" ]]; then
        kv_flags+=("$per_slot_flag" "$PER_REQUEST_CTX")
        ctx_why+=", each request at most $PER_REQUEST_CTX (a full tool loop, a query and the keepalive fit at once)"
      fi
    fi
  else
    run_ctx=${ctx:-$((parallel * PER_REQUEST_CTX))}
    [[ -n "$ctx" ]] || ctx_why+="; $PER_REQUEST_CTX per slot, room for the tool loop"
  fi
}

# build_argv BINARY → fills the array `argv` in the binary's dialect
build_argv() {
  local bin=$1 key value
  local -a no_mmap=() flash_attn=() jinja=() extra=() quiet_log=()
  local rpc_ok=no kvu_flag="" per_slot_flag="" dialect
  dialect=$(dialect_for "$bin") || exit # a binary that cannot run: its error is said
  while IFS='=' read -r key value; do
    case "$key" in
      no_mmap) read -ra no_mmap <<<"$value" ;;
      flash_attn) read -ra flash_attn <<<"$value" ;;
      jinja) read -ra jinja <<<"$value" ;;
      rpc) rpc_ok=$value ;;
      kvu) kvu_flag=$value ;;
      kvu_per_slot) per_slot_flag=$value ;;
      quiet_log) read -ra quiet_log <<<"$value" ;;
      notice) say "notice: $value" ;;
    esac
  done <<<"$dialect"
  choose_context "$bin" "$kvu_flag" "$per_slot_flag"
  [[ "$mmap_mode" == off ]] || no_mmap=() # every build maps the model by default
  [[ "$fa_mode" == on ]] || read -ra flash_attn <<<"$(flash_attn_off "${flash_attn[*]}")"
  argv=("$bin" -m "$model" --host "$host" --port "$port" -c "$run_ctx"
    -b "$batch" -ub "$ubatch" -np "$parallel" -ctk "$kv_type" -ctv "$kv_type"
    "${kv_flags[@]}" "${no_mmap[@]}" "${flash_attn[@]}" "${jinja[@]}")
  # The keepalive's request every second would otherwise be most of the log.
  ((keepalive == 0)) || argv+=("${quiet_log[@]}")
  # ...so it is no setting: a start with -k 0 reuses a server started with the keepalive.
  ARGV_UNCOMPARED=$(printf '%s\n' "${quiet_log[@]}")
  [[ -z "$threads" ]] || argv+=(-t "$threads")
  [[ -z "$threads_batch" ]] || argv+=(-tb "$threads_batch")
  [[ -z "$gpu_layers" ]] || argv+=(-ngl "$gpu_layers")
  [[ -z "$n_cpu_moe" ]] || argv+=(--n-cpu-moe "$n_cpu_moe")
  if [[ -n "$rpc" ]]; then
    if [[ "$rpc_ok" != yes ]] || ! rpc_supported "$bin"; then
      usage_error "GPT_OSS_RPC is set but $bin was built without RPC support; the suite's build has it (make setup builds it): LLAMA_SERVER=\$($SUITE_ROOT/scripts/provision/llama-server.sh --cached)"
    fi
    argv+=(--rpc "$rpc")
  fi
  read -ra extra <<<"${GPT_OSS_EXTRA_ARGS:-}"
  argv+=("${extra[@]}")
}

# The 2026 server lists --rpc in every build and refuses it only when parsing it.
rpc_supported() {
  local out
  out=$(timeout 10 "$1" --rpc 127.0.0.1:1 --version 2>&1) || true
  [[ "$out" != *"RPC not supported"* ]]
}

# run_kv_estimate → --kv-estimate: the KV memory of the chosen context (the Python core
# reads the GGUF header).
run_kv_estimate() {
  local -a estimate_args=(kv-estimate "$model" --ctx "$run_ctx" --parallel "$parallel" --kv-type "$kv_type")
  ((unified)) && estimate_args+=(--unified)
  ((expect_slot_ctx)) && estimate_args+=(--per-slot "$expect_slot_ctx")
  ((json)) && estimate_args+=(--json)
  gpt_oss_py "${estimate_args[@]}"
}

# run_print_cmd → --print-cmd: the settings and where they came from on stderr, the
# command line on stdout.
run_print_cmd() {
  explain_settings 1
  ((unified && expect_slot_ctx)) && say "unified KV is checked after the start: a server that divides it per slot is restarted with -c $((parallel * PER_REQUEST_CTX)) instead"
  quoted_argv
}
