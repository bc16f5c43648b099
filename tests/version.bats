#!/usr/bin/env bats
# --version on every command and on gpt-oss-py (issue 16): the suite's version from its
# one place, the VERSION file; never a network call; gpt-oss-fast.sh --version also names
# the llama-server binary it would use and that binary's own version line.

setup() {
  load helpers/test_helper
  common_setup
  read -r VERSION <"$SUITE_ROOT/VERSION"
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
}

teardown() {
  common_teardown
}

@test "every command prints NAME (gpt-oss-suite) VERSION from the VERSION file, and its --help lists --version" {
  local script
  start_stub # a server the commands could reach: --version must not
  use_fake_llama_server
  while read -r script; do
    run --separate-stderr "$script" --version
    assert_success
    assert_line --index 0 "${script##*/} (gpt-oss-suite) $VERSION"
    assert_equal "$stderr" ""
    run "$script" --help
    assert_line --regexp '^ +--version +print the suite'"'"'s version'
  done < <("$SUITE_ROOT/.venv/bin/gpt-oss-py" options list)
  assert_equal "$(stub_request_count)" 0
}

@test "gpt-oss-py --version reads the same VERSION file, and pyproject.toml takes its version from it" {
  run --separate-stderr "$SUITE_ROOT/.venv/bin/gpt-oss-py" --version
  assert_success
  assert_output "gpt-oss-py (gpt-oss-suite) $VERSION"
  run grep -E '^version = \{ file = "VERSION" \}$' "$SUITE_ROOT/pyproject.toml"
  assert_success
  run grep -E '^dynamic = \["version"\]' "$SUITE_ROOT/pyproject.toml"
  assert_success
}

@test "a changed VERSION shows in every --version at once (one place)" {
  local copy="$BATS_TEST_TMPDIR/suite"
  mkdir -p "$copy"
  cp -r "$SUITE_ROOT/scripts" "$copy/"
  mkdir -p "$copy/py/gpt_oss_suite" # the exit-code table both languages read
  cp "$SUITE_ROOT/py/gpt_oss_suite/exit_codes.sh" "$copy/py/gpt_oss_suite/"
  echo 9.8.7 >"$copy/VERSION"
  run "$copy/scripts/gpt-oss-query.sh" --version
  assert_output "gpt-oss-query.sh (gpt-oss-suite) 9.8.7"
  run "$copy/scripts/local-infer.sh" --version
  assert_output "local-infer.sh (gpt-oss-suite) 9.8.7"
}

@test "gpt-oss-fast.sh --version names the llama-server it would use and that binary's version line" {
  export LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server"
  run --separate-stderr "$FAST" --version
  assert_success
  assert_line --index 0 "gpt-oss-fast.sh (gpt-oss-suite) $VERSION"
  assert_line --index 1 "llama-server  $LLAMA_SERVER"
  assert_line --index 2 "              version: 11434 (1c5d8a2)"
  STUB_HELP=old run --separate-stderr "$FAST" --version
  assert_line --index 2 "              version: 6188 (21c17b5)"
}

@test "gpt-oss-fast.sh --version follows PATH like a start does" {
  use_fake_llama_server
  run --separate-stderr "$FAST" --version
  assert_success
  assert_line --index 1 "llama-server  $FAKE_BIN_DIR/llama-server"
}

@test "gpt-oss-fast.sh --version without any llama-server still prints the suite's version" {
  export LLAMA_SERVER="$BATS_TEST_TMPDIR/not-there"
  run --separate-stderr "$FAST" --version
  assert_success
  assert_line --index 0 "gpt-oss-fast.sh (gpt-oss-suite) $VERSION"
  assert_line --index 1 "llama-server  none found"
  assert_equal "$stderr" "gpt-oss-fast.sh: LLAMA_SERVER=$BATS_TEST_TMPDIR/not-there is not an executable file (see gpt-oss-fast.sh --help)"
}

@test "gpt-oss-fast.sh --version says so when the binary prints no version line" {
  printf '#!/bin/sh\necho "usage: something else"\n' >"$BATS_TEST_TMPDIR/odd-server"
  chmod +x "$BATS_TEST_TMPDIR/odd-server"
  LLAMA_SERVER="$BATS_TEST_TMPDIR/odd-server" run --separate-stderr "$FAST" --version
  assert_success
  assert_line --index 2 "              no version line from $BATS_TEST_TMPDIR/odd-server --version"
}
