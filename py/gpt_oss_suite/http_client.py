"""The one HTTP client of the Python core: JSON requests and SSE streams to llama-server
(or any OpenAI-compatible server), with the suite's error wording and exit codes.

Why not `requests` or `http.client`: the Harmony path of local-infer.sh starts a Python
process per call, and on these machines `import requests` costs ~100 ms and
`import http.client` ~40 ms; even `socket` builds its enums at import (a third of
Python's own start-up), so plain http:// uses the C module `_socket` and only https://
imports `socket` and `ssl`. A JSON API on loopback needs little of HTTP/1.1: one request
per connection (`Connection: close`), a body framed by Content-Length, chunked encoding
or the end of the connection. Time limits are *total* (`Deadline`: connect, send and
every read together), so a server that trickles one byte at a time cannot stretch them.
"""

from __future__ import annotations

import _socket
import json
import time
from collections.abc import Callable, Iterator

from .errors import (
    FAIL_BAD_URL,
    FAIL_DROPPED,
    FAIL_HTTP,
    FAIL_TIMEOUT,
    ContextError,
    ContextOverflow,
    InputError,
    LoadingError,
    ServerError,
    SuiteError,
    UnreachableError,
    ipv6_refused,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: `typing` costs start-up time on every Harmony call
    from typing import Any

READ_BLOCK = 65536
UINT_MAX = 4294967295  # the largest time limit (scripts/lib/common.sh); more overflows


class Deadline:
    """A total time limit (seconds; None or 0 = none), shared by every step it is given to."""

    def __init__(self, seconds: float | None) -> None:
        if seconds and seconds > UINT_MAX:  # as require_number in common.sh
            raise InputError(f"a time limit must be at most {UINT_MAX} seconds, got {seconds:g}")
        self.seconds = seconds if seconds and seconds > 0 else None
        self.end = time.monotonic() + self.seconds if self.seconds else None

    def remaining(self) -> float | None:
        """Seconds left (<= 0 once expired); None without a limit."""
        return None if self.end is None else self.end - time.monotonic()

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0


class _Timeout(Exception):
    """The deadline ran out inside the transfer."""


class _Dropped(Exception):
    """The server closed the connection before the reply was complete."""


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, base path) of http://HOST[:PORT][/base]; ValueError otherwise."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"not an http:// URL: {url!r}")
    hostport, _, base = rest.partition("/")
    host, colon, port_text = hostport.rpartition(":")
    if not colon or "]" in port_text:
        host, port_text = hostport, ""
    if not host:
        raise ValueError(f"no host in URL: {url!r}")
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    return scheme, host.strip("[]"), port, ("/" + base).rstrip("/")


def _connect(host: str, port: int, timeout: float | None):  # noqa: ANN202 - a _socket.socket
    """socket.create_connection with the C module: each address in turn, IPv4 first."""
    error: OSError | None = None
    infos = _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)
    infos.sort(key=lambda info: info[0] != _socket.AF_INET)
    for family, kind, proto, _name, address in infos:
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            return sock
        except OSError as err:
            sock.close()
            error = err
    raise error or OSError(f"no address for {host}")


class _Connection:
    """One HTTP/1.1 exchange over one socket; reads are bounded by the deadline."""

    def __init__(self, scheme: str, host: str, port: int, deadline: Deadline) -> None:
        self.deadline = deadline
        self.buffer = b""
        if scheme == "https":
            import socket
            import ssl

            plain = socket.create_connection((host, port), timeout=self._left())
            self.sock = ssl.create_default_context().wrap_socket(plain, server_hostname=host)
        else:
            self.sock = _connect(host, port, self._left())

    def _left(self) -> float | None:
        left = self.deadline.remaining()
        if left is not None and left <= 0:
            raise _Timeout()
        return left

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self._left())
        self.sock.sendall(data)

    def _fill(self) -> bool:
        """Read one more block into the buffer; False at the end of the connection."""
        self.sock.settimeout(self._left())
        try:
            block = self.sock.recv(READ_BLOCK)
        except _socket.timeout:  # TimeoutError since Python 3.10
            raise _Timeout() from None
        self.buffer += block
        return bool(block)

    def readline(self) -> bytes:
        while (end := self.buffer.find(b"\n")) < 0:
            if not self._fill():
                raise _Dropped()
        line, self.buffer = self.buffer[: end + 1], self.buffer[end + 1 :]
        return line

    def read_exact(self, size: int) -> bytes:
        parts = []
        while size > 0:
            if not self.buffer and not self._fill():
                raise _Dropped()
            piece, self.buffer = self.buffer[:size], self.buffer[size:]
            parts.append(piece)
            size -= len(piece)
        return b"".join(parts)

    def read_rest(self) -> Iterator[bytes]:
        while self.buffer or self._fill():
            yield self.buffer
            self.buffer = b""

    def close(self) -> None:
        self.sock.close()


