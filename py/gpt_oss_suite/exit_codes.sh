# shellcheck shell=bash disable=SC2034
# The suite's exit codes, and the code each kind of failed request ends with: the one
# table. scripts/lib/common.sh sources it; py/gpt_oss_suite/errors.py parses it (NAME=N
# or NAME=$NAME, then a comment); docs/reference.md documents it (tests/py/test_rules.py).
EXIT_ERROR=1        # anything not listed below
EXIT_USAGE=2        # bad flag, bad env value, bad input
EXIT_UNREACHABLE=3  # nothing answers at the URL
EXIT_LOADING=4      # server answers 503 (model still loading)
EXIT_CONTEXT=5      # prompt does not fit the per-slot context
EXIT_SERVER=6       # server answered an error or a reply we cannot read
EXIT_NO_MODEL=7     # no GGUF model found
EXIT_PORT_BUSY=8    # port held by something else, or our server with other settings
EXIT_START_FAILED=9 # llama-server exited during start-up
EXIT_TIMEOUT=10     # a wait ran out (start-up, request --timeout)
EXIT_TOOL_TURNS=11  # --max-tool-turns reached without a final answer

# A failed request, by kind (which kind: request_errors.sh for curl, http_client.py):
FAIL_UNREACHABLE=$EXIT_UNREACHABLE # nothing accepts a connection (refused, no such host)
FAIL_TIMEOUT=$EXIT_TIMEOUT         # no complete reply within the limit, connecting included
FAIL_DROPPED=$EXIT_SERVER          # the connection closed before the reply was complete
FAIL_BAD_URL=$EXIT_USAGE           # a URL the client cannot use
FAIL_LOADING=$EXIT_LOADING         # HTTP 503: the model is still loading
FAIL_CONTEXT=$EXIT_CONTEXT         # HTTP 400 context overflow; HTTP 500 unified KV pool full
FAIL_HTTP=$EXIT_SERVER             # any other HTTP error (401 and 404 included)
