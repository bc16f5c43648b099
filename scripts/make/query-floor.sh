#!/usr/bin/env bash
# Usage: scripts/make/query-floor.sh exec|coproc URL BODY_FILE
# Summary: make bench's floors for row 1: the least a Bash entrypoint adds to bare curl.
#
#   exec    a script that only execs curl with the request: `env`, Bash's start-up, exec
#   coproc  gpt-oss-query.sh's design and nothing else: curl started first as a
#           coprocess, its configuration (URL, body) written to it, the reply read back
#           and its text printed; no libraries, no checks (the body is a short JSON text)
# gpt-oss-query.sh can come near `coproc`, never below it; `exec` is below both.
set -euo pipefail
if [[ $1 == exec ]]; then
  exec curl -4 -s -H 'Content-Type: application/json' --data-binary "@$3" "$2"
fi
coproc curl -4 -sS -H 'Content-Type: application/json' -X POST -H 'Expect:' \
  -w '\n%{http_code} %{errormsg}' -K - 2>/dev/null
exec {out}<&"${COPROC[0]}"
in=${COPROC[1]} pid=$COPROC_PID
IFS= read -r -d '' body <"$3" || true
body=${body//\\/\\\\}
printf 'url = "%s"\ndata-binary = "%s"\n' "$2" "${body//\"/\\\"}" >&"$in"
exec {in}>&-
IFS= read -r -N 65536 -u "$out" head || true
wait "$pid"
text=${head%$'\n'*}
text=${text#'{"content":"'}
printf '%s\n' "${text%'","truncated":false}'}"