class Reply:
    """Status, lower-case headers and the body of one response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (or nests deeper than Python reads)."""
        return _loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class HttpClient:
    """Requests to one server URL. `timeout` is the total limit of one call (None = none)
    unless a shared `deadline` is given."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        head = self.url.partition("://")[2]
        if head.startswith("[") or head.split("/", 1)[0].split("@", 1)[0].count(":") > 1:
            raise ipv6_refused("the server URL", url)  # as require_http_url in common.sh
        try:
            self.scheme, self.host, self.port, self.base = split_url(self.url)
        except ValueError as err:
            raise SuiteError(f"cannot use URL '{url}': {err}", FAIL_BAD_URL) from None
        self.api_key = api_key or None
        self.timeout = Deadline(timeout).seconds  # checked as a Deadline's: ≤ UINT_MAX
        self.deadline = deadline

    # ------------------------------------------------------------------ one exchange

    def _open(self, method: str, path: str, body: Any, deadline: Deadline) -> _Connection:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        head = [
            f"{method} {self.base}{path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: application/json, text/event-stream",
            "Connection: close",
        ]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        if self.api_key:
            head.append(f"Authorization: Bearer {self.api_key}")
        conn = _Connection(self.scheme, self.host, self.port, deadline)
        try:
            conn.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _read_head(conn: _Connection) -> tuple[int, dict[str, str]]:
        while True:  # skip 1xx interim replies
            status_line = conn.readline()
            parts = status_line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise ServerError(f"not an HTTP reply: {status_line[:100]!r}")
            status = int(parts[1])
            headers: dict[str, str] = {}
            while line := conn.readline().rstrip(b"\r\n"):
                name, _, value = line.partition(b":")
                headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
            if not 100 <= status < 200:
                return status, headers

    @staticmethod
    def _body_pieces(conn: _Connection, headers: dict[str, str]) -> Iterator[bytes]:
        """The body as it arrives, de-chunked; _Dropped when it ends early."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = conn.readline().split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise ServerError(f"bad chunk size in the reply: {size_line[:40]!r}") from None
                if size == 0:
                    return
                yield conn.read_exact(size)
                conn.read_exact(2)
        elif "content-length" in headers:
            for left in range(int(headers["content-length"]), 0, -READ_BLOCK):
                yield conn.read_exact(min(left, READ_BLOCK))
        else:
            yield from conn.read_rest()

    def _exchange(
        self, method: str, path: str, body: Any, on_line: Callable[[bytes], None] | None
    ) -> Reply:
        deadline = self.deadline or Deadline(self.timeout)
        try:
            conn = self._open(method, path, body, deadline)
        except (_Timeout, _socket.timeout):  # connecting counts against the limit too
            raise self._timeout_error() from None
        except OSError:
            raise UnreachableError(unreachable_message(self.url)) from None
        try:
            status, headers = self._read_head(conn)
            if on_line is None or status != 200:
                body_bytes = b"".join(self._body_pieces(conn, headers))
            else:
                body_bytes = self._stream_lines(conn, headers, on_line)
            return Reply(status, headers, body_bytes)
        except _Timeout:
            raise self._timeout_error() from None
        except (_Dropped, ConnectionError):
            raise ServerError(dropped_message(self.url), FAIL_DROPPED) from None
        except OSError as err:
            raise ServerError(f"request to {self.url}{path} failed: {err}") from None
        finally:
            conn.close()

    def _stream_lines(
        self, conn: _Connection, headers: dict[str, str], on_line: Callable[[bytes], None]
    ) -> bytes:
        """Hands each complete line to on_line as it arrives; returns the unfinished tail."""
        pending = b""
        for piece in self._body_pieces(conn, headers):
            pending += piece
            *lines, pending = pending.split(b"\n")
            for line in lines:
                on_line(line.rstrip(b"\r"))
        return pending

    def _timeout_error(self) -> SuiteError:
        limit = self.deadline.seconds if self.deadline else self.timeout
        within = f"within {limit:g}s (--timeout)" if limit else "(the system's limit ran out)"
        return SuiteError(f"no complete reply from {self.url} {within}", FAIL_TIMEOUT)

    # ------------------------------------------------------------------ the API

    def json(self, method: str, path: str, body: Any = None, allow_404: bool = False) -> Any:
        """One request whose 200 reply is JSON; any other status raises (error_for)."""
        reply = self._exchange(method, path, body, None)
        if reply.status == 404 and allow_404:
            return None
        if reply.status != 200:
            raise self.error_for(reply)
        try:
            return reply.json()
        except ValueError:
            raise ServerError(
                f"unreadable reply from {self.url}{path}: {reply.text()[:200]}"
            ) from None

    def stream(self, path: str, body: Any, on_event: Callable[[Any], None]) -> Any:
        """POST with `stream: true`; each SSE `data:` event, decoded, goes to on_event.
        Returns the last; a stream without events or an end is a ServerError."""
        state = {"last": None, "done": False}

        def on_line(line: bytes) -> None:
            if not line.startswith(b"data:"):
                return
            payload = line[5:].strip()
            if payload == b"[DONE]":
                state["done"] = True
                return
            try:
                event = _loads(payload)
            except ValueError:
                raise ServerError(
                    f"unreadable event from {self.url}{path}: {payload[:200]!r}"
                ) from None
            state["last"] = event
            on_event(event)

        reply = self._exchange("POST", path, body, on_line)
        if reply.status != 200:
            raise self.error_for(reply)
        if reply.body.strip():  # an unterminated last line
            on_line(reply.body.strip())
        if state["last"] is None:
            raise ServerError(
                f"incomplete reply: the 200 reply from {self.url}{path} is not an event "
                "stream (no `data:` events)"
            )
        if not (state["done"] or is_final_event(state["last"])):
            # What a server that crashed or was cut off mid-reply looks like.
            raise ServerError(
                f"incomplete reply: the stream from {self.url}{path} ended without its "
                "final event (did the server crash?)"
            )
        return state["last"]

    def error_for(self, reply: Reply) -> SuiteError:
        """The suite's error for a non-200 reply: one wording, one exit code per case."""
        try:
            data = reply.json()
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str):
            error = {"message": error}
        error = error if isinstance(error, dict) else {}
        # One line on stderr, as scripts/lib/request_errors.sh's server_message: a proxy's
        # plain-text page or a multi-line message gives its first line.
        message = str(error.get("message") or reply.text().strip()[:200] or "no body")
        message = message.strip().partition("\n")[0]
        status = reply.status
        if status == 503:
            return LoadingError(f"the server at {self.url} is still loading the model (HTTP 503)")
        if status == 401:
            why = "rejected" if self.api_key else "needs an API key: set"
            return ServerError(
                f"the server at {self.url} {why} GPT_OSS_API_KEY (HTTP 401: {message})", FAIL_HTTP
            )
        overflow = context_overflow(status, error, message)
        if overflow is not None:
            return overflow
        return ServerError(f"the server at {self.url} answered HTTP {status}: {message}", FAIL_HTTP)


