#!/usr/bin/env bats
# The Harmony prompt local-infer.sh sends is the one the REAL server's own template
# renders (POST /apply-template), and harmony.py renders the same bytes on the bundled
# template (tiny gpt-oss): on the Nov-2026 server (jinja by default) and the Aug-2025 one
# started with --jinja. Started without it, the Aug-2025 server answers a bare prompt (no
# system block, no tools: HTTP 500): the suite refuses it and renders with harmony.py.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/real_server
  local old
  old=$("$REAL_SUITE_ROOT/scripts/provision/llama-server.sh" --aug2025)
  start_real_server tiny-gpt-oss -c 4096 -np 1
  export NEW_URL=$REAL_URL
  LLAMA_SERVER=$old start_real_server tiny-gpt-oss -c 4096 -np 1 --jinja
  export OLD_JINJA_URL=$REAL_URL
  LLAMA_SERVER=$old start_real_server tiny-gpt-oss -c 4096 -np 1
  export OLD_BARE_URL=$REAL_URL
}

teardown_file() { stop_real_server; }

setup() {
  load helpers/test_helper
  common_setup
}

teardown() { common_teardown; }

# agree URL → one line per case the chat loop sends: NAME same (the server's prompt is
# harmony.py's, byte for byte), differs, or refused (not a Harmony prompt holding the
# request, or an error): a plain prompt, system instructions with a reasoning level, the
# tools, a tool-call turn, a tool-result turn with quotes, unicode and a neutralised token.
agree() {
  "$SUITE_ROOT/.venv/bin/python" - "$1" <<'EOF'
import json, sys
from gpt_oss_suite import harmony
from gpt_oss_suite.context import ServerClient
from gpt_oss_suite.errors import SuiteError
from gpt_oss_suite.workspace_tools import TOOL_SPECS

def call(name, arguments, thinking=None):
    function = {"name": name, "arguments": json.dumps(arguments)}
    message = {"role": "assistant", "tool_calls": [{"type": "function", "function": function}]}
    return {**message, "reasoning_content": thinking} if thinking else message

user = {"role": "user", "content": "Summarize this repo"}
brief = {"role": "system", "content": "Be brief.\nUse French."}
listed = [call("list_files", {"glob": "*"}, "Look first."), {"role": "tool", "content": "README.md"}]
result = 'line "one"\n\u00e9 <\u200b|end|> \\ tab\t'
read = [call("read_file", {"path": "README.md", "end_line": 2}), {"role": "tool", "content": result}]
cases = {
    "plain": ([{"role": "user", "content": "hi"}], None, None),
    "instructions": ([brief, user], None, "low"),
    "tools": ([user], TOOL_SPECS, None),
    "tool-call": ([user, *listed], TOOL_SPECS, None),
    "tool-result": ([brief, user, *listed, *read], TOOL_SPECS, "high"),
}
client = ServerClient(sys.argv[1])
for name, (messages, tools, effort) in cases.items():
    body = {"messages": messages, "tools": tools or []}
    if effort:
        body["chat_template_kwargs"] = {"reasoning_effort": effort}
    try:
        served = client.request("POST", "/apply-template", body)["prompt"]
    except SuiteError:
        served = ""
    mine = harmony.render_prompt(messages, tools, reasoning_effort=effort)  # today, as the server
    if not harmony.is_harmony_rendering(served, messages, tools, effort):
        print(name, "refused")
    else:
        print(name, "same" if served == mine else "differs")
EOF
}

# prompt_tokens URL ARGS... → the prompt tokens of local-infer.sh's one Harmony request
prompt_tokens() {
  local url=$1
  shift
  "$SUITE_ROOT/scripts/local-infer.sh" --url "$url" --json -n 2 "$@" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["mode"] == "harmony", d; print(d["tokens"]["prompt"])'
}

# tokens_of URL JSON-BODY WHICH → /tokenize count of the server's rendering of the body
# (WHICH=server) or of harmony.py's (WHICH=python)
tokens_of() {
  "$SUITE_ROOT/.venv/bin/python" - "$@" <<'EOF'
import json, sys
from gpt_oss_suite import harmony
from gpt_oss_suite.context import ServerClient
url, body, which = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
client = ServerClient(url)
if which == "server":
    text = client.request("POST", "/apply-template", body)["prompt"]
else:
    text = harmony.render_prompt(body["messages"])
print(client.count_tokens(text)[0])
EOF
}

@test "the Nov-2026 server's /apply-template and harmony.py agree byte for byte on every case" {
  run agree "$NEW_URL"
  assert_success
  assert_output $'plain same\ninstructions same\ntools same\ntool-call same\ntool-result same'
}

@test "the Aug-2025 server with --jinja and harmony.py agree byte for byte on every case" {
  run agree "$OLD_JINJA_URL"
  assert_success
  assert_output $'plain same\ninstructions same\ntools same\ntool-call same\ntool-result same'
}

@test "the Aug-2025 server without --jinja renders no Harmony prompt, and the suite refuses it" {
  run agree "$OLD_BARE_URL"
  assert_success
  assert_output $'plain refused\ninstructions refused\ntools refused\ntool-call refused\ntool-result refused'
}

@test "local-infer.sh sends the server's rendering, and harmony.py's where the server has none" {
  local body='{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}'
  run prompt_tokens "$NEW_URL" --system 'Be brief.' hi
  assert_success
  assert_output "$(tokens_of "$NEW_URL" "$body" server)"
  run prompt_tokens "$OLD_BARE_URL" --system 'Be brief.' hi
  assert_success
  assert_output "$(tokens_of "$OLD_BARE_URL" "$body" python)"
  [[ $output != "$(tokens_of "$OLD_BARE_URL" "$body" server)" ]] # the bare prompt is shorter
}
