"""The client loop behind `local-infer.sh` (everything but its `--raw` path).

One loop (`_chat_loop`) for both backends; a small adapter says how a request is made
and how its reply reads:
- `HarmonyBackend` (gpt-oss): the conversation becomes a Harmony prompt, rendered by the
  server's own template (`POST /apply-template`, checked to be a Harmony prompt holding
  the request; else harmony.py, for the rest of the run), counted with the server's
  tokenizer, checked against the per-slot context, sent to `/completion` (special tokens
  kept), parsed by harmony_parse.py.
- `OpenAIBackend` (openai): `/v1/chat/completions` with OpenAI `tools`, `tool_calls` and
  `reasoning_content`, checked the same way where the server has `/apply-template`.
Tool calls run in the workspace (workspace_tools.py); their results go back through
`neutralize_untrusted` (the one hook for untrusted text) until a final answer or
`max_tool_turns`.

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
        "date": None,  # harmony.py's system date (tests pin it; a server uses its clock)
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
        return dict(vars(self))  # the attributes above, in their order: nothing else is set

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
        self.renders = True  # the server renders chat requests, until it shows it does not

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
        """The server's own rendering of a chat request (`/apply-template`: the loaded
        model's template), else None. A server without it (404) or failing it (an Aug-2025
        server without --jinja answers 500 for tools), or whose rendering a caller found
        wanting (`renders = False`), is asked once per run."""

        def call() -> Any:
            return self.http.json("POST", "/apply-template", body, allow_404=True)

        try:
            reply = self._waiting(call) if self.renders else None
        except ServerError:
            reply = None
        prompt = reply.get("prompt") if isinstance(reply, dict) else None
        self.renders = isinstance(prompt, str)
        return prompt if self.renders else None

    def post(self, path: str, body: dict, on_event: Callable[[dict], None] | None = None) -> dict:
        """POST JSON; returns the reply (for SSE: the last event, the streamed text
        assembled by the caller through `on_event`)."""

        def call() -> Any:
            if on_event is None:
                reply = self.http.json("POST", path, body)
            else:
                reply = self.http.stream(path, body, lambda e: isinstance(e, dict) and on_event(e))
            if not isinstance(reply, dict):
                raise ServerError(f"unreadable reply from {self.url}{path}: not a JSON object")
            return reply

        return self._waiting(call)


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


# --------------------------------------------------------------------------- backends


def neutralize_untrusted(value: Any) -> Any:
    """The hook every piece of untrusted text passes on its way into the conversation,
    before either renderer (the server's template or harmony.py) sees it: tool results
    and what the model wrote that goes back (call names, arguments, reasoning, text).
    Today: Harmony special tokens broken (harmony_guard.py)."""
    from .harmony_guard import neutralize_specials

    return neutralize_specials(value)


class Backend:
    """What the loop asks of a server dialect: `request` (the body for the conversation,
    and whether it was counted exactly), `stream` (an SSE event handler and how the last
    event becomes the reply), `parse`, `finished`, `prepare` (a reply's calls before they
    run) and `add_turn` (the calls that ran and their results into the conversation)."""

    mode = endpoint = what = cut = ""

    def __init__(self, opts: ChatOptions, transport: Transport) -> None:
        self.opts, self.transport = opts, transport


class HarmonyBackend(Backend):
    """gpt-oss on llama-server: a Harmony prompt to `/completion`, special tokens kept."""

    mode, endpoint, what = "harmony", "/completion", "Harmony prompt"
    cut = 'the server cut the Harmony prompt to fit its context ("truncated": true)'

    def request(self, messages: list, tools: Any) -> tuple[dict, bool]:
        """(the body, whether the prompt was counted exactly and fits)."""
        opts = self.opts
        text = self.prompt(messages, tools)
        exact = _check_fits(opts, self.transport, text) if opts.context_check else False
        return {"prompt": text, "n_predict": opts.max_tokens, "cache_prompt": True}, exact

    def prompt(self, messages: list, tools: Any) -> str:
        """The server's rendering when it is a Harmony prompt holding the request (not
        so: an Aug-2025 server without --jinja), else harmony.py's."""
        from . import harmony

        effort = self.opts.reasoning
        body: dict[str, Any] = {"messages": messages, "tools": tools or []}
        if effort:  # an Aug-2025 server reads it only here
            body["chat_template_kwargs"] = {"reasoning_effort": effort}
        prompt = self.transport.apply_template(body)
        if prompt is not None and harmony.is_harmony_rendering(prompt, messages, tools, effort):
            return prompt
        self.transport.renders = False
        return harmony.render_prompt(messages, tools, reasoning_effort=effort, date=self.opts.date)

    def stream(self, live: _Live | None) -> tuple[Callable[[dict], None], Callable]:
        from .harmony_parse import parse_completion

        pieces: list[str] = []

        def on_event(event: dict) -> None:
            piece = event.get("content")
            if isinstance(piece, str) and piece:
                pieces.append(piece)
                if live is not None:
                    parsed = parse_completion("".join(pieces))
                    live.update(parsed["final"], parsed["analysis"])

        return on_event, lambda last: {**last, "content": "".join(pieces)}

    def parse(self, reply: dict) -> dict:
        from .harmony_parse import parse_completion

        content = reply.get("content")
        if not isinstance(content, str):
            raise ServerError(f"unreadable reply from {self.transport.url}/completion: no content")
        return parse_completion(content, reply.get("stop_type"))

    def finished(self, parsed: dict) -> bool:
        return parsed["complete"]

    def prepare(self, calls: list, turn: int) -> None:
        for call in calls:
            call["name"] = call["name"] or "unnamed"

    def add_turn(self, messages: list, parsed: dict, ran: list) -> None:
        """One assistant message per call (the template renders only a message's first
        call), the first carrying the reply's reasoning, each followed by its result."""
        thinking = parsed["analysis"]
        for call, outcome in ran:
            arguments = call["arguments"] if call["valid"] else call["raw"]
            arguments = json.dumps(neutralize_untrusted(arguments), ensure_ascii=False)
            function = {"name": outcome.name, "arguments": arguments}
            message: dict[str, Any] = {
                "role": "assistant",
                "tool_calls": [{"type": "function", "function": function}],
            }
            if thinking:
                message["reasoning_content"] = neutralize_untrusted(thinking)
                thinking = ""
            messages.append(message)
            messages.append({"role": "tool", "content": neutralize_untrusted(outcome.for_model())})


