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

HTTP goes through http_client.py (sockets: no `requests`, no click on this path).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from .context import ipv4_url
from .errors import (
    EXIT_TIMEOUT,
    EXIT_TOOL_TURNS,
    ContextError,
    ContextOverflow,
    LoadingError,
    ServerError,
    SuiteError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: `typing` costs start-up time on every Harmony call
    from typing import Any

LOADING_POLL_S = 0.25
FIX_HINT = "raise GPT_OSS_CTX (and restart the server), offer fewer tools, or lower --max-tokens"


class ChatOptions:
    """What `local-infer.sh` passes (see its --help); keyword arguments, defaults below.
    (A plain class: `dataclasses` imports `inspect`, ~6 ms on the Harmony path.)"""

    DEFAULTS = {
        "url": "http://127.0.0.1:8000",
        "backend": "gpt-oss",
        "model": None,
        "max_tokens": 256,
        "temperature": None,
        "top_p": None,
        "seed": None,
        "system": None,
        "reasoning": None,
        "tools": False,
        "workspace": ".",
        "max_tool_turns": 4,
        "stream": False,
        "show_reasoning": False,
        "timeout": 300.0,  # a total limit; 0 = no limit and no waiting for a loading model
        "fallback": True,
        "context_check": True,
        "api_key": None,
        "date": None,  # the Harmony system message's date (tests pin it)
    }

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.DEFAULTS)
        if unknown:
            raise TypeError(f"unknown chat options: {sorted(unknown)}")
        for name, default in self.DEFAULTS.items():
            value = values.get(name)
            setattr(self, name, default if value is None else value)


class ChatResult:
    """The outcome; `to_json()` is the documented `--json` shape."""

    def __init__(self, backend: str, mode: str) -> None:
        self.backend = backend
        self.mode = mode
        self.text = ""
        self.reasoning: str | None = None
        self.finish_reason = "stop"
        self.complete = True
        self.truncated = False
        self.fallback: dict | None = None
        self.tokens: dict = {"prompt": None, "predicted": None, "cached": None}
        self.timings: dict | None = None
        self.requests = 0
        self.per_request: list = []  # {prompt, predicted, cached, slot} of each request
        self.tool_calls: list = []

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
            "per_request": self.per_request,
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
        if (  # an Aug-2025 server's timings have no cache_n: evaluated minus processed
            cached is None
            and timings
            and isinstance(prompt, int)
            and isinstance(timings.get("prompt_n"), int)
        ):
            cached = prompt - timings["prompt_n"]
        if timings and prompt is None and isinstance(timings.get("prompt_n"), int):
            prompt = timings["prompt_n"] + (cached or 0)
        if timings and predicted is None:
            predicted = timings.get("predicted_n")
        counts = {"prompt": prompt, "predicted": predicted, "cached": cached}
        for key, value in counts.items():
            if not isinstance(value, int):
                counts[key] = None
            else:
                self.tokens[key] = (self.tokens[key] or 0) + value
        slot = reply.get("id_slot")
        self.per_request.append({**counts, "slot": slot if isinstance(slot, int) else None})
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


# --------------------------------------------------------------------------- HTTP


