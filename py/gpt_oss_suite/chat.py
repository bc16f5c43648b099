"""The client loop behind `local-infer.sh` (everything but its `--raw` path).

One loop (`_chat_loop`) for both backends, each a small adapter saying how a request is
made and how its reply reads: `HarmonyBackend` (gpt-oss: a Harmony prompt to `/completion`)
and `OpenAIBackend` (`/v1/chat/completions`). A request that does not fit the per-slot
context is sent raw instead (`_fall_back`): an answer computed from a cut prompt is never
shown. How, and why, is in docs/local-infer.md. HTTP goes through http_client.py (sockets:
no `requests`, no click on this path).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from .context import ServerClient, fit_report, ipv4_url, token_upper_bound
from .errors import (
    EXIT_TIMEOUT,
    EXIT_TOOL_TURNS,
    ContextError,
    ContextOverflow,
    LoadingError,
    ServerError,
    SuiteError,
)
from .harmony_parse import parse_completion, parse_openai_chat
from .http_client import Deadline, HttpClient

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
        processed = (timings or {}).get("prompt_n")
        processed = processed if isinstance(processed, int) else None
        cached = (timings or {}).get("cache_n")
        if cached is None and isinstance(prompt, int) and processed is not None:
            cached = prompt - processed  # an Aug-2025 server's timings have no cache_n
        if prompt is None and processed is not None:
            prompt = processed + (cached or 0)
        if predicted is None:
            predicted = (timings or {}).get("predicted_n")
        counts = {"prompt": prompt, "predicted": predicted, "cached": cached}
        counts = {key: value if isinstance(value, int) else None for key, value in counts.items()}
        for key, value in counts.items():
            if value is not None:
                self.tokens[key] = (self.tokens[key] or 0) + value
        slot = reply.get("id_slot")
        self.per_request.append({**counts, "slot": slot if isinstance(slot, int) else None})
        self.timings = timings


class Sink:
    """Collects the answer, the reasoning and notices as they become known (CliSink prints)."""

    def __init__(self, show_reasoning: bool = False) -> None:
        self.show_reasoning = show_reasoning
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

    def __init__(self, url: str, timeout: float) -> None:
        self.url = ipv4_url(url)  # one URL rule for every client of the core
        self.deadline = Deadline(timeout)
        key = os.environ.get("GPT_OSS_API_KEY") or None
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

    def check_fits(self, text: str, max_tokens: int) -> bool:
        """Raise ContextOverflow when `text` + max_tokens exceeds the per-slot context.
        Returns whether the count was exact (the server's tokenizer)."""
        n_ctx = self._waiting(self.server.per_slot_context)
        if token_upper_bound(text) + max_tokens <= n_ctx:
            return True  # fits even if every byte were a token: no /tokenize round trip
        tokens, exact = self._waiting(lambda: self.server.count_tokens(text))
        if not fit_report(tokens, max_tokens, n_ctx, exact)["fits"]:
            detail = (
                f"{tokens}{'' if exact else ' (estimated)'} prompt tokens + {max_tokens} "
                f"reserved for the reply > {n_ctx} per-slot context"
            )
            raise ContextOverflow("context", tokens, n_ctx, detail)
        return exact

    def apply_template(self, body: dict) -> str | None:
        """The server's own rendering of a chat request, else None. A server without
        `/apply-template` (404), failing it (an Aug-2025 server without --jinja answers 500
        for tools) or whose rendering a caller found wanting is asked once per run."""

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


class _Live:
    """Emits the growing final answer and analysis of one reply as deltas."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.final = ""
        self.analysis = ""

    def update(self, final: str, analysis: str) -> None:
        shown = self.analysis
        if self.sink.show_reasoning and analysis.startswith(shown) and analysis != shown:
            self.sink.reasoning(analysis[len(shown) :])
            self.analysis = analysis
        if final.startswith(self.final) and final != self.final:
            self.sink.answer(final[len(self.final) :])
            self.final = final

    def close(self) -> None:
        if self.analysis:
            self.sink.reasoning_end()


def _sampling(opts: ChatOptions) -> dict:
    values = {name: getattr(opts, name) for name in ("temperature", "top_p", "seed")}
    return {name: value for name, value in values.items() if value is not None}


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
    budget: Any, workspace: Any, calls: list, turn: int, result: ChatResult, sink: Sink, deadline
) -> list:
    """Run one reply's tool calls within the budget and record them all in `result`; returns
    (call, outcome) of those that go back into the conversation. The tools get at most what
    is left of --timeout (`deadline`); when it runs out here, the run ends (exit 10)."""
    left = deadline.remaining()
    if left is not None:
        budget.max_seconds = min(budget.max_seconds, budget.used + max(left, 0.0))
    outcomes = budget.run_reply(workspace, calls)
    if deadline.expired():
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
    """The hook every piece of untrusted text (tool results, what the model wrote that goes
    back) passes before either renderer sees it; today: harmony_guard.py."""
    from .harmony_guard import neutralize_specials

    return neutralize_specials(value)


class Backend:
    """What the loop asks of a server dialect: `request` (the body, and whether it was
    counted exactly), `stream` (an SSE handler, and how the last event becomes the reply),
    `parse`, `finished`, `prepare` (calls before they run), `add_turn` (after)."""

    mode = endpoint = what = cut = ""

    def __init__(self, opts: ChatOptions, transport: Transport) -> None:
        self.opts, self.transport = opts, transport


class HarmonyBackend(Backend):
    """gpt-oss on llama-server: a Harmony prompt to `/completion`, special tokens kept."""

    mode, endpoint, what = "harmony", "/completion", "Harmony prompt"
    cut = 'the server cut the Harmony prompt to fit its context ("truncated": true)'

    def request(self, messages: list, tools: Any) -> tuple[dict, bool]:
        opts = self.opts
        text = self.prompt(messages, tools)
        exact = self.transport.check_fits(text, opts.max_tokens) if opts.context_check else False
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
        template = {k: v for k, v in body.items() if k != "max_tokens"}
        rendered = self.transport.apply_template(template) if opts.context_check else None
        exact = rendered is not None and self.transport.check_fits(rendered, opts.max_tokens)
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
    """Answer `prompt`; raises SuiteError subclasses with the suite's exit codes (at the
    tool-turn limit with `.result`, the partial ChatResult, after it went to the sink)."""
    sink = sink or Sink(opts.show_reasoning)
    kind = OpenAIBackend if opts.backend == "openai" else HarmonyBackend
    backend = kind(opts, Transport(opts.url, opts.timeout))
    try:
        return _chat_loop(opts, prompt, sink, backend)
    except ContextOverflow as overflow:
        return _fall_back(opts, prompt, sink, backend, overflow)


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
        result.reasoning = "\n".join(reasoning) or None
        calls = parsed["tool_calls"]
        if not calls:
            return _final_answer(result, parsed, sink, backend.finished(parsed))
        partial += [parsed["commentary"], parsed["final"]]
        if turns >= opts.max_tool_turns:
            return _turn_limit(opts, sink, result, reasoning, partial)
        turns += 1
        backend.prepare(calls, turns)
        ran = _run_reply_calls(budget, workspace, calls, turns, result, sink, transport.deadline)
        backend.add_turn(messages, parsed, ran)


def _final_answer(result: ChatResult, parsed: dict, sink: Sink, finished: bool) -> ChatResult:
    """Fill `result` from a reply with no tool call: the loop's normal end."""
    result.text = parsed["final"]
    result.finish_reason = "length" if parsed["stop"] == "limit" else "stop"
    result.complete = finished and bool(result.text)
    if not result.text:
        sink.notice(
            "warning: the reply used all --max-tokens before a final answer (raise --max-tokens)"
            if parsed["stop"] == "limit"
            else "warning: the model gave no final answer"
        )
    return result


