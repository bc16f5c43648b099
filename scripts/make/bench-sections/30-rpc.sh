#!/usr/bin/env bash
# Usage: scripts/make/bench-sections/30-rpc.sh   (run by scripts/make/bench-report.sh)
# Summary: `make bench` row: decode and prompt tok/s, one machine vs two loopback RPC workers.
#
# Two loopback RPC workers against the same server without RPC, and with 1 thread (-t 1,
# as each worker runs: on a busy machine llama.cpp's threads wait for each other); the
# Markdown it prints says how. On a 2-core machine the workers share the CPU with the
# server: this measures the RPC protocol plus contention over loopback TCP, not a network.
# Markdown on stdout, numbers in $BENCH_SECTIONS_DIR/30-rpc.json; progress on stderr.
set -euo pipefail
root=${BENCH_ROOT:?run by scripts/make/bench-report.sh}
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
use_libs lifecycle server_measure

runs=${BENCH_RUNS:-30}
chunk=5 max_tokens=16
prompt="Write a short story about a lighthouse keeper who finds a message in a bottle. The story should have a beginning, a middle and an end, and it should be told in the first person."
progress() { printf 'bench: rpc: %s\n' "$*" >&2; }

scratch=$(mktemp -d)
# -lv 4: llama-server's info lines, which say where the weights went (both servers alike;
# ~20 lines per request).
export XDG_STATE_HOME="$scratch/state" GPT_OSS_KEEPALIVE_SECS=0 GPT_OSS_EXTRA_ARGS="-lv 4"
unset GPT_OSS_URL GPT_OSS_RPC
server=$("$root/scripts/provision/llama-server.sh" --cached)
export LLAMA_SERVER=$server GPT_OSS_RPC_WORKER_BIN
GPT_OSS_RPC_WORKER_BIN=$("$root/scripts/provision/llama-server.sh" --rpc-worker)
export GPT_OSS_GGUF_MODEL_PATH=${BENCH_MODEL:-$("$root/scripts/provision/models.sh" smollm2)}

