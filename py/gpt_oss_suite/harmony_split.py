"""Where the Harmony path's time goes (`gpt-oss-py bench harmony-split`, make bench).

local-infer.sh's Harmony path is one Python process per call. Start-up and the path's
imports are timed as whole `python -E -S` processes (as local-infer.sh runs it); in one
process against a running server: harmony.py's rendering (`render_ms`) and the server's
(`/apply-template`, used when it is Harmony, as local-infer.sh does), `/props` (per-slot
context), `/tokenize` (when the byte bound does not settle the context check), the
`/completion` and the parse. Every figure is the median of `runs`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

# What local-infer.sh's Harmony path imports (chat_main → chat → the rest, lazily).
PATH_MODULES = (
    "gpt_oss_suite.chat_main",
    "gpt_oss_suite.chat",
    "gpt_oss_suite.context",
    "gpt_oss_suite.http_client",
    "gpt_oss_suite.harmony",
    "gpt_oss_suite.harmony_parse",
)
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _timed(call, runs: int) -> tuple[float, object]:  # noqa: ANN001 - any callable
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), value


def _process_ms(code: str, runs: int) -> float:
    return _timed(
        lambda: subprocess.run([sys.executable, "-E", "-S", "-c", code], check=True), runs
    )[0]


def measure(
    url: str, runs: int = 10, prompt: str = "Hello", max_tokens: int = 32, tools: bool = False
) -> dict:
    """The split, in ms (medians), for one prompt against the server at `url`."""
    from . import harmony, harmony_parse
    from .context import ServerClient
    from .workspace_tools import TOOL_SPECS

    startup = _process_ms("pass", runs)
    code = [f"import sys; sys.path.insert(0, {PACKAGE_DIR!r})"]
    code += [f"import {name}" for name in PATH_MODULES]
    imports = _process_ms("; ".join(code), runs) - startup
    messages = [{"role": "user", "content": prompt}]
    spec = TOOL_SPECS if tools else None
    render_ms, text = _timed(lambda: harmony.render_prompt(messages, spec), runs)
    body = {"messages": messages, "tools": spec or []}
    template_ms, served = _timed(
        lambda: ServerClient(url).request("POST", "/apply-template", body, allow_404=True), runs
    )
    served = served.get("prompt") if isinstance(served, dict) else None
    server_renders = harmony.is_harmony_rendering(served or "", messages, spec)
    text = served if server_renders else text
    props_ms, _ = _timed(lambda: ServerClient(url).props(), runs)
    tokenize_ms, counted = _timed(lambda: ServerClient(url).count_tokens(text), runs)
    body = {"prompt": text, "n_predict": max_tokens, "cache_prompt": True, "temperature": 0}
    request_ms, reply = _timed(lambda: ServerClient(url).request("POST", "/completion", body), runs)
    content = reply.get("content", "") if isinstance(reply, dict) else ""
    parse_ms, _ = _timed(lambda: harmony_parse.parse_completion(content, "limit"), runs)
    return {
        "runs": runs,
        "tools": tools,
        "prompt_tokens": counted[0],
        "startup_ms": round(startup, 1),
        "imports_ms": round(imports, 1),
        "render_ms": round(render_ms, 2),
        "apply_template_ms": round(template_ms, 2),
        "server_renders": server_renders,
        "props_ms": round(props_ms, 2),
        "tokenize_ms": round(tokenize_ms, 2),
        "completion_ms": round(request_ms, 1),
        "parse_ms": round(parse_ms, 2),
    }