def _turn_limit(
    opts: ChatOptions, sink: Sink, result: ChatResult, reasoning: list, partial: list
) -> ChatResult:
    result.text = text = "\n".join(p for p in partial if p) or (reasoning[-1] if reasoning else "")
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
RAW_REPLY_FIELDS = "content stop stop_type tokens_evaluated tokens_predicted truncated timings"


def _fall_back(
    opts: ChatOptions, prompt: str, sink: Sink, backend: Backend, overflow: ContextOverflow
) -> ChatResult:
    """Send the original prompt raw, after one notice naming the numbers and the fix."""
    why = {
        "context": f"the {backend.what} does not fit: {overflow.detail}",
        "http_400": f"the server refused the {backend.what}: {overflow.detail}",
    }.get(overflow.reason, overflow.detail)
    if not opts.fallback:
        raise ContextError(f"{why}; {FIX_HINT} (or drop --no-fallback to retry raw)")
    dropped = ["no tools"] if opts.tools else []
    dropped += ["no --system"] if opts.system else []
    extra = f" ({', '.join(dropped)})" if dropped else ""
    message = f"{why}; falling back to --raw{extra}. To keep Harmony: {FIX_HINT}"
    sink.notice(message)

    endpoint = "/completion" if backend.mode == "harmony" else "/v1/completions"
    body: dict[str, Any] = {"prompt": prompt}
    body["n_predict" if endpoint == "/completion" else "max_tokens"] = opts.max_tokens
    if opts.model:
        body["model"] = opts.model
    body.update(_sampling(opts))
    if endpoint == "/completion":  # as local-infer.sh --raw asks (tests/raw-parity.bats)
        body["cache_prompt"] = True
        body["response_fields"] = RAW_REPLY_FIELDS.split()
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
        reply = backend.transport.post(endpoint, body, on_event)
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
        raise ServerError(f"unreadable reply from {backend.transport.url}{endpoint}: no text")
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
    choice = choice if isinstance(choice, dict) else {}
    return choice.get("text"), choice.get("finish_reason")
