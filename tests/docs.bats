#!/usr/bin/env bats
# The documentation works when pasted (issue 8): every ```bash, ```sh and ```console
# block of README.md and docs/*.md runs, page by page, in order, against the suite's own
# server — the REAL llama-server on the bundled SmolLM2 model, started once for the file
# with scripts/gpt-oss-fast.sh. A block marked `<!-- doc-test: output -->` must print what
# the page shows after it (`…` for what varies). And docs/reference.md's option tables
# are the ones `make docs` generates from each script's --help.
#
# How a page runs: tests/helpers/doc_blocks.py extracts its blocks (console blocks: the
# `$ ` lines) and a runner; the runner sources them one after another in ONE bash, like a
# reader pasting into one terminal (exports and cd carry over), with errexit and
# pipefail, so the first failing command fails the test with PAGE:LINE. A block whose
# fence is preceded by `<!-- doc-test: skip (REASON) -->` is not run but listed (see the
# last test); `<!-- doc-test: exit N -->` means the block must exit N;
# `<!-- doc-test: output -->` (or `exit N, output`) compares what the block's commands
# print, stdout and stderr as a terminal shows them, with the output the page shows:
# a console block's lines that are not commands, or the ```text block after a bash
# block. `…` stands for any text in a line, a line of `…` for any lines; $HOME reads
# `~` and the test's port 8000 (tests/helpers/doc_blocks.py says exactly how).
#
# The environment is a reader's who has run `make setup` and chosen the bundled model: an
# isolated HOME and XDG_STATE_HOME for the whole file, GPT_OSS_GGUF_MODEL_PATH pointing
# at SmolLM2, and a free port in GPT_OSS_PORT/GPT_OSS_URL (8000 may be taken on a test
# machine). The expensive caches (llama-server builds, models) are the real ones,
# resolved before HOME moves and linked into the isolated cache; the dialect cache stays
# isolated. Each page starts with the suite's default server up (reused, or restarted if
# the page before left other settings); teardown_file stops everything this file started.

DOC_PAGES=(README.md docs/usage.md docs/troubleshooting.md docs/reference.md
  docs/performance.md docs/scaling.md docs/local-infer.md docs/development.md)
DOC_SCRIPTS=(gpt-oss-fast.sh gpt-oss-query.sh local-infer.sh gpt-oss-status.sh gpt-oss-bench.sh
  gpt-oss-rpc-worker.sh gpt-oss-tune.sh)

setup_file() {
  load helpers/test_helper
  local real_cache entry
  # Provisioned once by `make setup`; resolved in the real HOME, where the caches live.
  "$SUITE_ROOT/scripts/provision/llama-server.sh" >/dev/null
  "$SUITE_ROOT/scripts/provision/llama-server.sh" --aug2025 >/dev/null
  "$SUITE_ROOT/scripts/provision/models.sh" smollm2 >/dev/null
  real_cache="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite"

  for var in $(compgen -v GPT_OSS_; compgen -v STUB_; compgen -v LLAMA_); do
    unset "$var"
  done
  unset NO_COLOR XDG_DATA_HOME
  export DOC_TEST_REAL_HOME=$HOME # an `output` block's paths under it read `~` too
  export HOME="$BATS_FILE_TMPDIR/home"
  export XDG_STATE_HOME="$HOME/.local/state" XDG_CACHE_HOME="$HOME/.cache"
  export XDG_CONFIG_HOME="$HOME/.config"
  mkdir -p "$XDG_STATE_HOME" "$XDG_CACHE_HOME/gpt-oss-suite" "$XDG_CONFIG_HOME"
  for entry in "$real_cache"/*; do
    [[ "${entry##*/}" == dialect ]] || ln -s "$entry" "$XDG_CACHE_HOME/gpt-oss-suite/"
  done

  GPT_OSS_GGUF_MODEL_PATH=$("$SUITE_ROOT/scripts/provision/models.sh" smollm2)
  GPT_OSS_PORT=$(free_port)
  GPT_OSS_URL="http://127.0.0.1:$GPT_OSS_PORT"
  export GPT_OSS_GGUF_MODEL_PATH GPT_OSS_PORT GPT_OSS_URL
  DOC_SERVER_LOG="$BATS_FILE_TMPDIR/doc-server-start.log"
  export DOC_SERVER_LOG
  default_server_up
}

