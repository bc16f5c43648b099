# shellcheck shell=bash
# llama.cpp RPC workers (ggml-rpc-server) as the clients see them: does one answer, and
# what to say when a server that uses them dropped a request. The Python twin of
# rpc_crash_hint is py/gpt_oss_suite/rpc_state.py (same state files, same words).
# Needs common.sh. Sourced only where it is needed (an error path, an RPC start).
#
# "Answers" means the worker's port accepts a TCP connection; nothing is sent (the RPC
# protocol has no probe message, and bytes a worker did not expect can crash it). A
# worker serves one client at a time: while a llama-server holds it, a new connection
# waits in its accept queue (two fit; they stay there until that client lets go), then
# connecting times out. So a worker this host already holds a connection to (ss(8) shows
# it established; on systems without ss this step is skipped) is "connected" and not
# probed: normally the suite's own server, which keeps one open to each of its workers.
#
#   rpc_probe HOST:PORT SECS  → one word: connected | answers | refused | timeout | error
#                                (then a tab and the system's message)
#   rpc_clients PORT          → the peers of the established connections to this host's
#                                PORT, one per line (who a local worker serves)
#   rpc_probe_all SECS ADDR... → one line per ADDR, in order: ADDR<TAB>WORD<TAB>DETAIL,
#                                probed in parallel
#   rpc_detail WORD DETAIL SECS → the words for people: "answers", "connection refused", ...
#   rpc_require_workers LIST  → exit 3 naming every worker of LIST (host:port,...) that
#                                does not answer within 2 s (gpt-oss-fast.sh, before a start)
#   rpc_recorded_workers URL  → the workers (one per line) the suite's server at URL was
#                                started with, from its state; status 1 when none
#   rpc_crash_hint URL        → when the suite's server at URL was started with RPC
#                                workers, what to add to "closed the connection without a
#                                complete reply": which of them no longer answer (or that
#                                all still do); status 1 (nothing printed) otherwise

RPC_PROBE_SECS=1 # clients, after a dropped request (a worker on loopback refuses at once)

rpc_probe() {
  local addr=$1 secs=$2 out status=0
  if command -v ss >/dev/null 2>&1 &&
    [[ -n "$(ss -Htn state established dst "$addr" 2>/dev/null)" ]]; then
    echo connected
    return 0
  fi
  # shellcheck disable=SC2016 # expanded by the inner bash
  out=$(timeout "$secs" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${addr%:*}" "${addr##*:}" 2>&1) || status=$?
  if ((status == 0)); then
    echo answers
  elif ((status == 124)); then
    echo timeout
  elif [[ "$out" == *"Connection refused"* ]]; then
    echo refused
  else
    out=${out%%$'\n'*}
    printf 'error\t%s\n' "${out##*: }"
  fi
}

rpc_clients() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Htn state established sport = ":$1" 2>/dev/null | awk '{ print $NF }'
}

rpc_probe_all() {
  local secs=$1 i
  shift
  local -a addrs=("$@")
  # Each line is written at once (shorter than PIPE_BUF), so parallel probes do not mix.
  {
    for i in "${!addrs[@]}"; do
      printf '%d\t%s\t%s\n' "$i" "${addrs[i]}" "$(rpc_probe "${addrs[i]}" "$secs")" &
    done
    wait
  } | sort -n | cut -f2-
}

rpc_detail() { # rpc_detail WORD DETAIL SECS
  case $1 in
    answers) echo answers ;;
    connected) echo "connected: this host holds a connection to it" ;;
    refused) echo "connection refused" ;;
    timeout) echo "no answer within $3 s: busy with another client, or unreachable" ;;
    *) echo "${2:-cannot connect}" ;;
  esac
}

rpc_require_workers() {
  local addr word detail down="" up="" n=0
  local -a list=()
  IFS=, read -ra list <<<"$1"
  while IFS=$'\t' read -r addr word detail; do
    case $word in
      answers) up+="${up:+, }$addr"; continue ;;
      connected) detail="busy: another program on this host holds it, and a worker serves one client at a time" ;;
      *) detail=$(rpc_detail "$word" "$detail" 2) ;;
    esac
    down+="${down:+, }$addr ($detail)"
    n=$((n + 1))
  done < <(rpc_probe_all 2 "${list[@]}")
  if ((n == 1)); then
    die "$EXIT_UNREACHABLE" "an RPC worker in GPT_OSS_RPC does not answer: $down; start it on its host (scripts/gpt-oss-rpc-worker.sh) or remove it from GPT_OSS_RPC"
  elif ((n > 1)); then
    die "$EXIT_UNREACHABLE" "$n RPC workers in GPT_OSS_RPC do not answer: $down; start them on their hosts (scripts/gpt-oss-rpc-worker.sh) or remove them from GPT_OSS_RPC"
  fi
  say "RPC workers answer: $up"
}

rpc_recorded_workers() {
  local dir url=${1%/} recorded
  dir=$(server_state_dir "$(url_port "$url")")
  [[ -s "$dir/server.rpc" && -s "$dir/server.url" ]] || return 1
  recorded=$(<"$dir/server.url")
  [[ "${recorded%/}" == "$url" ]] || return 1
  grep -v '^$' "$dir/server.rpc"
}

rpc_crash_hint() {
  local url=$1 addr word detail all="" gone="" why=""
  local -a workers=() down=()
  # Where the server's state is kept (once: sourcing it again would forget a start's).
  declare -F server_state_dir >/dev/null || use_libs lifecycle
  mapfile -t workers < <(rpc_recorded_workers "$url" || true)
  ((${#workers[@]})) || return 1
  while IFS=$'\t' read -r addr word detail; do
    all+="${all:+, }$addr"
    [[ "$word" == answers || "$word" == connected ]] && continue
    down+=("$addr")
    why=$(rpc_detail "$word" "$detail" "$RPC_PROBE_SECS")
    gone+="${gone:+, }$addr ($why)"
  done < <(rpc_probe_all "$RPC_PROBE_SECS" "${workers[@]}")
  if ((${#down[@]} == 0)); then
    echo " (did it crash? it uses the llama.cpp RPC workers $all, which all still answer; its log: $(server_state_dir "$(url_port "$url")")/server.log)"
  elif ((${#down[@]} == 1)); then
    echo ": it uses the llama.cpp RPC workers $all, and ${down[0]} no longer answers ($why); restart that worker, then the server (gpt-oss-fast.sh --restart)"
  else
    echo ": it uses the llama.cpp RPC workers $all, and these no longer answer: $gone; restart them, then the server (gpt-oss-fast.sh --restart)"
  fi
}
