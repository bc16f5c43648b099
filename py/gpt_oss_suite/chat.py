"""The client loop behind `local-infer.sh` (everything but its `--raw` path).

- gpt-oss backend: the conversation is rendered to Harmony here (harmony.py), counted
  with the server's tokenizer and checked against the per-slot context before it is
  sent to `/completion` (special tokens kept in the reply), parsed (harmony_parse.py);
  tool calls run in the workspace (workspace_tools.py) and go back as tool messages
  until a final answer or `max_tool_turns`.
- openai backend: `/v1/chat/completions` with OpenAI `tools`, `tool_calls` and
  `reasoning_content`; the same loop, output and exit codes.

Fallback (the guide's promise): when the request does not fit the per-slot context —
found before sending, or told by the server (HTTP 400 exceed_context_size_error), or
noticed afterwards (an Aug-2025 server cuts the prompt and answers 200 with
`"truncated": true`) — the original prompt is sent raw instead, with one notice on
stderr. An answer computed from a cut Harmony prompt is never shown. With
`fallback=False` the overflow is a ContextError (exit 5).

`requests` is imported lazily (inside the functions that send).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import ipv4_url
from .errors import (
    EXIT_TIMEOUT,
    EXIT_TOOL_TURNS,
    ContextError,
    LoadingError,
    ServerError,
    SuiteError,
    UnreachableError,
)

LOADING_POLL_S = 0.25
FIX_HINT = "raise GPT_OSS_CTX (and restart the server), offer fewer tools, or lower --max-tokens"


@dataclass
class ChatOptions:
    """What `local-infer.sh` passes (see its --help)."""

    url: str = "http://127.0.0.1:8000"
    backend: str = "gpt-oss"
    model: str | None = None
    max_tokens: int = 256
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    system: str | None = None
    reasoning: str | None = None
    tools: bool = False
    workspace: str = "."
    max_tool_turns: int = 4
    stream: bool = False
    show_reasoning: bool = False
    timeout: float = 300.0  # 0 = no limit and no waiting for a loading model
    fallback: bool = True
    context_check: bool = True
    api_key: str | None = None
    date: str | None = None  # the Harmony system message's date (tests pin it)


@dataclass
class ChatResult:
    """The outcome; `to_json()` is the documented `--json` shape."""

    backend: str
    mode: str
    text: str = ""
    reasoning: str | None = None
    finish_reason: str = "stop"
    complete: bool = True
    truncated: bool = False
    fallback: dict | None = None
    tokens: dict = field(
        default_factory=lambda: {"prompt": None, "predicted": None, "cached": None}
    )
    timings: dict | None = None
    requests: int = 0
    tool_calls: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "backend": self.backend,
            "mode": self.mode,
            "text": self.text,
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "complete": self.complete,
            "truncated": self.truncated,
            "fallback": self.fallback,
            "tokens": self.tokens,
            "timings": self.timings,
            "requests": self.requests,
            "tool_calls": self.tool_calls,
        }

    def count(self, reply: dict) -> None:
        """Add one reply's token counts; keep its timings."""
        self.requests += 1
        timings = reply.get("timings") if isinstance(reply.get("timings"), dict) else None
        usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        prompt = reply.get("tokens_evaluated", usage.get("prompt_tokens"))
        predicted = reply.get("tokens_predicted", usage.get("completion_tokens"))
        cached = timings.get("cache_n") if timings else None
        if timings and prompt is None and isinstance(timings.get("prompt_n"), int):
            prompt = timings["prompt_n"] + (cached or 0)
        if timings and predicted is None:
            predicted = timings.get("predicted_n")
        for key, value in (("prompt", prompt), ("predicted", predicted), ("cached", cached)):
            if isinstance(value, int):
                self.tokens[key] = (self.tokens[key] or 0) + value
        self.timings = timings


class Sink:
    """Where the answer and the reasoning go as they become known. The CLI writes the
    answer to stdout and the reasoning to stderr; tests collect them."""

    def __init__(self, show_reasoning: bool = False, quiet: bool = False) -> None:
        self.show_reasoning = show_reasoning
        self.quiet = quiet  # --json: nothing but the JSON on stdout
        self.answer_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.notices: list[str] = []

    def answer(self, text: str) -> None:
        self.answer_parts.append(text)

    def reasoning(self, text: str) -> None:
        self.reasoning_parts.append(text)

    def reasoning_end(self) -> None:
        """One turn's reasoning is complete."""

    def notice(self, message: str) -> None:
        self.notices.append(message)