class Transport:
    """The loop's requests (http_client.py): one total deadline (`--timeout`) over the
    whole run, waiting inside it while the model loads (HTTP 503)."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        from .context import ServerClient
        from .http_client import Deadline, HttpClient

        self.url = ipv4_url(url)  # one URL rule for every client of the core
        self.deadline = Deadline(timeout)
        key = api_key if api_key is not None else os.environ.get("GPT_OSS_API_KEY") or None
        self.http = HttpClient(self.url, api_key=key, deadline=self.deadline)
        self.server = ServerClient(self.url, http=self.http)

    def _waiting(self, call: Callable[[], Any]) -> Any:
        """Run `call`, retrying while the server answers 503 and --timeout allows."""
        loading = False
        while True:
            try:
                return call()
            except LoadingError:
                loading = True
                left = self.deadline.remaining()
                if left is not None and left > LOADING_POLL_S:
                    time.sleep(LOADING_POLL_S)
                    continue
            except SuiteError as err:
                # The limit ran out in a retry: still the loading model's fault (exit 4).
                if not (loading and err.exit_code == EXIT_TIMEOUT):
                    raise
            limit = self.deadline.seconds
            how = f"waited {limit:g}s (--timeout)" if limit else "retry shortly"
            raise LoadingError(
                f"the server at {self.url} is still loading the model (HTTP 503); {how}"
            ) from None

    def per_slot_context(self) -> int:
        return self._waiting(self.server.per_slot_context)

    def count_tokens(self, text: str) -> tuple[int, bool]:
        return self._waiting(lambda: self.server.count_tokens(text))

    def apply_template(self, body: dict) -> str | None:
        """The server's own rendering of a chat request (llama-server only), else None."""

        def call() -> Any:
            return self.http.json("POST", "/apply-template", body, allow_404=True)

        try:
            reply = self._waiting(call)
        except ServerError:
            return None
        prompt = reply.get("prompt") if isinstance(reply, dict) else None
        return prompt if isinstance(prompt, str) else None

    def post(self, path: str, body: dict, on_event: Callable[[dict], None] | None = None) -> dict:
        """POST JSON; returns the reply (for SSE: the last event, the streamed text
        assembled by the caller through `on_event`)."""

        def call() -> Any:
            if on_event is None:
                reply = self.http.json("POST", path, body)
            else:
                reply = self.http.stream(path, body, lambda event: _dict_event(on_event, event))
            if not isinstance(reply, dict):
                raise ServerError(f"unreadable reply from {self.url}{path}: not a JSON object")
            return reply

        return self._waiting(call)


def _dict_event(on_event: Callable[[dict], None], event: Any) -> None:
    if isinstance(event, dict):
        on_event(event)


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
    from .harmony_guard import replace_lone_surrogates

    arguments = call["arguments"] if call.get("valid") else call.get("raw")
    return {
        "turn": turn,
        "name": result.name,  # without a `functions.` prefix the model may have doubled
        "arguments": replace_lone_surrogates(arguments),  # a "\ud800" of the model's
        "ok": result.ok,
        "result": result.output,  # as the model saw it (harmony_guard)
        "skipped": result.skipped,  # null, or why it was not run (a ToolBudget limit)
    }


