#!/usr/bin/env bash
# Usage: scripts/provision/openai-server.sh [--plan]
# Summary: print the path of a Python that runs `python -m llama_cpp.server`, building it once.
#
# A real OpenAI-compatible server that is not llama-server, for the tests of
# `local-infer.sh --backend openai`: llama-cpp-python 0.3.16 with its [server] extra,
# installed from the PyPI sdist into its own venv WITHOUT compiling (its CMake option
# LLAMA_BUILD=OFF): the libllama it loads is the one the Aug-2025 llama-server build
# makes from the same vendored llama.cpp tree (llama-server.sh --aug2025-lib), copied
# into the package's lib/ where its own build would have put it. About 1 minute once
# that build is cached; cached under ${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/.
# --plan  install nothing: print "CORE-MINUTES<TAB>what" for each build this would
#         start (the shared library included), or nothing when it is cached.
# Progress goes to stderr; stdout carries only the venv's python.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=scripts/lib/provision.sh
source "$here/../lib/provision.sh"
say() { provision_say "$@"; }
die() { provision_die "$@"; }

provision_plan_option "$0" "$@"
plan=$PROVISION_PLAN
[[ -n "${HOME:-}" || -n "${XDG_CACHE_HOME:-}" ]] || die "HOME is not set (needed for the build cache)"

version=0.3.16 core_minutes=2
what="llama-cpp-python[server] $version venv (no compile: the Aug-2025 libllama)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/llama-cpp-python-server-$version"
python="$venv/bin/python"
installed() { [[ -x "$python" && -f "$venv/.installed" ]]; }
if installed; then provision_found "$plan" "$python"; fi
if [[ -n "$plan" ]]; then
  "$here/llama-server.sh" --aug2025-lib --plan
  provision_plan "$core_minutes" "$what"
  exit 0
fi
# One build at a time: a second caller waits for the first instead of wiping its work.
# shellcheck source=scripts/lib/flock.sh
source "$here/../lib/flock.sh"
flock_wait_announced "$venv.lock" "llama-cpp-python[server]"
if installed; then provision_found "" "$python"; fi
lib_dir=$("$here/llama-server.sh" --aug2025-lib) ||
  die "llama_cpp.server needs the Aug-2025 libllama, which could not be built (see above)"
# scikit-build-core still configures the (empty) CMake project: cmake and a compiler.
for tool in cmake c++ python3; do
  command -v "$tool" >/dev/null || die "installing llama-cpp-python needs '$tool' (apt-get install cmake g++ python3-venv)"
done

rm -rf "$venv" "$venv.log"
trap '[[ -f "$venv/.installed" ]] || rm -rf "$venv"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say "installing $what: about $(provision_minutes "$core_minutes") min on $(provision_cores) cores"
started=$SECONDS
provision_run python3 "$venv.log" "creating the venv $venv" python3 -m venv "$venv" ||
  die "python3 -m venv failed (apt-get install python3-venv?)"
provision_run pip "$venv.log" "installing llama-cpp-python[server]==$version" \
  env CMAKE_ARGS="-DLLAMA_BUILD=OFF" "$python" -m pip install --disable-pip-version-check \
  --no-cache-dir "llama-cpp-python[server]==$version" ||
  die "pip could not install llama-cpp-python[server]==$version (log: $venv.log)"
package=$(find "$venv/lib" -maxdepth 3 -type d -path '*/site-packages/llama_cpp' -print -quit)
[[ -n "$package" ]] || die "pip installed no llama_cpp package into $venv"
mkdir -p "$package/lib"
cp -P "$lib_dir"/* "$package/lib/"
provision_run python "$venv.log" "importing llama_cpp.server" "$python" -c 'import llama_cpp.server' ||
  die "llama_cpp.server does not import after the install (log: $venv.log)"
rm -f "$venv.log"
touch "$venv/.installed"
say "installed llama-cpp-python[server] in $((SECONDS - started)) s: $venv"
printf '%s\n' "$python"