class OpenAIBackend(Backend):
    """Any OpenAI-compatible server: `/v1/chat/completions` with OpenAI `tools`; on
    llama-server the request is counted from its `/apply-template` rendering first."""

    mode, endpoint, what = "chat", "/v1/chat/completions", "chat request"
    cut = 'the server cut the chat prompt ("truncated": true)'

    def request(self, messages: list, tools: Any) -> tuple[dict, bool]:
        opts = self.opts
        body: dict[str, Any] = {"messages": messages, "max_tokens": opts.max_tokens}
        if tools:
            body["tools"] = tools
        if opts.reasoning:
            body["reasoning_effort"] = opts.reasoning
        exact = False
        if opts.context_check:
            rendered = self.transport.apply_template(
                {k: v for k, v in body.items() if k != "max_tokens"}
            )
            if rendered is not None:
                exact = _check_fits(opts, self.transport, rendered)
        return body, exact

    def stream(self, live: _Live | None) -> tuple[Callable[[dict], None], Callable]:
        assembled: dict[str, Any] = {"content": "", "reasoning_content": "", "tool_calls": []}
        finish: list = [None]

        def on_event(event: dict) -> None:
            _merge_delta(assembled, finish, event)
            if live is not None:
                live.update(assembled["content"], assembled["reasoning_content"])

        def reply(last: dict) -> dict:
            message = {"role": "assistant", **{k: v or None for k, v in assembled.items()}}
            return {**last, "choices": [{"message": message, "finish_reason": finish[0]}]}

        return on_event, reply

    def parse(self, reply: dict) -> dict:
        from .harmony_parse import parse_openai_chat

        try:
            return parse_openai_chat(reply)
        except ValueError as err:
            raise ServerError(f"unreadable reply from {self.transport.url}: {err}") from None

    def finished(self, parsed: dict) -> bool:
        return parsed["stop"] != "limit"

    def prepare(self, calls: list, turn: int) -> None:
        for index, call in enumerate(calls):
            call["id"] = call.get("id") or f"call_{turn}_{index}"

    def add_turn(self, messages: list, parsed: dict, ran: list) -> None:
        """One assistant message with the calls that ran, then their results by id."""
        raw_calls = [
            {
                "id": neutralize_untrusted(call["id"]),
                "type": "function",
                "function": neutralize_untrusted({"name": call["name"], "arguments": call["raw"]}),
            }
            for call, _ in ran
        ]
        content = neutralize_untrusted(parsed["final"]) or None
        messages.append({"role": "assistant", "content": content, "tool_calls": raw_calls})
        for raw, (_, outcome) in zip(raw_calls, ran):
            result = neutralize_untrusted(outcome.for_model())
            messages.append({"role": "tool", "tool_call_id": raw["id"], "content": result})