def _run_reply_calls(
    budget: Any,
    workspace: Any,
    calls: list,
    turn: int,
    result: ChatResult,
    sink: Sink,
    deadline: Any = None,
) -> list:
    """Run one reply's tool calls within the budget; record them all in `result`.
    Returns (call, outcome) for the calls that go back into the conversation.
    The tools count against --timeout (`deadline`, the run's total limit): they get at
    most what is left of it, and when it runs out here the run ends (exit 10)."""
    left = deadline.remaining() if deadline is not None else None
    if left is not None:
        budget.max_seconds = min(budget.max_seconds, budget.used + max(left, 0.0))
    outcomes = budget.run_reply(workspace, calls)
    if deadline is not None and deadline.expired():
        raise SuiteError(
            f"no complete answer within {deadline.seconds:g}s (--timeout): the time ran out "
            "while the workspace tools ran",
            EXIT_TIMEOUT,
        )
    note = budget.notice(outcomes)
    if note:
        sink.notice(note)
    result.tool_calls.extend(_tool_record(turn, c, o) for c, o in zip(calls, outcomes))
    return [(c, o) for c, o in zip(calls, outcomes) if not o.dropped]


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
    from .context import fit_report, token_upper_bound

    n_ctx = transport.per_slot_context()
    if token_upper_bound(text) + opts.max_tokens <= n_ctx:
        return True  # fits even if every byte were a token: no /tokenize round trip
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
    from .harmony_guard import neutralize_specials
    from .workspace_tools import TOOL_SPECS, ToolBudget

    tools = TOOL_SPECS if opts.tools else None
    messages: list[dict] = []
    if opts.system:
        messages.append({"role": "system", "content": opts.system})
    messages.append({"role": "user", "content": prompt})
    result = ChatResult(backend=opts.backend, mode="harmony")
    reasoning: list[str] = []
    partial: list[str] = []
    turns = 0
    budget = ToolBudget()
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
        for call, outcome in _run_reply_calls(
            budget, workspace, calls, turns, result, sink, transport.deadline
        ):
            arguments = call["arguments"] if call["valid"] else call["raw"]
            if not call["valid"]:  # keep the model's broken text as a JSON string
                arguments = json.dumps(arguments)
            # What the model wrote goes back untrusted too: it may quote a file.
            function = {"name": outcome.name, "arguments": neutralize_specials(arguments)}
            message: dict[str, Any] = {
                "role": "assistant",
                "tool_calls": [{"type": "function", "function": function}],
            }
            if thinking:
                message["thinking"] = neutralize_specials(thinking)
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
    from .harmony_guard import neutralize_specials
    from .workspace_tools import TOOL_SPECS, ToolBudget

    messages: list[dict] = []
    if opts.system:
        messages.append({"role": "system", "content": opts.system})
    messages.append({"role": "user", "content": prompt})
    result = ChatResult(backend="openai", mode="chat")
    reasoning: list[str] = []
    partial: list[str] = []
    turns = 0
    budget = ToolBudget()
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
        for index, call in enumerate(calls):
            call["id"] = call.get("id") or f"call_{turns}_{index}"
        ran = _run_reply_calls(budget, workspace, calls, turns, result, sink, transport.deadline)
        # What the model wrote goes back untrusted too: it may quote a file.
        raw_calls = [
            {
                "id": neutralize_specials(call["id"]),
                "type": "function",
                "function": neutralize_specials({"name": call["name"], "arguments": call["raw"]}),
            }
            for call, _ in ran
        ]
        content = neutralize_specials(parsed["final"]) or None
        messages.append({"role": "assistant", "content": content, "tool_calls": raw_calls})
        for raw, (_, outcome) in zip(raw_calls, ran):
            messages.append(
                {"role": "tool", "tool_call_id": raw["id"], "content": outcome.for_model()}
            )


def _merge_delta(assembled: dict, finish: list, event: dict) -> None:
    """Fold one chat.completion.chunk into the assembled message."""
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return
    choice = choices[0]
    if isinstance(choice.get("finish_reason"), str):
        finish[0] = choice["finish_reason"]
    delta = choice.get("delta") or {}
    parts = delta.get("tool_calls") or [] if isinstance(delta, dict) else None
    if not isinstance(parts, list):
        raise ServerError("unreadable stream event: delta or delta.tool_calls has the wrong shape")
    for key in ("content", "reasoning_content"):
        if isinstance(delta.get(key), str):
            assembled[key] += delta[key]
    calls = assembled["tool_calls"]
    for part in parts:
        # A new call takes the next index; an index past that (30000000, -3, "a") is not
        # a stream anyone can assemble.
        index = part.get("index", len(calls)) if isinstance(part, dict) else None
        if type(index) is not int or not 0 <= index <= len(calls):
            raise ServerError(
                f"unreadable stream event: tool_calls index {index!r} (next would be {len(calls)})"
            )
        if index == len(calls):
            calls.append(
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
        target = calls[index]
        if isinstance(part.get("id"), str) and part["id"]:
            target["id"] = part["id"]
        function = part.get("function") or {}
        if not isinstance(function, dict):
            raise ServerError("unreadable stream event: tool_calls[].function is not an object")
        for key in ("name", "arguments"):
            if isinstance(function.get(key), str):
                target["function"][key] += function[key]


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