class ContextOverflow(Exception):
    """The request does not fit the per-slot context (checked, told by 400, or truncated)."""

    def __init__(self, reason: str, prompt_tokens: int | None, n_ctx: int | None, detail: str):
        super().__init__(detail)
        self.reason, self.prompt_tokens, self.n_ctx, self.detail = (
            reason,
            prompt_tokens,
            n_ctx,
            detail,
        )


# --------------------------------------------------------------------------- HTTP


class Transport:
    """POSTs with the suite's error mapping; waits (up to `timeout`) while the model loads."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        from .context import ServerClient

        self.url = ipv4_url(url)  # one URL rule for every client of the core
        self.timeout = timeout if timeout and timeout > 0 else None
        self.started = time.monotonic()
        key = api_key if api_key is not None else os.environ.get("GPT_OSS_API_KEY") or None
        self.api_key = key
        self._session = None
        transport = self

        class _Client(ServerClient):
            """context.py's client (per-slot n_ctx, /tokenize), sending through this
            transport so that its errors read and exit like the completion's."""

            def request(self, method: str, path: str, body: Any = None, allow_404: bool = False):
                return transport.request(method, path, body, allow_404=allow_404)

        self.server = _Client(self.url, api_key=key or "", timeout=self.timeout)

    def _waiting(self, call: Callable[[], Any]) -> Any:
        """Run `call`, retrying while the server answers 503 and --timeout allows."""
        while True:
            try:
                return call()
            except LoadingError:
                waited = time.monotonic() - self.started
                if self.timeout is None or waited + LOADING_POLL_S >= self.timeout:
                    limit = f"waited {self.timeout:g}s (--timeout)" if self.timeout else "retry"
                    raise LoadingError(
                        f"the server at {self.url} is still loading the model (HTTP 503); {limit}"
                    ) from None
                time.sleep(LOADING_POLL_S)

    def per_slot_context(self) -> int:
        return self._waiting(self.server.per_slot_context)

    def count_tokens(self, text: str) -> tuple[int, bool]:
        return self._waiting(lambda: self.server.count_tokens(text))

    def apply_template(self, body: dict) -> str | None:
        """The server's own rendering of a chat request (llama-server only), else None."""

        def call() -> Any:
            return self.server.request("POST", "/apply-template", body, allow_404=True)

        try:
            reply = self._waiting(call)
        except ServerError:
            return None
        prompt = reply.get("prompt") if isinstance(reply, dict) else None
        return prompt if isinstance(prompt, str) else None

    def post(self, path: str, body: dict, on_event: Callable[[dict], None] | None = None) -> dict:
        """POST JSON; returns the reply (for SSE: the last event with the streamed text
        assembled by the caller through `on_event`)."""
        return self._waiting(lambda: self.request("POST", path, body, on_event=on_event))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        on_event: Callable[[dict], None] | None = None,
        allow_404: bool = False,
    ) -> Any:
        """One request, errors mapped to the suite's exit codes (no waiting)."""
        import requests

        if self._session is None:
            self._session = requests.Session()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            reply = self._session.request(
                method,
                self.url + path,
                data=data,
                headers=headers,
                timeout=self.timeout,
                stream=on_event is not None,
            )
            if reply.status_code == 404 and allow_404:
                return None
            if reply.status_code != 200 or on_event is None:
                return self._finish(path, reply)
            return self._read_events(path, reply, on_event)
        except requests.Timeout:
            raise SuiteError(
                f"no complete reply from {self.url} within {self.timeout:g}s (--timeout)",
                EXIT_TIMEOUT,
            ) from None
        except requests.ConnectionError as err:
            if "RemoteDisconnected" in str(err) or "ProtocolError" in str(err):
                raise ServerError(
                    f"the server at {self.url} closed the connection without a complete "
                    "reply (did it crash?)"
                ) from None
            raise UnreachableError(
                f"server not reachable at {self.url} (is gpt-oss-fast.sh running?)"
            ) from None
        except requests.RequestException as err:
            raise ServerError(f"request to {self.url}{path} failed: {err}") from None

    def _finish(self, path: str, reply: Any) -> dict:
        status = reply.status_code
        try:
            data = reply.json()
        except ValueError:
            data = None
        if status == 200:
            if not isinstance(data, (dict, list)):
                raise ServerError(f"unreadable reply from {self.url}{path}: {reply.text[:200]}")
            return data
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        message = error.get("message") or (reply.text or "").strip()[:200] or "no body"
        if status == 503:
            raise LoadingError(message)
        if status == 401:
            if self.api_key:
                raise ServerError(
                    f"the server at {self.url} rejected GPT_OSS_API_KEY (HTTP 401: {message})"
                )
            raise ServerError(
                f"the server at {self.url} needs an API key: set GPT_OSS_API_KEY "
                f"(HTTP 401: {message})"
            )
        if status == 400 and error.get("type") == "exceed_context_size_error":
            n_prompt, n_ctx = error.get("n_prompt_tokens"), error.get("n_ctx")
            raise ContextOverflow("http_400", n_prompt, n_ctx, message)
        raise ServerError(f"the server at {self.url} answered HTTP {status}: {message}")

    def _read_events(self, path: str, reply: Any, on_event: Callable[[dict], None]) -> dict:
        last: dict = {}
        # chunk_size=1: hand every event on as soon as its line is complete.
        for line in reply.iter_lines(chunk_size=1):
            if not line.startswith(b"data: "):
                continue
            payload = line[len(b"data: ") :].strip()
            if payload == b"[DONE]":
                break
            try:
                event = json.loads(payload)
            except ValueError:
                raise ServerError(
                    f"unreadable event from {self.url}{path}: {payload[:200]!r}"
                ) from None
            if not isinstance(event, dict):
                continue
            on_event(event)
            last = event
        if not last:
            raise ServerError(f"the stream from {self.url}{path} carried no events")
        return last