one_state="$scratch/one" one1_state="$scratch/one1" rpc_state="$scratch/rpc"
cleanup() {
  XDG_STATE_HOME=$one_state "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
  XDG_STATE_HOME=$one1_state "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
  XDG_STATE_HOME=$rpc_state "$root/scripts/gpt-oss-fast.sh" stop --all >/dev/null 2>&1 || true
  XDG_STATE_HOME=$rpc_state "$root/scripts/gpt-oss-rpc-worker.sh" stop >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

w1=$(sm_free_port) w2=$(sm_free_port)
p_one=$(sm_free_port) p_one1=$(sm_free_port) p_rpc=$(sm_free_port)
progress "two workers on 127.0.0.1:$w1 and :$w2, and three servers on SmolLM2"
XDG_STATE_HOME=$rpc_state "$root/scripts/gpt-oss-rpc-worker.sh" --port "$w1" >/dev/null 2>&1
XDG_STATE_HOME=$rpc_state "$root/scripts/gpt-oss-rpc-worker.sh" --port "$w2" >/dev/null 2>&1
url_one=$(XDG_STATE_HOME=$one_state GPT_OSS_PORT=$p_one "$root/scripts/gpt-oss-fast.sh" 2>/dev/null)
url_one1=$(XDG_STATE_HOME=$one1_state GPT_OSS_PORT=$p_one1 GPT_OSS_EXTRA_ARGS="$GPT_OSS_EXTRA_ARGS -t 1" \
  "$root/scripts/gpt-oss-fast.sh" 2>/dev/null)
url_rpc=$(XDG_STATE_HOME=$rpc_state GPT_OSS_PORT=$p_rpc GPT_OSS_RPC="127.0.0.1:$w1,127.0.0.1:$w2" \
  "$root/scripts/gpt-oss-fast.sh" 2>/dev/null)
# Where the weights went: llama.cpp logs one "model buffer size" line per device.
placement=$(grep -E 'RPC[0-9]+\[[^]]*\] model buffer size|CPU_Mapped model buffer size|CPU model buffer size' \
  "$rpc_state/gpt-oss/server-$p_rpc/server.log" | sed -E 's/^.*load_tensors: *//; s/ +/ /g' | paste -sd ';' -) || placement=unknown

# measure URL FILE → appends CHUNK runs of gpt-oss-bench.sh --csv (no header) to FILE
measure() {
  "$root/scripts/gpt-oss-bench.sh" --url "$1" --csv -n "$max_tokens" -p "$prompt" "$chunk" 2>/dev/null |
    tail -n +2 >>"$2"
}
# Other work on the machine skews both sides, the one-machine server's 2 threads most.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || uptime | sed -E 's/.*load averages?: *([0-9.]+).*/\1/')
progress "$runs runs of $max_tokens tokens per side, interleaved in chunks of $chunk (load average $load)"
for ((done_runs = 0; done_runs < runs; done_runs += chunk)); do
  measure "$url_one" "$scratch/one.csv"
  measure "$url_one1" "$scratch/one1.csv"
  measure "$url_rpc" "$scratch/rpc.csv"
done

python3 - "$scratch/one.csv" "$scratch/one1.csv" "$scratch/rpc.csv" "$BENCH_SECTIONS_DIR/30-rpc.json" "$placement" \
  "$max_tokens" "$w1" "$w2" "$load" "$(nproc 2>/dev/null || echo '?')" <<'EOF'
import csv, json, statistics, sys

one, one1, rpc, out, placement, max_tokens, w1, w2, load, cores = sys.argv[1:]
COLUMNS = "run,client,start_ms,ms,ttft_ms,prompt_n,prompt_ms,prompt_tps,predicted_n,predicted_ms,decode_tps".split(",")


def side(path):
    rows = list(csv.DictReader(open(path), fieldnames=COLUMNS))
    med = lambda key: round(statistics.median(float(r[key]) for r in rows), 1)
    return {"runs": len(rows), "decode_tps_median": med("decode_tps"), "prompt_tps_median": med("prompt_tps"),
            "p50_ms": med("ms"), "prompt_tokens": int(rows[0]["prompt_n"])}


a, a1, b = side(one), side(one1), side(rpc)
KEYS = ("decode_tps_median", "prompt_tps_median", "p50_ms")
result = {"model": "SmolLM2-135M-Instruct Q4_1", "max_tokens": int(max_tokens),
          "workers": [f"127.0.0.1:{w1}", f"127.0.0.1:{w2}"], "one_machine": a,
          "one_machine_1_thread": a1, "rpc_two_loopback_workers": b,
          "rpc_over_one": {k: round(b[k] / a[k], 3) for k in KEYS},
          "rpc_over_one_1_thread": {k: round(b[k] / a1[k], 3) for k in KEYS},
          "weights": placement.split(";") if placement != "unknown" else None,
          "cores": cores, "load_average_at_start": load}
json.dump(result, open(out, "w"), indent=1)
r, r1 = result["rpc_over_one"], result["rpc_over_one_1_thread"]
print("## llama.cpp RPC: one machine vs two loopback workers\n")
print(f"SmolLM2-135M (Q4_1), the suite's flags, {a['runs']} runs of {max_tokens} tokens per side "
      f"(interleaved in chunks of 5), a {a['prompt_tokens']}-token prompt, no prompt cache. The RPC "
      "server is `gpt-oss-fast.sh` with `GPT_OSS_RPC` naming two workers started by "
      "`gpt-oss-rpc-worker.sh` on 127.0.0.1 (their default: 1 thread each); all three servers are "
      f"the suite's RPC build. **This machine has {cores} cores: the workers share them with the "
      "server, so the row measures the RPC protocol plus contention over loopback TCP, not a "
      f"network.** Load average when it started: {load} (other work skews both sides, the "
      "one-machine server's threads most).\n")
print("| setup | decode tok/s (median) | prompt tok/s (median) | p50 ms |")
print("|---|---|---|---|")
print(f"| one machine | {a['decode_tps_median']} | {a['prompt_tps_median']} | {a['p50_ms']} |")
print(f"| one machine, 1 thread (`-t 1`) | {a1['decode_tps_median']} | {a1['prompt_tps_median']} | {a1['p50_ms']} |")
print(f"| two loopback RPC workers | {b['decode_tps_median']} | {b['prompt_tps_median']} | {b['p50_ms']} |")
print(f"| RPC / one machine | {r['decode_tps_median']} | {r['prompt_tps_median']} | {r['p50_ms']} |")
print(f"| RPC / one machine, 1 thread | {r1['decode_tps_median']} | {r1['prompt_tps_median']} | {r1['p50_ms']} |")
if result["weights"]:
    print("\nWeights of the RPC server (its log): " + "; ".join(f"`{w}`" for w in result["weights"]) + ".")
EOF
