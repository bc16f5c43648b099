"""Parse a gpt-oss reply (Harmony text, or an OpenAI-shape response) into one JSON shape.

Result (every parser returns the same keys; `--json` output of `harmony parse`):
  final        str   the final-channel text ("" if none)
  analysis     str   analysis-channel text, messages joined by "\\n"
  commentary   str   commentary preambles (commentary with no recipient), joined by "\\n"
  tool_calls   list  {name, recipient, arguments (parsed JSON or null), raw, valid,
                      content_type, error?}; `valid` is false when `raw` is not JSON
  stop         str   return | call | end | limit | eos | incomplete | <server's reason>
  complete     bool  the reply reached a final answer or a tool call the client can act on
  special_tokens_stripped  bool  the server removed Harmony's special tokens from the text
  warnings     list  one-line notes (stripped tokens, malformed tool JSON, cut-off reply)
  messages     list  every parsed message: {role, channel, recipient, content_type,
                      content, terminated_by (token text or null)}

Raw text is what `/completion` returns after the prompt `<|start|>assistant`, special
tokens kept. The end-of-generation token (`<|return|>` or `<|call|>`) is not in that text,
so pass the reply's `stop_type` ("eos" = ended by such a token, "limit" = n_predict ran
out) to tell a finished answer from a cut-off one; without it, a message with no closing
token counts as incomplete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: `typing` costs start-up time on every Harmony call
    from typing import Any

_SPECIAL = re.compile(r"<\|(start|end|message|channel|constrain|return|call|endoftext)\|>")
_TERMINATORS = {"end": "<|end|>", "return": "<|return|>", "call": "<|call|>"}
_RECIPIENT = re.compile(r"to=([^\s<]+)")
_CHANNEL_WORDS = re.compile(r"^(analysis|commentary|final)")
_STRIPPED_MARKER = re.compile(r"assistant(analysis|commentary|final)")


def _empty_result() -> dict:
    return {
        "final": "",
        "analysis": "",
        "commentary": "",
        "tool_calls": [],
        "stop": "incomplete",
        "complete": False,
        "special_tokens_stripped": False,
        "warnings": [],
        "messages": [],
    }


def _take(pattern: str | re.Pattern, text: str) -> tuple[str | None, str]:
    """The first group of `pattern`'s first match in `text`, and `text` without the match."""
    found = re.search(pattern, text)
    if not found:
        return None, text
    return found.group(1), text[: found.start()] + text[found.end() :]


def _parse_header(header: str) -> dict:
    """Split a header like ` to=functions.f<|channel|>commentary json` into its parts."""
    role, text = _take(r"^\s*([A-Za-z_][\w.\-]*)(?=\s|<\||$)", header)  # a word, never `to=`
    recipient, text = _take(_RECIPIENT, text)
    content_type, text = _take(r"<\|constrain\|>\s*([^\s<]+)", text)
    channel = None
    found = re.search(r"<\|channel\|>\s*([^\s<]+)", text)
    if found:
        channel = found.group(1)
        rest = text[found.end() :].split()
        if rest and content_type is None:
            content_type = rest[0]  # `commentary json`, as llama.cpp renders past calls
    return {"role": role, "channel": channel, "recipient": recipient, "content_type": content_type}


def _split_messages(text: str) -> list[dict]:
    """Cut raw Harmony text into messages; the first one continues `<|start|>assistant`."""
    messages: list[dict] = []
    for index, piece in enumerate(re.split(r"<\|start\|>", text)):
        if "<|message|>" not in piece:
            if not piece.strip():
                continue
            if index == 0 and not _SPECIAL.search(piece):
                # Text before any header: a plain answer.
                messages.append(_message("assistant", "final", None, content=piece))
            else:
                header = _parse_header(piece)
                role = header["role"] or "assistant"
                messages.append(_message(role, header["channel"], header["recipient"]))
            continue
        header_text, body = piece.split("<|message|>", 1)
        header = _parse_header(header_text)
        terminated_by = None
        found = re.search(r"<\|(end|return|call)\|>", body)
        if found:
            terminated_by = _TERMINATORS[found.group(1)]
            body = body[: found.start()]
        body = _SPECIAL.sub("", body) if "<|" in body else body
        role = header["role"] or "assistant"
        messages.append({**header, "role": role, "content": body, "terminated_by": terminated_by})
    return messages