# --------------------------------------------------------------------------- output helper


class _Live:
    """Emits the growing final answer and analysis of one reply as deltas."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.final = ""
        self.analysis = ""

    def update(self, final: str, analysis: str) -> None:
        if self.sink.show_reasoning and analysis.startswith(self.analysis):
            delta = analysis[len(self.analysis) :]
            if delta:
                self.sink.reasoning(delta)
                self.analysis = analysis
        if final.startswith(self.final):
            delta = final[len(self.final) :]
            if delta:
                self.sink.answer(delta)
                self.final = final

    def close(self) -> None:
        if self.analysis:
            self.sink.reasoning_end()


def _sampling(opts: ChatOptions) -> dict:
    body: dict[str, Any] = {}
    if opts.temperature is not None:
        body["temperature"] = opts.temperature
    if opts.top_p is not None:
        body["top_p"] = opts.top_p
    if opts.seed is not None:
        body["seed"] = opts.seed
    return body


def _tool_record(turn: int, call: dict, result: Any) -> dict:
    return {
        "turn": turn,
        "name": result.name,  # without a `functions.` prefix the model may have doubled
        "arguments": call["arguments"] if call.get("valid") else call.get("raw"),
        "ok": result.ok,
        "result": result.output,
    }


def _run_call(workspace: Any, call: dict) -> Any:
    from .workspace_tools import ToolResult, run_tool

    if not call.get("valid", True):
        name = call["name"].removeprefix("functions.")
        return ToolResult(name, False, call.get("error") or "arguments are not valid JSON")
    return run_tool(workspace, call["name"], call.get("arguments"))


# --------------------------------------------------------------------------- the loop


def run_chat(opts: ChatOptions, prompt: str, sink: Sink | None = None) -> ChatResult:
    """Answer `prompt`; raises SuiteError subclasses with the suite's exit codes.

    Tool-turn limit: raises SuiteError(EXIT_TOOL_TURNS) with `.result` (the partial
    ChatResult) attached, after the partial answer went to the sink.
    """
    sink = sink or Sink(opts.show_reasoning)
    transport = Transport(opts.url, opts.api_key, opts.timeout)
    workspace = None
    if opts.tools:
        from .workspace_tools import Workspace

        workspace = Workspace(opts.workspace)
    try:
        if opts.backend == "openai":
            return _openai_loop(opts, prompt, sink, transport, workspace)
        return _harmony_loop(opts, prompt, sink, transport, workspace)
    except ContextOverflow as overflow:
        return _fall_back(opts, prompt, sink, transport, overflow)


def _check_fits(opts: ChatOptions, transport: Transport, text: str) -> bool:
    """Raise ContextOverflow when `text` + max_tokens exceeds the per-slot context.
    Returns whether the count was exact (the server's tokenizer)."""
    from .context import fit_report

    n_ctx = transport.per_slot_context()
    tokens, exact = transport.count_tokens(text)
    report = fit_report(tokens, opts.max_tokens, n_ctx, exact)
    if not report["fits"]:
        detail = (
            f"{tokens}{'' if exact else ' (estimated)'} prompt tokens + {opts.max_tokens} "
            f"reserved for the reply > {n_ctx} per-slot context"
        )
        raise ContextOverflow("context", tokens, n_ctx, detail)
    return exact


def _harmony_loop(
    opts: ChatOptions, prompt: str, sink: Sink, transport: Transport, workspace: Any
) -> ChatResult:
    from . import harmony, harmony_parse
    from .workspace_tools import TOOL_SPECS

    tools = TOOL_SPECS if opts.tools else None
    messages: list[dict] = []
    if opts.system:
        messages.append({"role": "system", "content": opts.system})
    messages.append({"role": "user", "content": prompt})
    result = ChatResult(backend=opts.backend, mode="harmony")
    reasoning: list[str] = []
    partial: list[str] = []
    turns = 0
    while True:
        text = harmony.render_prompt(
            messages, tools, reasoning_effort=opts.reasoning, date=opts.date
        )
        exact = _check_fits(opts, transport, text) if opts.context_check else False
        # Shown live only when nothing can turn out to be cut: an exact check passed.
        live = _Live(sink) if (opts.stream and exact) else None
        body = {"prompt": text, "n_predict": opts.max_tokens, "cache_prompt": True}
        body.update(_sampling(opts))
        if opts.model:
            body["model"] = opts.model
        streamed: list[str] = []
        on_event = None
        if opts.stream:
            body["stream"] = True

            def on_event(event: dict, streamed: list = streamed, live: Any = live) -> None:
                piece = event.get("content")
                if isinstance(piece, str) and piece:
                    streamed.append(piece)
                    if live is not None:
                        parsed = harmony_parse.parse_completion("".join(streamed))
                        live.update(parsed["final"], parsed["analysis"])

        reply = transport.post("/completion", body, on_event)
        if opts.stream:
            reply = {**reply, "content": "".join(streamed)}
        result.count(reply)
        if reply.get("truncated") is True:
            n_prompt = reply.get("tokens_evaluated")
            raise ContextOverflow(
                "truncated",
                n_prompt if isinstance(n_prompt, int) else None,
                None,
                'the server cut the Harmony prompt to fit its context ("truncated": true)',
            )
        content = reply.get("content")
        if not isinstance(content, str):
            raise ServerError(f"unreadable reply from {transport.url}/completion: no content")
        parsed = harmony_parse.parse_completion(content, reply.get("stop_type"))
        if live is None:
            live = _Live(sink)
            live.update(parsed["final"], parsed["analysis"])
        else:
            live.update(parsed["final"], parsed["analysis"])
        live.close()
        if parsed["analysis"]:
            reasoning.append(parsed["analysis"])
        if parsed["commentary"]:
            partial.append(parsed["commentary"])
        calls = parsed["tool_calls"]
        if not calls:
            return _final_answer(result, parsed, reasoning, sink, parsed["complete"])
        if turns >= opts.max_tool_turns:
            return _turn_limit(opts, sink, result, reasoning, partial + [parsed["final"]])
        turns += 1
        thinking = parsed["analysis"]
        for call in calls:
            call["name"] = call["name"] or "unnamed"
            outcome = _run_call(workspace, call)
            result.tool_calls.append(_tool_record(turns, call, outcome))
            arguments = call["arguments"] if call["valid"] else call["raw"]
            message: dict[str, Any] = {
                "role": "assistant",
                "tool_calls": [{"type": "function", "function": {"name": outcome.name}}],
            }
            message["tool_calls"][0]["function"]["arguments"] = arguments
            if not call["valid"]:  # keep the model's broken text as a JSON string
                message["tool_calls"][0]["function"]["arguments"] = json.dumps(arguments)
            if thinking:
                message["thinking"] = thinking
                thinking = ""
            messages.append(message)
            messages.append({"role": "tool", "content": outcome.for_model()})


def _no_answer(stop: str) -> str:
    if stop == "limit":
        return "warning: the reply used all --max-tokens before a final answer (raise --max-tokens)"
    return "warning: the model gave no final answer"


def _final_answer(
    result: ChatResult, parsed: dict, reasoning: list, sink: Sink, finished: bool
) -> ChatResult:
    """Fill `result` from a reply with no tool call: the loop's normal end."""
    result.text = parsed["final"]
    result.reasoning = "\n".join(reasoning) or None
    result.finish_reason = "length" if parsed["stop"] == "limit" else "stop"
    result.complete = finished and bool(result.text)
    if not result.text:
        sink.notice(_no_answer(parsed["stop"]))
    return result


def _turn_limit(
    opts: ChatOptions, sink: Sink, result: ChatResult, reasoning: list, partial: list
) -> ChatResult:
    text = "\n".join(p for p in partial if p)
    if not text and reasoning:
        text = reasoning[-1]
    result.text = text
    result.reasoning = "\n".join(reasoning) or None
    result.finish_reason = "tool_turns"
    result.complete = False
    if text:
        sink.answer(text)
    error = SuiteError(
        f"stopped after {opts.max_tool_turns} tool turns without a final answer "
        "(raise --max-tool-turns); the partial answer is on stdout",
        EXIT_TOOL_TURNS,
    )
    error.result = result  # type: ignore[attr-defined]
    raise error


def _openai_loop(
    opts: ChatOptions, prompt: str, sink: Sink, transport: Transport, workspace: Any
) -> ChatResult:
    from . import harmony_parse
    from .workspace_tools import TOOL_SPECS

    messages: list[dict] = []
    if opts.system:
        messages.append({"role": "system", "content": opts.system})
    messages.append({"role": "user", "content": prompt})
    result = ChatResult(backend="openai", mode="chat")
    reasoning: list[str] = []
    partial: list[str] = []
    turns = 0
    while True:
        body: dict[str, Any] = {"messages": messages, "max_tokens": opts.max_tokens}
        if opts.model:
            body["model"] = opts.model
        if opts.tools:
            body["tools"] = TOOL_SPECS
        if opts.reasoning:
            body["reasoning_effort"] = opts.reasoning
        body.update(_sampling(opts))
        exact = False
        if opts.context_check:
            # llama-server renders with its own template; other servers cannot tell.
            template_body = {k: body[k] for k in ("messages", "tools") if k in body}
            if opts.reasoning:
                template_body["reasoning_effort"] = opts.reasoning
            rendered = transport.apply_template(template_body)
            if rendered is not None:
                exact = _check_fits(opts, transport, rendered)
        live = _Live(sink) if (opts.stream and exact) else None
        on_event = None
        assembled: dict[str, Any] = {"content": "", "reasoning_content": "", "tool_calls": []}
        finish: list = [None]
        if opts.stream:
            body["stream"] = True

            def on_event(
                event: dict, live: Any = live, assembled: dict = assembled, finish: list = finish
            ) -> None:
                _merge_delta(assembled, finish, event)
                if live is not None:
                    live.update(assembled["content"], assembled["reasoning_content"])

        reply = transport.post("/v1/chat/completions", body, on_event)
        if opts.stream:
            message = {
                "role": "assistant",
                "content": assembled["content"] or None,
                "reasoning_content": assembled["reasoning_content"] or None,
                "tool_calls": assembled["tool_calls"] or None,
            }
            reply = {**reply, "choices": [{"message": message, "finish_reason": finish[0]}]}
        result.count(reply)
        if reply.get("truncated") is True:
            raise ContextOverflow(
                "truncated", None, None, 'the server cut the chat prompt ("truncated": true)'
            )
        try:
            parsed = harmony_parse.parse_openai_chat(reply)
        except ValueError as err:
            raise ServerError(f"unreadable reply from {transport.url}: {err}") from None
        if live is None:
            live = _Live(sink)
        live.update(parsed["final"], parsed["analysis"])
        live.close()
        if parsed["analysis"]:
            reasoning.append(parsed["analysis"])
        calls = parsed["tool_calls"]
        if not calls:
            return _final_answer(result, parsed, reasoning, sink, parsed["stop"] != "limit")
        if parsed["final"]:
            partial.append(parsed["final"])
        if turns >= opts.max_tool_turns:
            return _turn_limit(opts, sink, result, reasoning, partial)
        turns += 1
        raw_calls = []
        for index, call in enumerate(calls):
            call_id = call.get("id") or f"call_{turns}_{index}"
            raw_calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["raw"]},
                }
            )
        messages.append(
            {"role": "assistant", "content": parsed["final"] or None, "tool_calls": raw_calls}
        )
        for call, raw in zip(calls, raw_calls):
            outcome = _run_call(workspace, call)
            result.tool_calls.append(_tool_record(turns, call, outcome))
            messages.append(
                {"role": "tool", "tool_call_id": raw["id"], "content": outcome.for_model()}
            )


