# shellcheck shell=bash
# What a failed request means, as one line on stderr and the suite's exit code.
# Shared by the Bash request paths (gpt-oss-query.sh, local-infer.sh --raw) so both
# say the same thing for the same failure. They read the reply from the global `reply`.
# Needs common.sh; brings json.sh with it.
# shellcheck disable=SC2154 # `reply` is set by the script that sources this file

# shellcheck source=scripts/lib/json.sh
source "${BASH_SOURCE[0]%/*}/json.sh"

# server_message → the "message" of an error reply ({"error":{...}}), else its first line
server_message() {
  local error message=${reply%%$'\n'*}
  message=${message:0:200}
  json_object_field_to error "$reply" error && json_string_field_to message "$error" message
  printf '%s\n' "${message%%$'\n'*}" # one line on stderr, whatever the server wrote
}

# The exit codes are the FAIL_* rows of the one table (py/gpt_oss_suite/exit_codes.sh);
# which kind a failure is, is decided here for curl and in http_client.py for Python:
# tests/py/test_rules.py feeds both the same failures.

# die_on_curl_failure STATUS URL TIMEOUT [CURL_ERROR] → returns only when STATUS is 0
die_on_curl_failure() {
  local status=$1 url=$2 timeout=$3 curl_error=${4:-}
  case $status in
    0) return 0 ;;
    5 | 6 | 7) die_unreachable "$url" ;;
    28) die "$FAIL_TIMEOUT" "no complete reply from $url within ${timeout}s (--timeout)" ;;
    18 | 52 | 56)
      use_libs rpc # a server started with RPC workers drops requests when one of them dies
      die "$FAIL_DROPPED" "the server at $url closed the connection without a complete reply$(rpc_crash_hint "$url" || echo " (did it crash?)")"
      ;;
    1 | 3) die "$FAIL_BAD_URL" "cannot use URL '$url': ${curl_error:-curl exit $status} (see $PROG --help)" ;;
    *) die "$EXIT_ERROR" "request to $url failed: ${curl_error:-curl exit $status}" ;;
  esac
}

# die_on_http_error HTTP URL [WHAT_NOW_WHEN_LOADING] [ENDPOINT] → returns only when
# HTTP is 200 (ENDPOINT /completion: a 404 there means a server that is not llama.cpp)
die_on_http_error() {
  local http=$1 url=$2 loading_hint=${3:-retry shortly} endpoint=${4:-} error='' n_prompt n_ctx code
  case $http in
    200) return 0 ;;
    404)
      [[ $endpoint != /completion ]] ||
        die "$FAIL_HTTP" "the server at $url has no llama.cpp /completion endpoint (HTTP 404: $(server_message)); for an OpenAI-compatible server use local-infer.sh --backend openai"
      die "$FAIL_HTTP" "the server at $url answered HTTP 404: $(server_message)"
      ;;
    503) die "$FAIL_LOADING" "the server at $url is still loading the model (HTTP 503: $(server_message)); $loading_hint" ;;
    401)
      [[ -z ${GPT_OSS_API_KEY:+set} ]] || # :+ keeps the key out of a GPT_OSS_DEBUG trace
        die "$FAIL_HTTP" "the server at $url rejected GPT_OSS_API_KEY (HTTP 401: $(server_message))"
      die "$FAIL_HTTP" "the server at $url needs an API key: set GPT_OSS_API_KEY (HTTP 401: $(server_message))"
      ;;
    400)
      if json_object_field_to error "$reply" error &&
        [[ $(json_string_field "$error" type) == exceed_context_size_error ]]; then
        n_prompt=$(json_number_field "$error" n_prompt_tokens) || n_prompt='?'
        n_ctx=$(json_number_field "$error" n_ctx) || n_ctx='?'
        die "$FAIL_CONTEXT" "the prompt is $n_prompt tokens but the per-slot context is $n_ctx tokens; raise GPT_OSS_CTX (and restart the server) or shorten the prompt"
      fi
      # OpenAI, vLLM and llama_cpp.server: code "context_length_exceeded", and a message
      # "This model's maximum context length is N tokens, ..." (spaces after colons too).
      code=
      [[ -z $error ]] || json_string_field_to code "$error" code || code=
      if [[ $code == context_length_exceeded || $(server_message) == *"maximum context length"* ]]; then
        die "$FAIL_CONTEXT" "the prompt does not fit the server's context (HTTP 400: $(server_message)); shorten the prompt or give the server a larger context"
      fi
      die "$FAIL_HTTP" "the server at $url refused the request (HTTP 400: $(server_message))"
      ;;
    500)
      # Unified KV (-kvu): the slots share one pool, and when the requests running at the
      # same time hold more tokens than it, the server fails all of them with this.
      [[ $(server_message) != "Context size has been exceeded." ]] ||
        die "$FAIL_CONTEXT" "the server's shared KV pool (unified KV) ran out: the requests running at the same time hold more tokens than it has, so it failed them all (HTTP 500: Context size has been exceeded.); retry, send fewer requests at once, or raise GPT_OSS_CTX"
      die "$FAIL_HTTP" "the server at $url answered HTTP 500: $(server_message)"
      ;;
    *) die "$FAIL_HTTP" "the server at $url answered HTTP $http: $(server_message)" ;;
  esac
}

# warn_if_truncated TRUNCATED → an Aug-2025 server cut the prompt instead of answering 400
warn_if_truncated() {
  [[ $1 == true ]] || return 0
  warn "the server cut the prompt to fit its per-slot context (\"truncated\": true); the answer saw only part of it — raise GPT_OSS_CTX or shorten the prompt"
}
