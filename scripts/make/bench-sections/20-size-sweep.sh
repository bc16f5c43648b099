#!/usr/bin/env bash
# Usage: scripts/make/bench-sections/20-size-sweep.sh   (run by scripts/make/bench-report.sh)
# Summary: `make bench` section: client cost against prompt (1 KB-4 MB) and reply (1 KB-50 MB) size.
#
# The work is in scripts/make/size_sweep.py; the rows and targets are in docs/performance.md.
# Takes ~3 minutes on 2 cores.
set -euo pipefail
root=${BENCH_ROOT:?run by scripts/make/bench-report.sh}
export XDG_STATE_HOME
XDG_STATE_HOME=$(mktemp -d) # the clients look for no server of the user's
trap 'rm -rf "$XDG_STATE_HOME"' EXIT
"$root/.venv/bin/python" "$root/scripts/make/size_sweep.py"