def _merge_delta(assembled: dict, finish: list, event: dict) -> None:
    """Fold one chat.completion.chunk into the assembled message."""
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return
    choice = choices[0]
    if choice.get("finish_reason"):
        finish[0] = choice["finish_reason"]
    delta = choice.get("delta") or {}
    for key in ("content", "reasoning_content"):
        if isinstance(delta.get(key), str):
            assembled[key] += delta[key]
    for part in delta.get("tool_calls") or []:
        index = part.get("index", len(assembled["tool_calls"]))
        while len(assembled["tool_calls"]) <= index:
            assembled["tool_calls"].append(
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
        target = assembled["tool_calls"][index]
        if part.get("id"):
            target["id"] = part["id"]
        function = part.get("function") or {}
        target["function"]["name"] += function.get("name") or ""
        target["function"]["arguments"] += function.get("arguments") or ""


# --------------------------------------------------------------------------- fallback


def _fall_back(
    opts: ChatOptions, prompt: str, sink: Sink, transport: Transport, overflow: ContextOverflow
) -> ChatResult:
    """Send the original prompt raw, after one notice naming the numbers and the fix."""
    what = "Harmony prompt" if opts.backend == "gpt-oss" else "chat request"
    if overflow.reason == "context":
        why = f"the {what} does not fit: {overflow.detail}"
    elif overflow.reason == "http_400":
        why = f"the server refused the {what}: {overflow.detail}"
    else:
        why = overflow.detail
    if not opts.fallback:
        raise ContextError(f"{why}; {FIX_HINT} (or drop --no-fallback to retry raw)")
    dropped = []
    if opts.tools:
        dropped.append("no tools")
    if opts.system:
        dropped.append("no --system")
    extra = f" ({', '.join(dropped)})" if dropped else ""
    message = f"{why}; falling back to --raw{extra}. To keep Harmony: {FIX_HINT}"
    sink.notice(message)

    endpoint = "/completion" if opts.backend == "gpt-oss" else "/v1/completions"
    body: dict[str, Any] = {"prompt": prompt}
    body["n_predict" if endpoint == "/completion" else "max_tokens"] = opts.max_tokens
    if opts.model:
        body["model"] = opts.model
    body.update(_sampling(opts))
    if endpoint == "/completion":
        body["cache_prompt"] = True
    streamed: list[str] = []
    on_event = None
    if opts.stream:
        body["stream"] = True

        def on_event(event: dict) -> None:
            piece = event.get("content")
            if endpoint != "/completion":
                choices = event.get("choices") or [{}]
                piece = choices[0].get("text") if isinstance(choices[0], dict) else None
            if isinstance(piece, str) and piece:
                streamed.append(piece)
                sink.answer(piece)

    try:
        reply = transport.post(endpoint, body, on_event)
    except ContextOverflow as again:
        raise ContextError(
            f"even the raw prompt does not fit: {again.detail}; raise GPT_OSS_CTX (and restart "
            "the server) or shorten the prompt"
        ) from None
    result = ChatResult(backend=opts.backend, mode="raw")
    result.fallback = {
        "reason": overflow.reason,
        "message": message,
        "prompt_tokens": overflow.prompt_tokens,
        "max_tokens": opts.max_tokens,
        "n_ctx": overflow.n_ctx,
    }
    result.count(reply)
    if endpoint == "/completion":
        text = "".join(streamed) if opts.stream else reply.get("content")
        stop = reply.get("stop_type")
    else:
        choices = reply.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else {}
        text = "".join(streamed) if opts.stream else choice.get("text")
        stop = choice.get("finish_reason")
    if not isinstance(text, str):
        raise ServerError(f"unreadable reply from {transport.url}{endpoint}: no text")
    if not opts.stream:
        sink.answer(text)
    result.text = text
    result.truncated = reply.get("truncated") is True
    if result.truncated:
        sink.notice(
            'warning: the server cut even the raw prompt ("truncated": true); the answer saw '
            "only part of it"
        )
    result.finish_reason = "length" if stop in ("limit", "length") else "stop"
    result.complete = result.finish_reason == "stop"
    return result


def color_ok(stream: Any = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR or TERM=dumb."""
    stream = stream or sys.stderr
    return (
        not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
        and hasattr(stream, "isatty")
        and stream.isatty()
    )