teardown_file() {
  load helpers/test_helper
  "$SUITE_ROOT/scripts/gpt-oss-fast.sh" stop >/dev/null 2>&1 3>&- || true
  # Anything a page left behind (keepalive loops, servers on other ports) carries our HOME.
  local -a pids=()
  [[ "$HOME" == "$BATS_FILE_TMPDIR/home" ]] || return 0
  mapfile -t pids < <(pids_with_our_home)
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  sleep 0.5
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

setup() {
  load helpers/test_helper
  load "$SUITE_ROOT/.deps/node_modules/bats-support/load.bash"
  load "$SUITE_ROOT/.deps/node_modules/bats-assert/load.bash"
  DOC_BLOCKS="$SUITE_ROOT/tests/helpers/doc_blocks.py"
}

# default_server_up → the suite's server with default settings answers at GPT_OSS_URL:
# reused when it runs, restarted when a page left other settings (exit 8), started when
# a page stopped it. fd 3 closed: bats would wait for the background server otherwise.
default_server_up() {
  local status=0
  "$SUITE_ROOT/scripts/gpt-oss-fast.sh" >/dev/null 2>"$DOC_SERVER_LOG" 3>&- || status=$?
  if ((status == 8)); then
    status=0
    "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --restart >/dev/null 2>"$DOC_SERVER_LOG" 3>&- || status=$?
  fi
  if ((status)); then
    echo "doc-test: could not start the suite's server (exit $status):"
    cat "$DOC_SERVER_LOG"
    return 1
  fi
}

# run_page PAGE → runs PAGE's blocks; on failure prints the failing PAGE:LINE and the
# last lines of what the page's commands printed.
run_page() {
  local page=$1 out="$BATS_TEST_TMPDIR/blocks" status=0
  default_server_up
  cd "$SUITE_ROOT" || return 1
  python3 "$DOC_BLOCKS" extract "$page" "$out"
  timeout -k 5 "${DOC_TEST_PAGE_TIMEOUT:-300}" bash --noprofile --norc "$out/run.sh" \
    </dev/null >"$out/log" 2>&1 3>&- || status=$?
  # DOC_TEST_LOG_DIR=DIR keeps each page's full output (with per-block times) for a look.
  [[ -z "${DOC_TEST_LOG_DIR:-}" ]] || cp "$out/log" "$DOC_TEST_LOG_DIR/${page//\//_}.log"
  if ((status == 124 || status == 137)); then
    echo "doc-test: TIMEOUT after ${DOC_TEST_PAGE_TIMEOUT:-300}s in the block at $(cat "$out/current" 2>/dev/null)"
  fi
  if ((status)); then
    grep '^doc-test: FAILED' "$out/log" || echo "doc-test: $page stopped with exit $status"
    echo "--- what $page's commands printed (last 60 lines) ---"
    tail -n 60 "$out/log"
    return 1
  fi
  grep '^doc-test: OK' "$out/log" >&3 || true
}

@test "README.md: every command block runs as pasted" { run_page README.md; }
@test "docs/usage.md: every command block runs as pasted" { run_page docs/usage.md; }
@test "docs/troubleshooting.md: every command block runs as pasted" { run_page docs/troubleshooting.md; }
@test "docs/reference.md: every command block runs as pasted" { run_page docs/reference.md; }
@test "docs/performance.md: every command block runs as pasted" { run_page docs/performance.md; }
@test "docs/scaling.md: every command block runs as pasted" { run_page docs/scaling.md; }
@test "docs/local-infer.md: every command block runs as pasted" { run_page docs/local-infer.md; }
@test "docs/development.md: every command block runs as pasted" { run_page docs/development.md; }

@test "every Markdown page has its doc test above" {
  local page
  cd "$SUITE_ROOT"
  for page in README.md docs/*.md; do
    [[ " ${DOC_PAGES[*]} " == *" $page "* ]] || fail "$page has no doc test: add it to DOC_PAGES and a @test line"
  done
  for page in "${DOC_PAGES[@]}"; do
    [[ -f "$page" ]] || fail "$page is tested but does not exist"
  done
}

@test "make demo/test/bench/setup blocks are skip-annotated (they would recurse or take minutes)" {
  local page out="$BATS_TEST_TMPDIR/check" hits
  cd "$SUITE_ROOT"
  for page in "${DOC_PAGES[@]}"; do
    rm -rf "$out"
    python3 "$DOC_BLOCKS" extract "$page" "$out"
    hits=$(grep -nE '(^|[;&|[:space:]])make[[:space:]]+(demo|test|test-bats|test-py|bench|setup)\b' "$out"/[0-9]*.sh 2>/dev/null || true)
    [[ -z "$hits" ]] || fail "$page runs a make target that needs <!-- doc-test: skip (...) -->: $hits"
  done
}

@test "links between the pages point at files and headings that exist" {
  cd "$SUITE_ROOT"
  run python3 "$DOC_BLOCKS" check-links "${DOC_PAGES[@]}"
  assert_success
}

@test "docs/reference.md's option tables are the ones make docs generates from each script's --help" {
  local script
  cd "$SUITE_ROOT"
  run python3 "$DOC_BLOCKS" tables docs/reference.md
  assert_success
  for script in "${DOC_SCRIPTS[@]}"; do
    grep -q "^<!-- options: $script " docs/reference.md || fail "no generated option table of $script"
  done
}

@test "a page whose commands print something else than the output it shows fails, naming the block" {
  local page="$BATS_TEST_TMPDIR/page.md" out="$BATS_TEST_TMPDIR/blocks"
  printf '%s\n' '# A page' '' '<!-- doc-test: output -->' '```console' \
    '$ scripts/gpt-oss-query.sh --version' 'gpt-oss-query.sh 0.0.0-not-this-one' '```' >"$page"
  cd "$SUITE_ROOT"
  python3 "$DOC_BLOCKS" extract "$page" "$out"
  run bash --noprofile --norc "$out/run.sh"
  assert_failure
  assert_output --partial "-gpt-oss-query.sh 0.0.0-not-this-one"
  assert_output --partial "page.md:4: the output differs from what the page shows"
}

@test "every GPT_OSS_* variable the code reads is in docs/reference.md" {
  local var missing=()
  cd "$SUITE_ROOT"
  while read -r var; do
    grep -q "\`$var\`" docs/reference.md || missing+=("$var")
  done < <(grep -rhoIE --exclude-dir=__pycache__ 'GPT_OSS_[A-Z0-9_]*[A-Z0-9]' scripts py | sort -u)
  ((${#missing[@]} == 0)) || fail "not in docs/reference.md: ${missing[*]}"
}

@test "docs/reference.md's exit codes are the ones in the table both languages read" {
  local name code
  cd "$SUITE_ROOT"
  while read -r name code; do
    grep -qE "^\| $code \| \`$name\` \|" docs/reference.md || fail "no row '| $code | \`$name\` |' in docs/reference.md"
  done < <(sed -nE 's/^(EXIT_[A-Z_]+)=([0-9]+).*/\1 \2/p' py/gpt_oss_suite/exit_codes.sh)
}

@test "the blocks the doc test does not run are listed, each with its reason" {
  local line ran=0 skipped=0 expect=0 outputs=0
  local -a skips=()
  cd "$SUITE_ROOT"
  run python3 "$DOC_BLOCKS" list "${DOC_PAGES[@]}"
  assert_success
  while IFS=$'\t' read -r page number _ action compared detail; do
    [[ $compared != output ]] || outputs=$((outputs + 1))
    case $action in
      run) ran=$((ran + 1)) ;;
      exit) ran=$((ran + 1)) expect=$((expect + 1)) ;;
      skip)
        skipped=$((skipped + 1))
        [[ -n "$detail" ]] || fail "$page:$number is skipped without a reason"
        skips+=("$page:$number ($detail)")
        ;;
    esac
  done <<<"$output"
  echo "# doc blocks: $ran run ($expect with a promised non-zero exit, $outputs with their output compared), $skipped skipped:" >&3
  for line in "${skips[@]}"; do echo "#   skip $line" >&3; done
  ((ran > 0 && outputs > 0))
}
