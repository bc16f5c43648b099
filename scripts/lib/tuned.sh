# shellcheck shell=bash
# The tuned-config layer of gpt-oss-fast.sh: flag > environment > tuned config > built-in
# default. gpt-oss-tune.sh writes ${XDG_CONFIG_HOME:-~/.config}/gpt-oss-suite/tuned.conf
# (one section per model file and llama-server binary, keyed by path, size and mtime);
# py/gpt_oss_suite/tune_config.py parses and checks it (never `source`d: a hand-edited
# bad value is an error naming the file and line). Also the one place that says where
# each value came from: "NAME: VALUE: why" lines on stderr, the context line included.
# Sourced by gpt-oss-fast.sh after its knobs are read; needs common.sh.
# shellcheck disable=SC2034,SC2154 # the knob variables belong to gpt-oss-fast.sh

# One row per knob the config may set: ENV_NAME variable label flag-spellings...
TUNED_KNOBS=(
  "GPT_OSS_GGUF_MODEL_PATH model model -m --model"
  "GPT_OSS_CTX ctx context -c --ctx"
  "GPT_OSS_KV_UNIFIED kv_unified kv-unified --kv-unified"
  "GPT_OSS_PARALLEL parallel slots -np --parallel"
  "GPT_OSS_BATCH batch batch -b --batch"
  "GPT_OSS_UBATCH ubatch ubatch -ub --ubatch"
  "GPT_OSS_KV_TYPE kv_type kv-type --kv-type"
  "GPT_OSS_THREADS threads threads"
  "GPT_OSS_THREADS_BATCH threads_batch threads-batch"
  "GPT_OSS_FLASH_ATTN fa_mode flash-attn"
  "GPT_OSS_MMAP mmap_mode mmap"
)
declare -gA knob_from=()
tuned_file="" tuned_section=""

tuned_config_file() { printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/gpt-oss-suite/tuned.conf"; }

# knob_sources ARGS... (gpt-oss-fast.sh's own arguments) → knob_from[var] = flag, env
# or default for every knob; apply_tuned then fills the defaults it has values for.
knob_sources() {
  local row env var label flag flags given=" $* "
  for row in "${TUNED_KNOBS[@]}"; do
    read -r env var label flags <<<"$row"
    knob_from[$var]=default
    [[ -n "${!env:-}" ]] && knob_from[$var]="env $env"
    for flag in $flags; do
      [[ "$given" == *" $flag "* ]] && knob_from[$var]="flag $flag"
    done
  done
  return 0
}

# apply_tuned BINARY → the tuned values for this model and binary, where neither a flag
# nor the environment set the knob. A bad file exits 2 with FILE:LINE.
apply_tuned() {
  local bin=$1 out name value line row env var _rest
  tuned_file=$(tuned_config_file)
  [[ -f "$tuned_file" ]] || return 0
  out=$(py_main tune_config lookup "$tuned_file" "$model" "$bin" 2>&1) \
    || usage_error "$out (fix it, or --no-tuned to ignore the file)"
  while IFS=$'\t' read -r name value line; do
    [[ -n "$name" ]] || continue
    if [[ "$name" == section ]]; then
      tuned_section="$tuned_file:$line${value:+ (objective: $value)}"
      continue
    fi
    for row in "${TUNED_KNOBS[@]}"; do
      read -r env var _rest <<<"$row"
      [[ "$env" == "$name" && "${knob_from[$var]}" == default ]] || continue
      printf -v "$var" '%s' "$value"
      knob_from[$var]="tuned config $tuned_file:$line"
    done
  done <<<"$out"
  if [[ -n "$tuned_section" ]]; then
    say "tuned config: $tuned_section, for this model and llama-server (--no-tuned ignores it)"
    [[ "${knob_from[model]}" != tuned* ]] || resolve_model
  fi
  return 0
}

# explain NAME VALUE WHY → the one "what was chosen and why" line on stderr.
explain() { say "$1: $2: $3"; }

# explain_settings ALL → a line per knob that a flag, the environment or the tuned config
# set (ALL=1: every knob, defaults too); the context line keeps its own reasoning.
explain_settings() {
  local all=$1 row env var label _flags from
  for row in "${TUNED_KNOBS[@]}"; do
    read -r env var label _flags <<<"$row"
    from=${knob_from[$var]:-default}
    [[ "$var" == ctx ]] && continue
    ((all)) || [[ "$from" != default ]] || continue
    explain "$label" "${!var:-(server default)}" "$from"
  done
  from=${knob_from[ctx]:-default}
  [[ "$from" == tuned* ]] && from="; GPT_OSS_CTX from the $from" || from=""
  explain context "-c $run_ctx" "$ctx_why$from"
}
