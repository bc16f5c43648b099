#!/usr/bin/env bash
# Usage: scripts/provision/openai-server.sh
# Summary: print the path of a Python that runs `python -m llama_cpp.server`, building it once.
#
# A real OpenAI-compatible server that is not llama-server, for the tests of
# `local-infer.sh --backend openai`: llama-cpp-python 0.3.16 with its [server] extra,
# built from the PyPI sdist into its own venv (about 10 minutes on 2 cores; its own
# llama.cpp tools and examples are left out to keep it short), cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/, so it happens once.
# Build progress goes to stderr; stdout carries only the venv's python.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

say() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  -h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac
[[ -n "${HOME:-}" || -n "${XDG_CACHE_HOME:-}" ]] || die "HOME is not set (needed for the build cache)"

version=0.3.16
venv="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/llama-cpp-python-server-$version"
python="$venv/bin/python"
if [[ -x "$python" && -f "$venv/.installed" ]]; then
  printf '%s\n' "$python"; exit 0
fi
# One build at a time: a second caller waits for the first instead of wiping its work.
# shellcheck source=scripts/lib/flock.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/flock.sh"
flock_wait_announced "$venv.lock" "llama-cpp-python[server]"
if [[ -x "$python" && -f "$venv/.installed" ]]; then
  printf '%s\n' "$python"; exit 0
fi
for tool in cmake c++ python3; do
  command -v "$tool" >/dev/null || die "building llama-cpp-python needs '$tool' (apt-get install cmake g++ python3-venv)"
done

rm -rf "$venv" "$venv.log"
trap '[[ -f "$venv/.installed" ]] || rm -rf "$venv"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say "building llama-cpp-python[server]==$version (first run only; about 10 minutes on 2 cores)"
started=$SECONDS
python3 -m venv "$venv"
if ! CMAKE_ARGS="-DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
  "$python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
  "llama-cpp-python[server]==$version" >"$venv.log" 2>&1; then
  grep -v '^WARNING: Location' "$venv.log" | grep -iE 'error|fail' | tail -n 15 >&2
  die "pip could not build llama-cpp-python[server]==$version (full log: $venv.log)"
fi
"$python" -c 'import llama_cpp.server' 2>/dev/null || die "llama_cpp.server does not import after the build"
rm -f "$venv.log"
touch "$venv/.installed"
say "built llama-cpp-python[server] in $((SECONDS - started)) s: $venv"
printf '%s\n' "$python"