def _loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def is_final_event(event: Any) -> bool:
    """The last event of a complete stream: llama-server's /completion ends with
    `"stop": true`, an OpenAI-style stream with a choice whose finish_reason is set
    (then `data: [DONE]`, which `stream` notes by itself)."""
    if not isinstance(event, dict):
        return False
    if event.get("stop") is True:
        return True
    choices = event.get("choices")
    return isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") for c in choices
    )


UNIFIED_POOL_FULL = "Context size has been exceeded."


def context_overflow(status: int, error: dict, message: str) -> ContextError | None:
    """The reply's context overflow, if it is one:
    - llama-server 400 `exceed_context_size_error` (the request alone is too long);
    - OpenAI / vLLM / llama_cpp.server 400 `context_length_exceeded`;
    - llama-server 500 "Context size has been exceeded." — with unified KV (`-kvu`) the
      slots share one pool, and when the live requests together hold more tokens than it,
      the server fails every running request (measured: four concurrent 1400-token prompts
      on `-c 4096 -np 4 -kvu`)."""
    kind = error.get("type")
    if status == 400 and kind == "exceed_context_size_error":
        n_prompt, n_ctx = error.get("n_prompt_tokens"), error.get("n_ctx")
        return ContextOverflow("http_400", _int(n_prompt), _int(n_ctx), message)
    if status == 400 and (
        error.get("code") == "context_length_exceeded" or "maximum context length" in message
    ):
        return ContextOverflow("http_400", None, None, message)
    if status == 500 and message.strip() == UNIFIED_POOL_FULL:
        return ContextError(
            "the server's shared KV pool (unified KV) ran out: the requests running at the "
            "same time hold more tokens than it has, so it failed them all (HTTP 500: "
            f"{message}); retry, send fewer requests at once, or raise GPT_OSS_CTX",
        )
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def dropped_message(url: str) -> str:
    """What to say when the server closed the connection without a complete reply."""
    from .rpc_state import crash_hint  # its RPC workers, when it has some (issue 14)

    hint = crash_hint(url) or " (did it crash?)"
    return f"the server at {url} closed the connection without a complete reply{hint}"


def unreachable_message(url: str) -> str:
    """What to say when nothing answers at the URL (a server whose RPC worker died is gone)."""
    from .rpc_state import crash_hint

    return f"server not reachable at {url} (is gpt-oss-fast.sh running?){crash_hint(url) or ''}"
