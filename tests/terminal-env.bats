#!/usr/bin/env bats
# The tests that need a terminal (they run a script under script(1) and look for colour
# or a progress bar) pin the terminal they need: they pass whatever TERM and NO_COLOR the
# caller has (an editor's shell, some CI: TERM=dumb), so `make test` does not depend on
# where it runs. This file runs them again in such an environment.

bats_require_minimum_version 1.5.0
load helpers/test_helper

setup() { common_setup; }
teardown() { common_teardown; }

@test "the terminal tests pass when the caller's TERM is dumb and NO_COLOR is set" {
  local -a files=() clean=()
  local file var expected
  for file in "$SUITE_ROOT"/tests/*.bats; do
    grep -q 'script -q' "$file" && files+=("$file")
  done
  expected=$(cat "${files[@]}" | grep -c '^@test ".*on a terminal')
  ((${#files[@]} >= 2 && expected >= 2))
  # The inner bats must not see this run's own BATS_* state.
  for var in $(compgen -e | grep '^BATS_'); do clean+=(-u "$var"); done
  run env "${clean[@]}" TERM=dumb NO_COLOR=1 "$BATS_ROOT/bin/bats" --tap \
    --filter 'on a terminal' "${files[@]}"
  assert_success
  assert_line "1..$expected"
  [[ $(grep -c '^ok ' <<<"$output") == "$expected" ]]
  refute_line --partial 'not ok'
}
