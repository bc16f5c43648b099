#!/usr/bin/env bash
# Usage: scripts/make/bench-sections/20-size-sweep.sh   (run by scripts/make/bench-report.sh)
# Summary: `make bench` section: client cost against prompt (1 KB-4 MB) and reply (1 KB-50 MB) size.
#
# gpt-oss-query.sh, local-infer.sh --raw and --raw --stream against a fake llama-server
# that answers at once (only the client's cost shows), interleaved with bare curl sending
# the same body; Harmony replies of 1-50 MB to local-infer.sh and gpt-oss-py chat; then
# one row on the real llama-server at the largest prompt the bundled model's own context
# allows. Median ms, ratio, target, peak RSS; a log-log plot
# (bench/size-sweep.svg, drawn with matplotlib from the `bench` extra). The work is in
# scripts/make/size_sweep.py (its header has the method and the targets). Prints a
# Markdown section on stdout, writes $BENCH_SECTIONS_DIR/20-size-sweep.json; progress on
# stderr. Takes ~3 minutes on 2 cores.
set -euo pipefail
root=${BENCH_ROOT:?run by scripts/make/bench-report.sh}
export XDG_STATE_HOME
XDG_STATE_HOME=$(mktemp -d) # the clients look for no server of the user's
trap 'rm -rf "$XDG_STATE_HOME"' EXIT
"$root/.venv/bin/python" "$root/scripts/make/size_sweep.py"
