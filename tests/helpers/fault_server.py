#!/usr/bin/env python3
"""A misbehaving HTTP server for the fault tests (tests/faults.bats, tests/exit-codes.bats).

Usage: fault_server.py --port P --config FILE

FILE is JSON: {"/path": ROUTE, ...}. A ROUTE is
  {"status": 200, "body": TEXT, "content_type": "application/json",
   "trickle_ms": N, "length": true}
`body` is sent as UTF-8 (`body_hex` instead: raw bytes); with `trickle_ms` one byte
every N ms. `length: false` sends no Content-Length (the body ends with the
connection, as a stream does). Paths not in FILE: /health answers 200
{"status":"ok"}, /props a small llama-server /props (per-slot context 4096), /tokenize
one token per word, anything else 404 {"detail":"Not Found"} (what a server without
that endpoint says). Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "/health": {"body": '{"status":"ok"}'},
    "/props": {
        "body": json.dumps(
            {
                "default_generation_settings": {"n_ctx": 4096},
                "total_slots": 4,
                "model_path": "/models/fault.gguf",
            }
        )
    },
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict = {}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's name
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        route = self.routes.get(path) or DEFAULTS.get(path)
        if route is None and path == "/tokenize":
            content = json.loads(data or b"{}").get("content", "")
            route = {"body": json.dumps({"tokens": list(range(len(str(content).split())))})}
        if route is None:
            route = {"status": 404, "body": '{"detail":"Not Found"}'}
        body = bytes.fromhex(route["body_hex"]) if "body_hex" in route else route["body"].encode()
        self.send_response(route.get("status", 200))
        self.send_header("Content-Type", route.get("content_type", "application/json"))
        if route.get("length", True):
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        trickle = route.get("trickle_ms")
        if not trickle:
            self.wfile.write(body)
            return
        for index in range(len(body)):
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()
            time.sleep(trickle / 1000)

    do_GET = _answer
    do_POST = _answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as config:
        Handler.routes = json.load(config)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
