# shellcheck shell=bash
# The tuned-config layer of gpt-oss-fast.sh: flag > environment > tuned config > built-in
# default. gpt-oss-tune.sh writes ${XDG_CONFIG_HOME:-~/.config}/gpt-oss-suite/tuned.conf
# (one section per model file and llama-server binary, keyed by path, size and mtime);
# py/gpt_oss_suite/tune_config.py parses its layout (never `source`d: a hand-edited bad
# line is an error naming the file and line). Also the one place that says where each
# value came from: "NAME: VALUE: why" lines on stderr, the context line included.
# Sourced by gpt-oss-fast.sh after its knobs are read; needs common.sh.
# shellcheck disable=SC2034,SC2154 # the knob variables belong to gpt-oss-fast.sh

# One row per knob the config may set: ENV_NAME variable label rule flag-spellings...
# The rule is the one place its values are checked, for a flag, the environment and the
# tuned config alike (knob_problem): uint:MIN (a whole number >= MIN), a|b|c (one of
# these), file (any path; resolve_model checks it); a leading ? lets the knob be unset
# (empty: the server's own choice, or chosen later).
TUNED_KNOBS=(
  "GPT_OSS_GGUF_MODEL_PATH model model ?file -m --model"
  "GPT_OSS_CTX ctx context ?uint:1 -c --ctx"
  "GPT_OSS_KV_UNIFIED kv_unified kv-unified auto|1|0 --kv-unified"
  "GPT_OSS_PARALLEL parallel slots uint:1 -np --parallel"
  "GPT_OSS_BATCH batch batch uint:1 -b --batch"
  "GPT_OSS_UBATCH ubatch ubatch uint:1 -ub --ubatch"
  "GPT_OSS_KV_TYPE kv_type kv-type f32|f16|bf16|q8_0|q4_0|q4_1|iq4_nl|q5_0|q5_1 --kv-type"
  "GPT_OSS_THREADS threads threads ?uint:1"
  "GPT_OSS_THREADS_BATCH threads_batch threads-batch ?uint:1"
  "GPT_OSS_FLASH_ATTN fa_mode flash-attn on|off"
  "GPT_OSS_MMAP mmap_mode mmap on|off"
  "GPT_OSS_GPU_LAYERS gpu_layers gpu-layers ?uint:0"
  "GPT_OSS_N_CPU_MOE n_cpu_moe n-cpu-moe ?uint:0"
)
declare -gA knob_from=()
tuned_file="" tuned_section="" knob_why=""

# knob_problem NAME RULE VALUE → status 1 and knob_why="NAME must be ..., got 'VALUE'"
# when VALUE breaks RULE (a TUNED_KNOBS rule). No fork: gpt-oss-fast.sh checks every
# knob on each start.
knob_problem() {
  local name=$1 rule=${2#\?} value=$3 list
  knob_why=""
  [[ -z "$value" && "$2" == \?* ]] && return 0
  case $rule in
    uint:*)
      uint_problem "$name" "$value" "${rule#uint:}" && return 0
      knob_why=$uint_why ;;
    file) [[ -n "$value" ]] && return 0; knob_why="$name must name a file" ;;
    *)
      [[ "$value" != *"|"* && "|$rule|" == *"|$value|"* ]] && return 0
      list=${rule//|/, }
      [[ "$list" == *", "* ]] && list="${list%, *} or ${list##*, }"
      knob_why="$name must be $list, got '$value'" ;;
  esac
  return 1
}

# check_knobs → exits 2 on the first knob (flag or environment) its rule refuses.
check_knobs() {
  local row env var label rule flags flag name
  for row in "${TUNED_KNOBS[@]}"; do
    read -r env var label rule flags <<<"$row"
    name=$env
    for flag in $flags; do [[ "$flag" == --* ]] && name="$env ($flag)"; done
    knob_problem "$name" "$rule" "${!var:-}" || usage_error "$knob_why"
  done
  return 0
}

# knob_row ENV_NAME → row_var and row_rule of that knob (status 1 for a name that is no knob)
knob_row() {
  local row env _label _flags
  for row in "${TUNED_KNOBS[@]}"; do
    read -r env row_var _label row_rule _flags <<<"$row"
    [[ "$env" == "$1" ]] && return 0
  done
  return 1
}
knob_rule() { knob_row "$1" && printf '%s\n' "$row_rule"; } # knob_rule ENV_NAME → its rule

tuned_config_file() { printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/gpt-oss-suite/tuned.conf"; }

# knob_sources ARGS... (gpt-oss-fast.sh's own arguments) → knob_from[var] = flag, env
# or default for every knob; apply_tuned then fills the defaults it has values for.
knob_sources() {
  local row env var label _rule flag flags given=" $* "
  for row in "${TUNED_KNOBS[@]}"; do
    read -r env var label _rule flags <<<"$row"
    knob_from[$var]=default
    [[ -n "${!env:-}" ]] && knob_from[$var]="env $env"
    for flag in $flags; do
      [[ "$given" == *" $flag "* ]] && knob_from[$var]="flag $flag"
    done
  done
  return 0
}

# apply_tuned BINARY → the tuned values for this model and binary, where neither a flag
# nor the environment set the knob. A bad file exits 2 with FILE:LINE: its layout from
# tune_config.py, its names and values from TUNED_KNOBS (every line of the section).
apply_tuned() {
  local bin=$1 out name value line row_var row_rule fix="(fix it, or --no-tuned to ignore the file)"
  tuned_file=$(tuned_config_file)
  [[ -f "$tuned_file" ]] || return 0
  out=$(py_main tune_config lookup "$tuned_file" "$model" "$bin" 2>&1) || usage_error "$out $fix"
  while IFS=$'\t' read -r name value line; do
    [[ -n "$name" ]] || continue
    if [[ "$name" == section ]]; then
      tuned_section="$tuned_file:$line${value:+ (objective: $value)}"
      continue
    fi
    knob_row "$name" \
      || usage_error "$tuned_file:$line: unknown setting '$name' (known: $(printf '%s\n' "${TUNED_KNOBS[@]%% *}" | paste -sd' ' -)) $fix"
    knob_problem "$name" "$row_rule" "$value" || usage_error "$tuned_file:$line: $knob_why $fix"
    [[ "${knob_from[$row_var]}" == default ]] || continue
    printf -v "$row_var" '%s' "$value"
    knob_from[$row_var]="tuned config $tuned_file:$line"
  done <<<"$out"
  if [[ -n "$tuned_section" ]]; then
    local result=""
    # No knob line before the section line: the defaults were measured best.
    [[ "$out" != section$'\t'* ]] || result=": the built-in defaults measured best"
    say "tuned config: $tuned_section, for this model and llama-server$result (--no-tuned ignores it)"
    [[ "${knob_from[model]}" != tuned* ]] || resolve_model
  fi
  return 0
}

# explain_settings ALL → "NAME: VALUE: why" on stderr for each knob a flag, the environment
# or the tuned config set (ALL=1: every knob, defaults too), then the context line.
explain_settings() {
  local all=$1 row env var label _rule _flags from
  for row in "${TUNED_KNOBS[@]}"; do
    read -r env var label _rule _flags <<<"$row"
    from=${knob_from[$var]:-default}
    [[ "$var" == ctx ]] && continue
    ((all)) || [[ "$from" != default ]] || continue
    say "$label: ${!var:-(server default)}: $from"
  done
  from=${knob_from[ctx]:-default}
  [[ "$from" == tuned* ]] && from="; GPT_OSS_CTX from the $from" || from=""
  say "context: -c $run_ctx: $ctx_why$from"
}