def _message(role, channel, recipient, content_type=None, content=None, terminated_by=None):
    return {
        "role": role,
        "channel": channel,
        "recipient": recipient,
        "content_type": content_type,
        "content": content,
        "terminated_by": terminated_by,
    }


def tool_call_from_text(name: str, raw: str, recipient: str | None = None) -> dict:
    """A tool call record; malformed JSON is kept in `raw` and flagged, never raised."""
    call: dict[str, Any] = {
        "name": name,
        "recipient": recipient or f"functions.{name}",
        "arguments": None,
        "raw": raw,
        "valid": False,
    }
    try:
        call["arguments"] = json.loads(raw) if raw.strip() else {}
        call["valid"] = True
    except ValueError as err:
        call["error"] = f"arguments are not valid JSON: {err}"
    except RecursionError:  # valid JSON nested deeper than the decoder goes
        call["error"] = "arguments are nested too deeply to read"
    return call


def _looks_stripped(text: str) -> bool:
    """Harmony with its special tokens removed reads like `analysisWe need…assistantfinalHi`."""
    return bool(
        _STRIPPED_MARKER.search(text) or re.match(r"^(analysis|commentary|final)[A-Z]", text)
    )


def _parse_stripped(text: str, result: dict) -> None:
    """Best effort on text whose special tokens the server dropped."""
    result["special_tokens_stripped"] = True
    result["warnings"].append(
        "the server stripped Harmony special tokens (<|channel|>, <|message|>, ...) from the "
        "reply; channels were guessed from the words left behind. Ask for them with "
        '"preserved_tokens" or start llama-server with --special'
    )
    parts = re.split(r"assistant(?=analysis|commentary|final)", text)
    for part in parts:
        match = _CHANNEL_WORDS.match(part)
        channel = match.group(1) if match else "final"
        content = part[match.end() :] if match else part
        if channel == "final":
            result["final"] += content
        elif channel == "analysis":
            result["analysis"] = _joined(result["analysis"], content)
        else:
            result["commentary"] = _joined(result["commentary"], content)
        result["messages"].append(_message("assistant", channel, None, content=content))


def _joined(existing: str, more: str) -> str:
    return f"{existing}\n{more}" if existing else more


def parse_completion(text: str, stop_type: str | None = None) -> dict:
    """Parse raw Harmony completion text (see the module docstring for the result)."""
    result = _empty_result()
    if not _SPECIAL.search(text) and _looks_stripped(text):
        _parse_stripped(text, result)
        _finish(result, stop_type)
        return result
    messages = _split_messages(text)
    kept = []
    for message in messages:
        if message["role"] != "assistant":
            result["warnings"].append(
                f"the reply went on with a {message['role']} message; ignored from there"
            )
            break
        kept.append(message)
        content = message["content"]
        recipient = message["recipient"]
        if recipient and recipient != "assistant":
            if content is None:
                continue
            name = recipient.removeprefix("functions.")  # browser.search stays as it is
            call = tool_call_from_text(name, content, recipient)
            call["content_type"] = message["content_type"]
            if not call["valid"]:
                result["warnings"].append(f"tool call {name!r}: {call['error']}")
            result["tool_calls"].append(call)
        elif content is None:
            continue
        elif message["channel"] == "analysis":
            result["analysis"] = _joined(result["analysis"], content)
        elif message["channel"] == "commentary":
            result["commentary"] = _joined(result["commentary"], content)
        else:
            result["final"] += content
    result["messages"] = kept
    _finish(result, stop_type)
    return result


def _finish(result: dict, stop_type: str | None) -> None:
    """Set `stop` and `complete` from the last message and the server's stop type."""
    if not result["messages"]:
        result["stop"] = stop_type or "incomplete"
        result["warnings"].append("the reply is empty")
        return
    last = result["messages"][-1]
    is_call = bool(last["recipient"] and last["recipient"] != "assistant")
    terminated = last["terminated_by"]  # None too for a header cut off before <|message|>
    if terminated:
        stop = {"<|return|>": "return", "<|call|>": "call", "<|end|>": "end"}[terminated]
    elif stop_type in ("eos", "word", "stop"):
        stop = "call" if is_call else "return"
    elif stop_type == "limit" or stop_type == "length":
        stop = "limit"
    else:
        stop = stop_type or "incomplete"
    result["stop"] = stop
    final_done = last["channel"] in ("final", None) and not is_call and stop in ("return", "end")
    call_done = is_call and stop in ("call", "end")
    result["complete"] = bool(final_done or call_done)
    if not result["complete"] and stop in ("limit", "incomplete"):
        result["warnings"].append(
            "the reply was cut off (no <|end|>/<|return|>/<|call|>); what was there is kept"
        )


