"""Exact context checks against a running llama-server: prompt_tokens + max_tokens must
fit the **per-slot** n_ctx of `GET /props` (with `-c 384 -np 4` a current server gives
each slot 256 tokens), the prompt counted by the server's `POST /tokenize` (specials
parsed: each Harmony marker is one token). Without `/tokenize` (an OpenAI-compatible
server that is not llama.cpp) the count is ceil(UTF-8 bytes / 3), conservative as real
BPE vocabularies average ~4 bytes per token on English, and says `"exact": false`.
"""

from __future__ import annotations

import math
import os
import re

from .errors import InputError, ServerError, ipv6_refused
from .http_client import HttpClient

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: `typing` costs start-up time on every Harmony call
    from collections.abc import Mapping
    from typing import Any

DEFAULT_TIMEOUT = 10.0
ESTIMATE_BYTES_PER_TOKEN = 3


def default_url(env: Mapping[str, str] | None = None) -> str:
    """The server URL without --url: GPT_OSS_URL, else http://GPT_OSS_HOST:GPT_OSS_PORT
    (127.0.0.1 and 8000 when unset or empty), one trailing slash dropped. Bash's copy:
    `default_url_to` in scripts/lib/common.sh (parity: tests/py/test_rules.py)."""
    env = os.environ if env is None else env
    url = env.get("GPT_OSS_URL") or ""
    if not url:
        port = env.get("GPT_OSS_PORT") or "8000"
        if not (re.fullmatch(r"[0-9]{1,5}", port, re.ASCII) and 1 <= int(port) <= 65535):
            raise InputError(f"GPT_OSS_PORT must be a port number (1-65535), got '{port}'")
        host = env.get("GPT_OSS_HOST") or "127.0.0.1"
        if ":" in host or "[" in host:
            raise ipv6_refused("GPT_OSS_HOST", host)
        url = f"http://{host}:{port}"
    return url[:-1] if url.endswith("/") else url


def ipv4_url(url: str) -> str:
    """`localhost` → 127.0.0.1: resolving it may try ::1 first and stall (the guide)."""
    return re.sub(r"^(https?://)localhost(?=[:/]|$)", r"\g<1>127.0.0.1", url.rstrip("/"))


class ServerClient:
    """A tiny JSON client for one llama-server URL; `/props` is read once per client (one
    CLI call), so several checks in one run read it once."""

    def __init__(self, url: str, http: HttpClient | None = None):
        self.url = ipv4_url(url)
        key = os.environ.get("GPT_OSS_API_KEY") or None
        self.http = http or HttpClient(self.url, api_key=key, timeout=DEFAULT_TIMEOUT)
        self._props: dict | None = None

    def request(self, method: str, path: str, body: Any = None, allow_404: bool = False) -> Any:
        """The decoded JSON reply (None for an allowed 404); errors as HttpClient.json's."""
        return self.http.json(method, path, body, allow_404=allow_404)

    def props(self) -> dict:
        """`GET /props`, read once per client."""
        if self._props is None:
            props = self.request("GET", "/props")
            if not isinstance(props, dict):
                raise ServerError("GET /props: the reply is not a JSON object")
            self._props = props
        return self._props

    def per_slot_context(self) -> int:
        """The per-slot context size: `/props` default_generation_settings.n_ctx."""
        settings = self.props().get("default_generation_settings") or {}
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        if not isinstance(n_ctx, int) or n_ctx <= 0:
            raise ServerError("GET /props: no default_generation_settings.n_ctx in the reply")
        return n_ctx

    def count_tokens(self, text: str) -> tuple[int, bool]:
        """(token count, exact?) — `/tokenize` with parse_special, else an estimate."""
        reply = self.request(
            "POST", "/tokenize", {"content": text, "parse_special": True}, allow_404=True
        )
        if reply is None:
            return estimate_tokens(text), False
        tokens = reply.get("tokens") if isinstance(reply, dict) else None
        if not isinstance(tokens, list):
            raise ServerError("POST /tokenize: no token list in the reply")
        return len(tokens), True


# Tokens a tokenizer may add around a text (BOS, SentencePiece's leading space, EOS).
ADDED_TOKENS_MAX = 4


def token_upper_bound(text: str) -> int:
    """No more tokens than this, on any byte-level BPE (gpt-oss's o200k, GPT-2 style) or
    SentencePiece-with-byte-fallback vocabulary: every token covers at least one byte,
    and a special token like `<|start|>` covers many. A prompt whose bound plus the
    reserved reply fits the context fits for sure, without asking /tokenize."""
    return len(text.encode("utf-8", "surrogatepass")) + ADDED_TOKENS_MAX


def estimate_tokens(text: str) -> int:
    """Conservative token estimate when the server cannot count: ceil(bytes / 3)."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)


def fit_report(prompt_tokens: int, max_tokens: int, n_ctx: int, exact: bool = True) -> dict:
    """The verdict with its numbers (the `--json` shape of `context check`)."""
    needed = prompt_tokens + max_tokens
    return {
        "fits": needed <= n_ctx,
        "prompt_tokens": prompt_tokens,
        "max_tokens": max_tokens,
        "needed": needed,
        "n_ctx": n_ctx,
        "free": n_ctx - needed,
        "exact": exact,
    }


def check_context(
    url: str, prompt: str, max_tokens: int, *, client: ServerClient | None = None
) -> dict:
    """Count `prompt` on the server and compare with its per-slot context."""
    client = client or ServerClient(url)
    n_ctx = client.per_slot_context()
    prompt_tokens, exact = client.count_tokens(prompt)
    return fit_report(prompt_tokens, max_tokens, n_ctx, exact)


def format_report(report: dict) -> str:
    """One human line, e.g. `fits: 120 prompt + 64 reserved = 184 of 256 per-slot tokens`."""
    verb = "fits" if report["fits"] else "does not fit"
    estimate = "" if report["exact"] else " (prompt tokens estimated: no /tokenize)"
    return (
        f"{verb}: {report['prompt_tokens']} prompt + {report['max_tokens']} reserved = "
        f"{report['needed']} of {report['n_ctx']} per-slot tokens{estimate}"
    )
