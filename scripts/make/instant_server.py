#!/usr/bin/env python3
"""A llama-server look-alike that answers at once, for make bench's size sweep.

Usage: instant_server.py --port P --reply-bytes N [--harmony]

It shows only the client's own cost: a POST to /completion is read whole and answered
with a reply prepared once (TEXT of N bytes, written as llama-server writes it: UTF-8
not escaped, cut to the request's "response_fields", or as its events with `"stream":
true`), so the server does the same small work for the suite's client and for bare curl.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LINE = 'The "quick" brown fox\\jumps over the lazy dog: caf\u00e9 \u65e5\u672c.\n'
# --harmony: the reply is gpt-oss's, an analysis message then the final one (the TEXT).
HARMONY_HEAD = (
    "<|channel|>analysis<|message|>A thought.<|end|><|start|>assistant<|channel|>final<|message|>"
)
TIMINGS = {"prompt_n": 1, "prompt_ms": 0.5, "predicted_n": 1, "predicted_ms": 10.0}


def reply_text(size: int) -> str:
    """TEXT of exactly `size` UTF-8 bytes (a multibyte character is never cut)."""
    line_bytes = len(LINE.encode())
    text = LINE * (size // line_bytes) + "x" * (size % line_bytes)
    assert len(text.encode()) == size
    return text


def plain_reply(text: str, fields: tuple[str, ...] = ()) -> bytes:
    """The reply; only `fields` (llama-server's response_fields) when some are given."""
    reply = {"content": text, "stop_type": "limit", "truncated": False, "timings": TIMINGS}
    if fields:
        reply = {key: reply[key] for key in fields if key in reply}
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode()


def stream_reply(text: str) -> bytes:
    events = []
    for i in range(0, len(text), 64):
        piece = json.dumps({"content": text[i : i + 64], "stop": False}, ensure_ascii=False)
        events.append(f"data: {piece}\n\n")
    final = {"content": "", "stop": True, "stop_type": "limit", "truncated": False}
    final["timings"] = TIMINGS
    events.append(f"data: {json.dumps(final, separators=(',', ':'))}\n\n")
    return "".join(events).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # answers Expect: 100-continue as llama-server does
    server_version = "llama.cpp"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:
        pass

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.server.harmony and self.path == "/props":  # room for any reply
            self._send(b'{"default_generation_settings":{"n_ctx":1000000000},"total_slots":1}',
                       "application/json")  # fmt: skip
            return
        self._send(b'{"status":"ok"}', "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.server.harmony and self.path == "/tokenize":  # a token per byte: an upper bound
            content = json.loads(body).get("content", "")
            self._send(json.dumps({"tokens": [1] * len(content.encode())}).encode(),
                       "application/json")  # fmt: skip
            return
        if self.path not in ("/completion", "/v1/completions"):
            self.send_error(404)
            return
        if b'"stream":true' in body:
            self._send(self.server.stream, "text/event-stream")
            return
        fields: tuple[str, ...] = ()
        start = body.rfind(b'"response_fields":[')  # after the prompt: no JSON parse needed
        if start >= 0:
            end = body.index(b"]", start)
            fields = tuple(json.loads(body[start + len(b'"response_fields":') : end + 1]))
        if fields not in self.server.plain:
            self.server.plain[fields] = plain_reply(self.server.text, fields)
        self._send(self.server.plain[fields], "application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply-bytes", type=int, default=8)
    parser.add_argument("--harmony", action="store_true", help="a Harmony reply, /props")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.harmony = args.harmony
    server.text = (HARMONY_HEAD if args.harmony else "") + reply_text(args.reply_bytes)
    server.plain = {(): plain_reply(server.text)}  # by response_fields, made once each
    server.stream = stream_reply(server.text)
    sys.stderr.write(f"instant_server: listening on http://127.0.0.1:{args.port}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
