#!/usr/bin/env bash
# Usage: gpt-oss-status.sh [options]
# Summary: is the llama-server up, what does it run, and is it fast right now?
#
# Shows the URL and health; the model file, quant and size; slots total and busy; the
# per-slot context; the settings the server reports (and, for the suite's own server,
# the command line gpt-oss-fast.sh started it with); whether our keepalive runs; and
# one fresh probe request — a streaming /completion (temperature 0, no prompt cache)
# giving time to first token, prompt tok/s and decode tok/s (the server's timings).
# When the probe decodes at less than half the median of the last gpt-oss-bench.sh run
# on the same model (its state file, last-bench.json), it warns: the model is probably
# being paged out (the guide's "slow or spiky latency"; try GPT_OSS_KEEPALIVE_SECS=1).
#
# Options:
#       --url URL          server (default: $GPT_OSS_URL, else
#                          http://$GPT_OSS_HOST:$GPT_OSS_PORT, else our running server's
#                          recorded URL, else http://127.0.0.1:8000)
#       --json             one JSON object on stdout (shape below)
#       --no-probe         skip the probe request
#   -n, --max-tokens N     tokens the probe decodes (default: 8)
#       --timeout SECS     limit of each request (the probe, /props, /slots); a probe
#                          that gets no complete reply in time ends with exit 10;
#                          0 = no limit for the probe (default: 60)
#       --version          print the suite's version and exit
#   -h, --help             show this help
#
# JSON (keys always present; null when unknown):
#   {"url", "health": "ok"|"loading"|"down"|"error", "reason": null|TEXT,
#    "ours": BOOL, "pid": null|N,
#    "model": {"path", "alias", "quant", "size_bytes", "local": BOOL},
#    "slots": {"total", "busy"}, "n_ctx_per_slot", "build",
#    "server_argv": null|[ARG...]  (our server only: from the state dir),
#    "keepalive": {"running": BOOL, "pid"},
#    "rpc_workers": null | [{"address", "probe": "connected"|"answers"|"refused"|"timeout"
#                            |"error", "detail"}]  (our server started with GPT_OSS_RPC),
#    "probe": null | {"max_tokens", "prompt_n", "predicted_n", "ttft_ms", "total_ms",
#                     "prompt_ms", "prompt_tps", "predicted_ms", "decode_tps"},
#    "last_bench": null | {"decode_tps_median", "created", "model"},
#    "warnings": [TEXT...]}
# When the server is down or loading only url, health and reason are filled in.
#
# Environment: GPT_OSS_URL (or GPT_OSS_HOST/GPT_OSS_PORT), GPT_OSS_API_KEY (bearer
# token, never on the command line), GPT_OSS_DEBUG=1 (trace).
# State read: ${XDG_STATE_HOME:-~/.local/state}/gpt-oss/ (last-bench.json; server-PORT/:
# server.pid, server.argv, server.url, server.rpc, keepalive.pid).
# Exit codes: 0 ok (warnings included), 2 usage, 3 server down (the reason is given),
# 4 model still loading, 5/6 the probe failed (context too small / server error),
# 10 the probe got no complete reply within --timeout (all slots busy, a stalled server).
set -euo pipefail
# Where the libraries are, without a fork unless the script is reached through a link:
script=${BASH_SOURCE[0]}; [[ -L $script ]] && script=$(readlink -f -- "$script"); [[ $script == */* ]] || script=./$script
# shellcheck source=scripts/lib/common.sh
source "${script%/*}/lib/common.sh"
use_libs options lifecycle model_pick timed_request

url=
want_json=false
probe=true
max_tokens=8
timeout=60
while (($#)); do
  common_option "$@" && { shift "$OPT_SHIFT"; continue; } # --url --json -n --timeout...
  case $1 in
    --no-probe) probe=false; shift ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
require_uint --max-tokens "$max_tokens" 1
max_tokens=$((10#$max_tokens))
require_number --timeout "$timeout"

# gpt-oss-fast.sh keeps one state dir per port (scripts/lib/lifecycle.sh).
if [[ -z $url ]]; then
  # Knobs first; with none set, the server gpt-oss-fast.sh started wherever it listens
  # (the default port's first).
  our_pid=
  if [[ -z ${GPT_OSS_URL:-}${GPT_OSS_HOST:-}${GPT_OSS_PORT:-} ]]; then
    while [[ -z $our_pid ]] && IFS= read -r ours_dir; do
      our_pid=$(instance_pid "$ours_dir" server 2>/dev/null) || our_pid=
    done < <(server_state_dir; server_state_dirs)
  fi
  if [[ -n $our_pid && -s $ours_dir/server.url ]]; then
    url=$(<"$ours_dir/server.url")
  else
    default_url_to url
  fi
fi
url=${url%/}
require_http_url "$url"
ours_dir=$(server_state_dir "$(url_port "$url")")
our_pid=$(instance_pid "$ours_dir" server 2>/dev/null) || our_pid=
ours=false
[[ -n $our_pid && -s $ours_dir/server.url && $(<"$ours_dir/server.url") == "$url" ]] &&
  ours=true

# Set through printf -v by the helpers below (declared here for readers and shellcheck).
url_j='' reason_j='' path_j='' alias_j='' quant_j='' build_j='' size_j='' ka_j='' a='' b=''
now_m='' then_m='' now_t='' then_t='' tt='' tot='' pt='' dt='' bt=''

# --- JSON helpers: values as JSON text ---
jstr() { # jstr VAR TEXT → VAR = "TEXT" as a JSON string, or null when TEXT is empty
  local _s=null
  [[ -z $2 ]] || { json_escape_to _s "$2"; _s=\"$_s\"; }
  printf -v "$1" '%s' "$_s"
}
jnum() { # jnum VAR TEXT → VAR = TEXT when it is a number, else null
  if [[ $2 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then printf -v "$1" '%s' "$2"; else printf -v "$1" 'null'; fi
}
one_decimal() { # one_decimal VAR NUMBER → "61.2" (plain decimals, milli: options.sh), else as is
  local m
  if milli m "$2"; then ms_of "$1" "$m"; else printf -v "$1" '%s' "$2"; fi
}

# --- health: down (3) and loading (4) end here ---
jstr url_j "$url"
tr_health "$url"
case $TR_HEALTH in
  ok) health=ok ;;
  loading) health=loading reason="the model is still loading (HTTP 503)" ;;
  down) health=down reason="nothing answers at $url: $TR_ERR_MSG$TR_RPC_HINT" ;;
  timeout) health=error reason=$TR_ERR_MSG ;;
  *) health=error reason="/health answered HTTP ${TR_HEALTH#http-}" ;;
esac
if [[ $health != ok ]]; then
  if $want_json; then
    jstr reason_j "$reason"
    printf '{"url":%s,"health":"%s","reason":%s}\n' "$url_j" "$health" "$reason_j"
  fi
  die "$TR_ERR_CODE" "$TR_HEALTH_ERR"
fi

warnings=()
# --- what the server reports ---
props=$(curl_json --max-time 10 "$url/props" 2>/dev/null) || props=
model_path='' alias='' quant='' build='' total_slots='' n_ctx='' gen='' props_error=''
json_object_field_to props_error "$props" error 2>/dev/null || true
if [[ $props =~ ^[[:space:]]*\{ && -z $props_error ]]; then
  json_string_field_to model_path "$props" model_path || true
  json_string_field_to alias "$props" model_alias || true
  json_string_field_to quant "$props" model_ftype || true
  json_string_field_to build "$props" build_info || true
  json_number_field_to total_slots "$props" total_slots || true
  json_object_field_to gen "$props" default_generation_settings &&
    json_number_field_to n_ctx "$gen" n_ctx || true
else
  warnings+=("/props did not answer with the server's properties${props:+: ${props:0:120}}")
fi
if [[ -z $quant && -n $model_path ]]; then
  read -r _ quant _ <<<"$(quant_rank "$model_path")"
  [[ $quant == unknown ]] && quant=
fi
size='' local_file=false
if [[ -n $model_path && -f $model_path ]]; then
  local_file=true
  size=$(stat -c %s -- "$model_path" 2>/dev/null || stat -f %z -- "$model_path" 2>/dev/null || true)
fi

# /slots (on by default; --no-slots turns it off): total and busy. Else /props' total.
slots_json=$(curl_json --max-time 10 "$url/slots" 2>/dev/null) || slots_json=
busy=''
# Without whitespace, which a proxy may add (`"is_processing": true`): only the two
# markers below are counted, and no JSON string holds them unescaped.
slots_json=${slots_json//[[:space:]]/}
if [[ $slots_json == '['* ]]; then
  # One "is_processing" per slot, whatever else a server version puts in a slot.
  marks=${slots_json//\"is_processing\":/$'\x1f'}
  marks=${marks//[^$'\x1f']/}
  if ((${#marks} > 0)); then
    total_slots=${#marks}
    marks=${slots_json//\"is_processing\":true/$'\x1f'}
    marks=${marks//[^$'\x1f']/}
    busy=${#marks}
  fi
fi

# --- ours: the command line it was started with; the keepalive ---
argv_json=null argv_text=''
if $ours && [[ -s $ours_dir/server.argv ]]; then
  argv_json=''
  while IFS= read -r arg; do
    jstr a "$arg"
    argv_json+=${argv_json:+,}$a
    printf -v arg '%q' "$arg"
    argv_text+=${argv_text:+ }$arg
  done <"$ours_dir/server.argv"
  argv_json="[$argv_json]"
fi
keepalive=$(instance_pid "$ours_dir" keepalive 2>/dev/null) || keepalive=

# --- ours with RPC workers: does each still answer (a TCP connection, scripts/lib/rpc.sh) ---
rpc_json=null rpc_text=''
if $ours && [[ -s $ours_dir/server.rpc ]]; then
  use_libs rpc
  rpc_json=''
  while IFS=$'\t' read -r addr word detail; do
    detail=$(rpc_detail "$word" "$detail" 1)
    jstr a "$addr"; jstr b "$detail"
    rpc_json+="${rpc_json:+,}{\"address\":$a,\"probe\":\"$word\",\"detail\":$b}"
    rpc_text+="${rpc_text:+, }$addr ($detail)"
    [[ $word == answers || $word == connected || $word == timeout ]] ||
      warnings+=("the RPC worker $addr does not answer ($detail): the server fails at its next request; restart the worker, then the server (gpt-oss-fast.sh --restart)")
  done < <(mapfile -t workers <"$ours_dir/server.rpc" && rpc_probe_all 1 "${workers[@]}")
  rpc_json="[$rpc_json]"
fi

# --- the last bench on record ---
bench_file=$(state_dir)/last-bench.json
bench_decode='' bench_created='' bench_model=''
if [[ -s $bench_file ]]; then
  bench_text=$(<"$bench_file")
  json_number_field_to bench_decode "$bench_text" decode_tps_median || true
  json_string_field_to bench_created "$bench_text" created || true
  json_string_field_to bench_model "$bench_text" model || true
  unset bench_text
fi

# --- the probe ---
probe_status=0
p_ttft='' p_total='' p_prompt_n='' p_pred_n='' p_prompt_ms='' p_prompt_tps='' p_pred_ms='' p_decode_tps=''
if $probe; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpt-oss-status.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  tr_request_body "$tmp/body.json" "$TR_DEFAULT_PROMPT" "$max_tokens"
  timed_completion "$url" "$tmp/body.json" "$timeout"
  if tr_check "$url"; then
    p_ttft_us=$((TR_T1 - TR_T0)) p_total_us=$((TR_T2 - TR_T0))
    ms_of p_ttft "$p_ttft_us" 3
    ms_of p_total "$p_total_us" 3
    json_number_field_to p_prompt_n "$TR_TIMINGS" prompt_n || true
    json_number_field_to p_pred_n "$TR_TIMINGS" predicted_n || true
    json_number_field_to p_prompt_ms "$TR_TIMINGS" prompt_ms || true
    json_number_field_to p_prompt_tps "$TR_TIMINGS" prompt_per_second || true
    json_number_field_to p_pred_ms "$TR_TIMINGS" predicted_ms || true
    json_number_field_to p_decode_tps "$TR_TIMINGS" predicted_per_second || true
  else
    probe_status=$TR_ERR_CODE
    probe_error=$TR_ERR_MSG
  fi
fi

# Paging sign: decode far below the last bench of the same model.
if [[ -n $p_decode_tps && -n $bench_decode ]] &&
  [[ -z $bench_model || -z $model_path || $bench_model == "$model_path" ]] &&
  milli now_m "$p_decode_tps" && milli then_m "$bench_decode" && ((now_m * 2 < then_m)); then
  one_decimal now_t "$p_decode_tps"
  one_decimal then_t "$bench_decode"
  warnings+=("decode is $now_t tok/s, under half the $then_t tok/s median of the last bench${bench_created:+ ($bench_created)}: the model is probably being paged out; keep it resident (GPT_OSS_KEEPALIVE_SECS=1) and check free memory")
fi

# --- output ---
if $want_json; then
  # What json_number_field_to read, and the slot counts, are JSON numbers or empty (null).
  jstr path_j "$model_path"
  jstr alias_j "$alias"
  jstr quant_j "$quant"
  jstr build_j "$build"
  jnum size_j "$size"
  jnum pid_j "$our_pid"
  $ours || pid_j=null
  jnum ka_j "$keepalive"
  probe_j=null
  if [[ -n $p_total ]]; then
    printf -v probe_j '{"max_tokens":%d,"prompt_n":%s,"predicted_n":%s,"ttft_ms":%s,"total_ms":%s,"prompt_ms":%s,"prompt_tps":%s,"predicted_ms":%s,"decode_tps":%s}' \
      "$max_tokens" "${p_prompt_n:-null}" "${p_pred_n:-null}" "$p_ttft" "$p_total" \
      "${p_prompt_ms:-null}" "${p_prompt_tps:-null}" "${p_pred_ms:-null}" "${p_decode_tps:-null}"
  fi
  bench_j=null
  if [[ -n $bench_decode ]]; then
    jstr a "$bench_created"; jstr b "$bench_model"
    printf -v bench_j '{"decode_tps_median":%s,"created":%s,"model":%s}' "$bench_decode" "$a" "$b"
  fi
  warn_j=''
  for w in ${warnings[@]+"${warnings[@]}"}; do
    jstr a "$w"
    warn_j+=${warn_j:+,}$a
  done
  [[ $probe_status == 0 ]] || { jstr a "probe failed: $probe_error"; warn_j+=${warn_j:+,}$a; }
  printf '{"url":%s,"health":"ok","reason":null,"ours":%s,"pid":%s,"model":{"path":%s,"alias":%s,"quant":%s,"size_bytes":%s,"local":%s},"slots":{"total":%s,"busy":%s},"n_ctx_per_slot":%s,"build":%s,"server_argv":%s,"keepalive":{"running":%s,"pid":%s},"rpc_workers":%s,"probe":%s,"last_bench":%s,"warnings":[%s]}\n' \
    "$url_j" "$ours" "$pid_j" "$path_j" "$alias_j" "$quant_j" "$size_j" "$local_file" \
    "${total_slots:-null}" "${busy:-null}" "${n_ctx:-null}" "$build_j" "$argv_json" \
    "$([[ -n $keepalive ]] && echo true || echo false)" "$ka_j" "$rpc_json" "$probe_j" "$bench_j" "$warn_j"
else
  human_size() { # human_size BYTES → "98.2 MB"
    local b=$1
    if ((b >= 1000000000)); then printf '%d.%d GB' $((b / 1000000000)) $((b % 1000000000 / 100000000))
    elif ((b >= 1000000)); then printf '%d.%d MB' $((b / 1000000)) $((b % 1000000 / 100000))
    else printf '%d KB' $((b / 1000)); fi
  }
  line() { printf '%-12s %s\n' "$1" "$2"; }
  if $ours; then line url "$url  (ours: gpt-oss-fast.sh, pid $our_pid)"; else line url "$url"; fi
  line health ok
  about=$quant
  [[ -z $size ]] || about+=${about:+, }$(human_size "$size")
  model_line=${model_path:-unknown}${about:+  ($about)}
  [[ -n $model_path && $local_file == false ]] && model_line+="  (not a local file)"
  line model "$model_line"
  line slots "${total_slots:-unknown} total, ${busy:-unknown} busy"
  line context "${n_ctx:-unknown} tokens per slot"
  [[ -n $build ]] && line build "$build"
  line started "${argv_text:-not our server: its command line is unknown (server-reported settings above)}"
  if [[ -n $keepalive ]]; then line keepalive "running (pid $keepalive)"; else line keepalive "not running"; fi
  [[ -z $rpc_text ]] || line "rpc workers" "$rpc_text"
  if [[ -n $p_total ]]; then
    one_decimal pt "$p_prompt_tps"
    one_decimal dt "$p_decode_tps"
    ms_of tt "$p_ttft_us"
    ms_of tot "$p_total_us"
    line probe "${p_pred_n:-?} tokens in $tot ms: TTFT $tt ms, prompt $pt tok/s (${p_prompt_n:-?} tokens), decode $dt tok/s"
  elif $probe; then
    line probe "failed: $probe_error"
  else
    line probe "skipped (--no-probe)"
  fi
  if [[ -n $bench_decode ]]; then
    one_decimal bt "$bench_decode"
    line "last bench" "decode $bt tok/s median${bench_created:+ ($bench_created)}"
  fi
fi
for w in ${warnings[@]+"${warnings[@]}"}; do warn "$w"; done
((probe_status == 0)) || die "$probe_status" "the probe request failed: $probe_error"
exit 0
