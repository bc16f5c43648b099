#!/usr/bin/env bash
# Usage: scripts/make/bench-sections/40-tuned.sh   (run by make bench)
# Summary: the settings gpt-oss-tune.sh chose for the bench model, beside the defaults.
#
# When ${XDG_CONFIG_HOME:-~/.config}/gpt-oss-suite/tuned.conf holds a section for the
# bench model and binary, two servers are started by gpt-oss-fast.sh (the defaults with
# --no-tuned, and the tuned config as gpt-oss-fast.sh reads it) and measured the same
# way, the 8-token query and a ~130-token prompt with gpt-oss-bench.sh. Without a tuned
# config the section says how to make one. make bench never runs the tuner itself.
# Markdown on stdout, numbers in $BENCH_SECTIONS_DIR/40-tuned.json.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$BENCH_ROOT/scripts/lib/common.sh"
use_libs lifecycle server_measure tuned

runs=$((BENCH_RUNS < 20 ? BENCH_RUNS : 20))
scratch=$(mktemp -d)
trap 'sm_stop "$scratch/state-defaults"; sm_stop "$scratch/state-tuned"; rm -rf "$scratch"' EXIT
progress() { printf 'bench: tuned: %s\n' "$*" >&2; }
long_prompt=$(printf 'The quick brown fox jumps over the lazy dog. %.0s' {1..12})
config=$(tuned_config_file)

echo "## Tuned settings (gpt-oss-tune.sh) beside the defaults"
echo
section=""
[[ -f "$config" ]] && section=$(py_main tune_config lookup "$config" "$BENCH_MODEL" "$BENCH_BINARY" 2>&1 || true)
if [[ "$section" != *section* ]]; then
  echo "No tuned config for ${BENCH_MODEL##*/} and this llama-server: run \`make tune\` to make one."
  printf '{"tuned": null}\n' >"$BENCH_SECTIONS_DIR/40-tuned.json"
  exit 0
fi
tuned_label=tuned
# A section without knob lines: the tuner measured the defaults best; its row shows a
# start that read the config (the same flags), so the two rows give the run-to-run spread.
[[ "$section" != section$'\t'* ]] || tuned_label="tuned (the defaults measured best)"
echo "Model: ${BENCH_MODEL##*/}; tuned config: \`${config/#"$HOME"/\~}\`. $runs runs each; p50 / p95 ms."
echo
echo "| setting | llama-server args from -c on | query ms p50 / p95 | long ms p50 / p95 | decode tok/s | RSS MiB | start ms |"
echo "|---|---|---|---|---|---|---|"
rows=()
for which in defaults tuned; do
  state="$scratch/state-$which"
  use_tuned=0
  [[ $which == tuned ]] && use_tuned=1
  if ! SM_USE_TUNED=$use_tuned sm_start "$state" "$(sm_free_port)" LLAMA_SERVER="$BENCH_BINARY" GPT_OSS_GGUF_MODEL_PATH="$BENCH_MODEL"; then
    progress "$which: $SM_ERROR"
    echo "| $which | failed to start | | | | | |"
    continue
  fi
  short=$(sm_bench "$SM_URL" "$runs" 8 "1+1=")
  long=$(sm_bench "$SM_URL" "$runs" 8 "$long_prompt")
  rss=$(sm_rss_mib "$SM_PID")
  sm_stop "$state"
  cells=("$(sm_field "$short" latency_ms p50)" "$(sm_field "$short" latency_ms p95)"
    "$(sm_field "$long" latency_ms p50)" "$(sm_field "$long" latency_ms p95)" "$(sm_field "$long" decode_tps_median)")
  progress "$which: query p50 ${cells[0]} ms"
  label=$which
  [[ $which == defaults ]] || label=$tuned_label
  echo "| $label | \`${SM_ARGV#* -c }\` | ${cells[0]} / ${cells[1]} | ${cells[2]} / ${cells[3]} | ${cells[4]} | $rss | $SM_START_MS |"
  rows+=("$(python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
    setting "$which" argv "$SM_ARGV" query_p50_ms "${cells[0]}" query_p95_ms "${cells[1]}" \
    prompt130_p50_ms "${cells[2]}" prompt130_p95_ms "${cells[3]}" decode_tps "${cells[4]}" \
    rss_mib "$rss" start_to_first_answer_ms "$SM_START_MS")")
done
printf '{"tuned": "%s", "rows": [%s]}\n' "$config" "$(IFS=,; echo "${rows[*]}")" >"$BENCH_SECTIONS_DIR/40-tuned.json"
