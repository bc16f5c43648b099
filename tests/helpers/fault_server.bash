# shellcheck shell=bash
# start_fault CONFIG_JSON... → runs tests/helpers/fault_server.py (a server that answers
# what the CONFIG_JSON objects, merged, say: see its docstring) on a free port, waits until it accepts
# connections and exports FAULT_URL. Needs test_helper (free_port, TEST_PIDS_FILE):
# teardown stops it.
start_fault() {
  local port pid tries=0 config="$BATS_TEST_TMPDIR/fault-config.json"
  python3 -c 'import json,sys; c={}; [c.update(json.loads(a)) for a in sys.argv[1:]]; print(json.dumps(c))' "$@" >"$config"
  port=$(free_port)
  python3 "$SUITE_ROOT/tests/helpers/fault_server.py" --port "$port" --config "$config" \
    >/dev/null 2>"$BATS_TEST_TMPDIR/fault-server.log" 3>&- &
  pid=$!
  echo "$pid" >>"$TEST_PIDS_FILE"
  until (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || ((tries++ >= 100)); then
      cat "$BATS_TEST_TMPDIR/fault-server.log" >&2
      return 1
    fi
    sleep 0.05
  done
  export FAULT_URL="http://127.0.0.1:$port"
}

# sse EVENT_JSON... → an SSE body: one `data: ` line per argument, each followed by a blank line
sse() {
  local event
  for event; do printf 'data: %s\n\n' "$event"; done
}

# route PATH STATUS BODY [EXTRA_JSON] → one route of a fault_server config, as JSON
route() {
  python3 -c 'import json,sys; r={"status":int(sys.argv[2]),"body":sys.argv[3]}; r.update(json.loads(sys.argv[4])); print(json.dumps({sys.argv[1]: r}))' \
    "$1" "$2" "$3" "${4:-{\}}"
}
