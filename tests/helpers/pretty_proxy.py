#!/usr/bin/env python3
"""A reverse proxy that pretty-prints every JSON it passes on, for the bats tests.

Usage: pretty_proxy.py --port P --upstream http://127.0.0.1:Q

Some proxies and gateways re-serialise JSON: a JSON reply comes back indented over many
lines (`json.dumps(indent=2)`), each server-sent event's JSON with a space after every
colon and comma (an event must stay on one line). Status codes and everything that is
not JSON pass unchanged. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no *_proxy from env


def pretty(body: bytes) -> bytes:
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return json.dumps(value, indent=2, ensure_ascii=False).encode() + b"\n"


def pretty_event(line: bytes) -> bytes:
    if not line.startswith(b"data: "):
        return line
    try:
        value = json.loads(line[len(b"data: ") :])
    except ValueError:
        return line
    return b"data: " + json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        pass

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "expect")}
        request = urllib.request.Request(
            self.server.upstream + self.path, data=data, headers=headers, method=method
        )
        try:
            upstream = OPENER.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            upstream = error
        status = upstream.status if hasattr(upstream, "status") else upstream.code
        kind = upstream.headers.get("Content-Type", "")
        self.send_response(status)
        if kind.startswith("text/event-stream"):
            self.send_header("Content-Type", kind)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for line in upstream:
                self.wfile.write(pretty_event(line.rstrip(b"\n")) + b"\n")
                self.wfile.flush()
            return
        body = pretty(upstream.read())
        self.send_header("Content-Type", kind or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.upstream = args.upstream.rstrip("/")
    server.serve_forever()


if __name__ == "__main__":
    main()