def parse_completion_reply(reply: Mapping[str, Any]) -> dict:
    """Parse a `/completion` JSON reply (`content` + `stop_type`) or an OpenAI
    `/v1/completions` reply (`choices[0].text` + `finish_reason`)."""
    if "choices" in reply:
        choice = _first_choice(reply)
        return parse_completion(str(choice.get("text") or ""), choice.get("finish_reason"))
    return parse_completion(str(reply.get("content") or ""), reply.get("stop_type"))


def _first_choice(reply: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ValueError('an OpenAI reply needs a non-empty "choices" list')
    return choices[0]


def _shaped(value: Any, kind: type, field: str, what: str) -> Any:
    """`value` when it is a `kind`; else ValueError: the reply's `field` is not `what`."""
    if not isinstance(value, kind):
        raise ValueError(f"{field} is {type(value).__name__}, not {what}")
    return value


def parse_openai_chat(reply: Mapping[str, Any]) -> dict:
    """Parse an OpenAI `/v1/chat/completions` reply (llama-server puts the analysis in
    `reasoning_content` and tool calls in `tool_calls`) into the same JSON shape."""
    result = _empty_result()
    choice = _first_choice(reply)
    if "message" not in choice and "text" in choice:
        return parse_completion_reply(reply)
    # A reply of the wrong shape is a ValueError naming the field, never a crash.
    message = _shaped(choice.get("message") or {}, Mapping, "message", "an object")
    content = message.get("content")
    if isinstance(content, list):  # typed content parts
        content = "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    result["final"] = _shaped(content or "", str, "message.content", "a string")
    reasoning = message.get("reasoning_content") or ""
    result["analysis"] = _shaped(reasoning, str, "message.reasoning_content", "a string")
    for call in _shaped(message.get("tool_calls") or [], list, "message.tool_calls", "a list"):
        call = _shaped(call, Mapping, "message.tool_calls[]", "an object")
        function = _shaped(
            call.get("function") or {}, Mapping, "tool_calls[].function", "an object"
        )
        name = _shaped(function.get("name") or "", str, "tool_calls[].function.name", "a string")
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            parsed = tool_call_from_text(name, arguments)
        else:
            try:
                parsed = tool_call_from_text(name, json.dumps(arguments))
            except RecursionError:
                raise ValueError("tool_calls[].function.arguments is nested too deeply") from None
        parsed["content_type"] = "json"
        if call.get("id"):
            parsed["id"] = str(call["id"])
        if not parsed["valid"]:
            result["warnings"].append(f"tool call {name!r}: {parsed['error']}")
        result["tool_calls"].append(parsed)
    finish = _shaped(choice.get("finish_reason") or "", str, "finish_reason", "a string") or None
    stop = {"stop": "return", "tool_calls": "call", "length": "limit"}.get(finish, finish)
    result["stop"] = stop or "incomplete"
    result["complete"] = stop in ("return", "call")
    if stop == "limit":
        result["warnings"].append("the reply was cut off (finish_reason length)")
    if "<|channel|>" in result["final"]:
        result["warnings"].append("the content still holds Harmony tokens; parse it raw")
    channels = ("analysis", "final")
    result["messages"] = [_message("assistant", c, None, content=result[c]) for c in channels]
    return result


def parse_any(text: str, openai: bool = False) -> dict:
    """Parse what `harmony parse` reads: raw Harmony text, a `/completion` JSON reply, or
    (with `openai`, or when it has `choices`) an OpenAI-shape JSON reply."""
    stripped = text.lstrip()
    data = None
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
    if openai:
        if not isinstance(data, Mapping):
            raise ValueError("--openai expects a JSON reply from /v1/chat/completions")
        return parse_openai_chat(data)
    if isinstance(data, Mapping):
        if "choices" in data:
            return parse_openai_chat(data)
        if isinstance(data.get("content"), str) and ("stop_type" in data or "timings" in data):
            return parse_completion_reply(data)
    return parse_completion(text)
