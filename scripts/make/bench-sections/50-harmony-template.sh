#!/usr/bin/env bash
# Usage: scripts/make/bench-sections/50-harmony-template.sh   (run by scripts/make/bench-report.sh)
# Summary: `make bench` row: the round trip that asks the server to render the Harmony prompt.
#
# local-infer.sh's Harmony path sends the prompt the server's own template renders (POST
# /apply-template, once per model request) instead of harmony.py's rendering: this times
# both with `gpt-oss-py bench harmony-split` on the tiny gpt-oss model. Section 6 of the
# report times whole local-infer.sh calls, this round trip included, against --raw.
set -euo pipefail
root=${BENCH_ROOT:?run by scripts/make/bench-report.sh}
runs=${BENCH_RUNS:-30}
progress() { printf 'bench: harmony template: %s\n' "$*" >&2; }

scratch=$(mktemp -d)
export XDG_STATE_HOME="$scratch/state" GPT_OSS_KEEPALIVE_SECS=0
unset GPT_OSS_URL
export LLAMA_SERVER=${BENCH_BINARY:-$("$root/scripts/provision/llama-server.sh")} GPT_OSS_GGUF_MODEL_PATH
GPT_OSS_GGUF_MODEL_PATH=$("$root/scripts/provision/models.sh" tiny-gpt-oss)
cleanup() {
  "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
progress "the suite's server on the tiny gpt-oss model, port $port"
url=$(GPT_OSS_PORT=$port "$root/scripts/gpt-oss-fast.sh" --no-warmup 2>/dev/null)
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
progress "$runs runs per figure (load average $load)"
"$root/.venv/bin/gpt-oss-py" bench harmony-split --url "$url" --runs "$runs" >"$scratch/plain.json"
"$root/.venv/bin/gpt-oss-py" bench harmony-split --url "$url" --runs "$runs" --tools >"$scratch/tools.json"

python3 - "$scratch/plain.json" "$scratch/tools.json" "$BENCH_SECTIONS_DIR/50-harmony-template.json" "$load" <<'EOF'
import json, sys

plain, tools, out, load = sys.argv[1:]
rows = {"no tools": json.load(open(plain)), "workspace tools": json.load(open(tools))}
json.dump({"load_average": load, **{k.replace(" ", "_"): v for k, v in rows.items()}}, open(out, "w"))
print("## Harmony prompt: the server's template (/apply-template) vs harmony.py")
print()
print("`gpt-oss-py bench harmony-split` on the tiny gpt-oss model, medians in ms "
      f"(load average {load}: on a busy machine these are noise).")
print()
print("| prompt | tokens | POST /apply-template | harmony.py render | POST /tokenize | server renders Harmony |")
print("|---|---|---|---|---|---|")
for name, r in rows.items():
    print(f"| {name} | {r['prompt_tokens']} | {r['apply_template_ms']} | {r['render_ms']} | "
          f"{r['tokenize_ms']} | {'yes' if r['server_renders'] else 'no'} |")
print()
print("The /apply-template round trip is paid once per model request; the Harmony target "
      "(section 6, added <= 70 ms over --raw) is measured with it.")
EOF
