"""Context checks against a tiny in-process fake llama-server."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gpt_oss_suite.context import (
    ServerClient,
    check_context,
    estimate_tokens,
    fit_report,
    format_report,
)
from gpt_oss_suite.errors import LoadingError, ServerError, UnreachableError


class FakeServer:
    """Answers /props and /tokenize like llama-server; records what it was asked."""

    def __init__(self) -> None:
        self.n_ctx = 256
        self.status = 200  # for every request
        self.tokenize = True
        self.api_key: str | None = None
        self.requests: list[tuple[str, str, dict, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                fake.requests.append((method, self.path, dict(self.headers), body))
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._reply(401, {"error": {"code": 401, "message": "Invalid API Key"}})
                if fake.status == 503:
                    return self._reply(503, {"error": {"code": 503, "message": "Loading model"}})
                if fake.status != 200:
                    return self._reply(fake.status, {"error": {"message": "boom"}})
                if self.path == "/props":
                    return self._reply(200, {"default_generation_settings": {"n_ctx": fake.n_ctx}})
                if self.path == "/tokenize" and fake.tokenize:
                    content = json.loads(body)["content"]
                    return self._reply(200, {"tokens": list(range(len(content.split())))})
                return self._reply(404, {"error": {"code": 404, "message": "File Not Found"}})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_fits_with_the_per_slot_numbers(fake_server):
    report = check_context(fake_server.url, "one two three", 64)
    assert report == {
        "fits": True,
        "prompt_tokens": 3,
        "max_tokens": 64,
        "needed": 67,
        "n_ctx": 256,
        "free": 189,
        "exact": True,
    }
    tokenize = [r for r in fake_server.requests if r[1] == "/tokenize"][0]
    assert json.loads(tokenize[3]) == {"content": "one two three", "parse_special": True}


def test_does_not_fit_when_the_reply_reserve_overflows(fake_server):
    report = check_context(fake_server.url, "a b c d", 253)
    assert (report["fits"], report["needed"], report["free"]) == (False, 257, -1)
    assert format_report(report).startswith("does not fit: 4 prompt + 253 reserved = 257 of 256")


def test_exactly_full_fits():
    assert fit_report(200, 56, 256)["fits"] is True


def test_props_is_read_once_per_client(fake_server):
    client = ServerClient(fake_server.url)
    for _ in range(3):
        check_context(fake_server.url, "x", 1, client=client)
    assert [r[1] for r in fake_server.requests].count("/props") == 1


def test_missing_tokenize_falls_back_to_an_estimate(fake_server):
    fake_server.tokenize = False
    report = check_context(fake_server.url, "x" * 30, 10)
    assert (report["prompt_tokens"], report["exact"]) == (10, False)
    assert "estimated" in format_report(report)


def test_estimate_is_conservative_bytes_over_three():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 2
    assert estimate_tokens("é") == 1


def test_api_key_is_sent_as_bearer(fake_server, monkeypatch):
    fake_server.api_key = "s3cret"
    monkeypatch.setenv("GPT_OSS_API_KEY", "s3cret")
    assert check_context(fake_server.url, "x", 1)["fits"] is True
    assert fake_server.requests[0][2]["Authorization"] == "Bearer s3cret"


def test_wrong_api_key_is_a_server_error(fake_server, monkeypatch):
    fake_server.api_key = "right"
    monkeypatch.setenv("GPT_OSS_API_KEY", "wrong")
    with pytest.raises(ServerError, match="401: Invalid API Key"):
        check_context(fake_server.url, "x", 1)


def test_loading_server_exits_4(fake_server):
    fake_server.status = 503
    with pytest.raises(LoadingError) as caught:
        check_context(fake_server.url, "x", 1)
    assert caught.value.exit_code == 4


def test_server_error_exits_6(fake_server):
    fake_server.status = 500
    with pytest.raises(ServerError) as caught:
        check_context(fake_server.url, "x", 1)
    assert caught.value.exit_code == 6
    assert "HTTP 500: boom" in caught.value.message


def test_unreachable_server_exits_3(closed_port_url):
    with pytest.raises(UnreachableError) as caught:
        check_context(closed_port_url, "x", 1)
    assert caught.value.exit_code == 3
    assert closed_port_url in caught.value.message


def test_props_without_n_ctx_is_a_server_error(fake_server):
    fake_server.n_ctx = None
    with pytest.raises(ServerError, match="n_ctx"):
        check_context(fake_server.url, "x", 1)


def test_server_client_talks_ipv4_to_localhost() -> None:
    # The guide: localhost may resolve to ::1 first and stall; the suite forces IPv4.
    from gpt_oss_suite.context import ServerClient

    assert ServerClient("http://localhost:8000/").url == "http://127.0.0.1:8000"
