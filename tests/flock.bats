#!/usr/bin/env bats
# scripts/lib/flock.sh: the kernel's lock (flock(2)), for builds and starts that must not
# run twice at once, released when its holder dies however it dies.

setup() {
  load helpers/test_helper
  common_setup
  HOLD="$BATS_TEST_TMPDIR/hold.sh"
  cat >"$HOLD" <<'SH'
source "$1/scripts/lib/flock.sh"
flock_wait_announced "$2" "the test build"
echo "$3 has it" >>"$4"
sleep "$5"
echo "$3 done" >>"$4"
SH
}
teardown() { common_teardown; }

@test "a second holder waits, says so once, and gets the lock when the first is done" {
  local lock="$BATS_TEST_TMPDIR/locks/x.lock" log="$BATS_TEST_TMPDIR/log"
  bash "$HOLD" "$SUITE_ROOT" "$lock" first "$log" 1 3>&- &
  until [[ -s "$log" ]]; do sleep 0.05; done
  run --separate-stderr bash "$HOLD" "$SUITE_ROOT" "$lock" second "$log" 0
  assert_success
  assert_equal "$stderr" "provision: another build of the test build is running; waiting for it"
  assert_equal "$(cat "$log")" $'first has it\nfirst done\nsecond has it\nsecond done'
}

@test "a holder killed with SIGKILL (and its children) leaves no stale lock behind" {
  local lock="$BATS_TEST_TMPDIR/x.lock" log="$BATS_TEST_TMPDIR/log"
  bash "$HOLD" "$SUITE_ROOT" "$lock" first "$log" 30 3>&- &
  local pid=$!
  until [[ -s "$log" ]]; do sleep 0.05; done
  # Children inherit the open lock file: they hold it until they end too.
  pkill -KILL -P "$pid"
  kill -KILL "$pid" 2>/dev/null || true # gone already when its sleep was its last command
  run --separate-stderr timeout 5 bash "$HOLD" "$SUITE_ROOT" "$lock" second "$log" 0
  assert_success
  grep -q "second done" "$log"
}