# --------------------------------------------------------------------------- the loop


def run_chat(opts: ChatOptions, prompt: str, sink: Sink | None = None) -> ChatResult:
    """Answer `prompt`; raises SuiteError subclasses with the suite's exit codes.

    Tool-turn limit: raises SuiteError(EXIT_TOOL_TURNS) with `.result` (the partial
    ChatResult) attached, after the partial answer went to the sink.
    """
    sink = sink or Sink(opts.show_reasoning)
    transport = Transport(opts.url, opts.api_key, opts.timeout)
    kind = OpenAIBackend if opts.backend == "openai" else HarmonyBackend
    backend = kind(opts, transport)
    try:
        return _chat_loop(opts, prompt, sink, backend)
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


def _chat_loop(opts: ChatOptions, prompt: str, sink: Sink, backend: Backend) -> ChatResult:
    """Request, read the reply, run its tool calls, send their results back; until a
    reply calls no tool (the answer) or `max_tool_turns` replies did."""
    from .workspace_tools import TOOL_SPECS, ToolBudget, Workspace

    workspace = Workspace(opts.workspace) if opts.tools else None
    tools = TOOL_SPECS if opts.tools else None
    messages: list[dict] = [{"role": "system", "content": opts.system}] if opts.system else []
    messages.append({"role": "user", "content": prompt})
    result = ChatResult(backend=opts.backend, mode=backend.mode)
    reasoning: list[str] = []
    partial: list[str] = []  # what tool-calling replies said besides their calls
    turns = 0
    budget = ToolBudget()
    transport = backend.transport
    while True:
        body, exact = backend.request(messages, tools)
        body.update(_sampling(opts))
        if opts.model:
            body["model"] = opts.model
        # Shown live only when nothing can turn out to be cut: an exact check passed.
        live = _Live(sink) if (opts.stream and exact) else None
        on_event = finish = None
        if opts.stream:
            body["stream"] = True
            on_event, finish = backend.stream(live)
        reply = transport.post(backend.endpoint, body, on_event)
        if finish is not None:
            reply = finish(reply)
        result.count(reply)
        if reply.get("truncated") is True:
            n_prompt = reply.get("tokens_evaluated") if backend.mode == "harmony" else None
            n_prompt = n_prompt if isinstance(n_prompt, int) else None
            raise ContextOverflow("truncated", n_prompt, None, backend.cut)
        parsed = backend.parse(reply)
        live = live or _Live(sink)
        live.update(parsed["final"], parsed["analysis"])
        live.close()
        if parsed["analysis"]:
            reasoning.append(parsed["analysis"])
        calls = parsed["tool_calls"]
        if not calls:
            return _final_answer(result, parsed, reasoning, sink, backend.finished(parsed))
        partial += [parsed["commentary"], parsed["final"]]
        if turns >= opts.max_tool_turns:
            return _turn_limit(opts, sink, result, reasoning, partial)
        turns += 1
        backend.prepare(calls, turns)
        ran = _run_reply_calls(budget, workspace, calls, turns, result, sink, transport.deadline)
        backend.add_turn(messages, parsed, ran)


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


# The /completion reply fields the raw path reads: the rest (probabilities, settings,
# the prompt echoed back) only costs bytes.
RAW_REPLY_FIELDS = (
    "content",
    "stop",
    "stop_type",
    "tokens_evaluated",
    "tokens_predicted",
    "truncated",
    "timings",
)


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
    if endpoint == "/completion":  # as local-infer.sh --raw asks (tests/raw-parity.bats)
        body["cache_prompt"] = True
        body["response_fields"] = list(RAW_REPLY_FIELDS)
    streamed: list[str] = []
    on_event = None
    if opts.stream:
        body["stream"] = True

        def on_event(event: dict) -> None:
            piece = _raw_text(event)[0]
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
    text, stop = _raw_text(reply)
    text = "".join(streamed) if opts.stream else text
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


def _raw_text(reply: dict) -> tuple[Any, Any]:
    """(text, stop reason) of a raw completion reply or stream event: `/completion`'s
    content and stop_type, or `/v1/completions`' first choice's text and finish_reason."""
    if "choices" not in reply:
        return reply.get("content"), reply.get("stop_type")
    choices = reply["choices"]
    choice = choices[0] if isinstance(choices, list) and choices else None
    return (
        (choice.get("text"), choice.get("finish_reason"))
        if isinstance(choice, dict)
        else (None, None)
    )
