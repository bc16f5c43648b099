"""http_client.py: framing, streams, the total deadline and the error for each reply."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gpt_oss_suite.errors import (
    EXIT_TIMEOUT,
    ContextError,
    ContextOverflow,
    LoadingError,
    ServerError,
    SuiteError,
    UnreachableError,
)
from gpt_oss_suite.http_client import Deadline, HttpClient, split_url

SUITE_ROOT = Path(__file__).resolve().parents[2]


class RawServer:
    """A loopback server that answers every connection with `handler(conn)` (raw bytes)."""

    def __init__(self, handler) -> None:  # noqa: ANN001
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.handler = handler
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            try:
                self.handler(conn)
            except OSError:
                pass  # the client went away first (the deadline tests leave early)
            finally:
                conn.close()

    def close(self) -> None:
        self.sock.close()


def reply(status: int, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


@pytest.fixture
def serve():
    servers = []

    def start(handler) -> RawServer:  # noqa: ANN001
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_json_with_content_length_and_the_request_it_sent(serve) -> None:
    server = serve(lambda c: c.sendall(reply(200, b'{"ok": "\xc3\xbc"}')))
    client = HttpClient(server.url, api_key="k")
    assert client.json("POST", "/completion", {"prompt": 'ü "q"'}) == {"ok": "ü"}
    sent = server.requests[0]
    assert sent.startswith(b"POST /completion HTTP/1.1\r\n")
    assert b"Authorization: Bearer k\r\n" in sent
    assert sent.endswith(json.dumps({"prompt": 'ü "q"'}, ensure_ascii=False).encode())


def test_chunked_and_close_delimited_bodies(serve) -> None:
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n'
    )
    server = serve(lambda c: c.sendall(chunked))
    assert HttpClient(server.url).json("GET", "/props") == {"a": 1}
    server = serve(lambda c: c.sendall(b'HTTP/1.1 200 OK\r\n\r\n{"b": 2}'))
    assert HttpClient(server.url).json("GET", "/props") == {"b": 2}


def test_a_stream_hands_on_each_event_and_returns_the_last(serve) -> None:
    events = b'data: {"content": "a"}\n\ndata: {"content": "b", "stop": true}\n\ndata: [DONE]\n\n'
    server = serve(lambda c: c.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + events))
    seen = []
    last = HttpClient(server.url).stream("/completion", {}, seen.append)
    assert [e["content"] for e in seen] == ["a", "b"] and last["stop"] is True


def test_the_deadline_is_total_even_when_the_server_trickles(serve) -> None:
    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(40):
            time.sleep(0.1)
            conn.sendall(b" ")

    server = serve(trickle)
    started = time.monotonic()
    with pytest.raises(SuiteError) as info:
        HttpClient(server.url, deadline=Deadline(0.5)).json("GET", "/slow")
    assert info.value.exit_code == EXIT_TIMEOUT
    assert time.monotonic() - started < 1.5
    assert "within 0.5s (--timeout)" in info.value.format_message()


def test_a_connection_dropped_mid_reply_is_a_server_error(serve) -> None:
    server = serve(lambda c: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"))
    with pytest.raises(ServerError, match="closed the connection without a complete reply"):
        HttpClient(server.url).json("GET", "/x")


def test_nothing_listening_is_unreachable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(UnreachableError):
        HttpClient(f"http://127.0.0.1:{port}").json("GET", "/health")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (503, b'{"error":{"message":"Loading model"}}', LoadingError),
        (
            400,
            b'{"error":{"type":"exceed_context_size_error","message":"m","n_ctx":256}}',
            ContextOverflow,
        ),
        (
            400,
            b'{"error": {"code": "context_length_exceeded", "message": "This model\'s '
            b'maximum context length is 512 tokens"}}',
            ContextOverflow,
        ),
        (
            500,
            b'{"error":{"code":500,"message":"Context size has been exceeded.",'
            b'"type":"server_error"}}',
            ContextError,
        ),
        (500, b'{"error":{"code":500,"message":"boom"}}', ServerError),
        (401, b"", ServerError),
    ],
)
def test_each_error_reply_maps_to_one_exception(serve, status, body, kind) -> None:
    server = serve(lambda c: c.sendall(reply(status, body)))
    with pytest.raises(kind) as info:
        HttpClient(server.url).json("POST", "/completion", {})
    if status == 500 and kind is ContextError:
        assert not isinstance(info.value, ContextOverflow)  # no raw fallback: a pool, not a prompt
        assert "shared KV pool (unified KV) ran out" in info.value.format_message()


def test_split_url() -> None:
    assert split_url("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000, "")
    assert split_url("https://h/v1/") == ("https", "h", 443, "/v1")
    with pytest.raises(ValueError):
        split_url("ftp://h:1")


def test_the_harmony_path_imports_neither_click_nor_requests_nor_typing() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import gpt_oss_suite.chat_main, gpt_oss_suite.chat, gpt_oss_suite.harmony,"
        " gpt_oss_suite.harmony_parse, gpt_oss_suite.http_client, gpt_oss_suite.context;"
        "print(sorted(m for m in ('click', 'requests', 'typing', 'dataclasses', 'http.client')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-E", "-S", "-c", code, str(SUITE_ROOT / "py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_a_time_limit_too_large_for_the_platform_is_an_input_error() -> None:
    from gpt_oss_suite.http_client import Deadline

    with pytest.raises(SuiteError) as err:
        HttpClient("http://127.0.0.1:9", timeout=1e300)
    assert err.value.exit_code == 2 and "at most 4294967295 seconds" in str(err.value)
    assert Deadline(4294967295).seconds == 4294967295
