#!/usr/bin/env python3
"""A fake llama.cpp RPC worker (ggml-rpc-server) for the stub tests: standard library only.

Takes ggml-rpc-server's flags (-H/--host, -p/--port, -t/--threads, -c/--cache,
-d/--device), prints its start-up lines like the real one, listens with the real
backlog (1) and serves one client at a time: each connection is accepted, read until the
client closes it, and closed ("Accepted client connection" / "Client connection closed").
Nothing of the RPC protocol itself.

Environment (all optional):
  FAKE_RPC_FAIL=TEXT   print TEXT on stderr and exit 1 at once (a worker that cannot start)
  FAKE_RPC_DELAY_SECS  sleep this long before listening (a slow start)
  FAKE_RPC_HOLD=1      never close an accepted connection (a worker busy with its client)
  FAKE_RPC_STRICT_BIND=1  bind as the real one does, without SO_REUSEADDR: a port that a
                       connection of this machine still holds (TIME_WAIT) fails the start
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time


def main(argv: list[str]) -> int:
    host, port, threads, cache = "127.0.0.1", 50052, 1, False
    args = iter(argv)
    for arg in args:
        if arg in ("-H", "--host"):
            host = next(args)
        elif arg in ("-p", "--port"):
            port = int(next(args))
        elif arg in ("-t", "--threads"):
            threads = int(next(args))
        elif arg in ("-d", "--device"):
            next(args)
        elif arg in ("-c", "--cache"):
            cache = True
        else:
            print(f"error: unknown argument: {arg}", file=sys.stderr)
            return 1
    if os.environ.get("FAKE_RPC_FAIL"):
        print(os.environ["FAKE_RPC_FAIL"], file=sys.stderr)
        return 1
    time.sleep(float(os.environ.get("FAKE_RPC_DELAY_SECS") or 0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if os.environ.get("FAKE_RPC_STRICT_BIND") != "1":
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((host, port))
    except OSError:
        print("Failed to create server socket", file=sys.stderr)
        return 1
    server.listen(1)
    print("Starting RPC server v3.0.0 (fake)")
    print(f"  endpoint       : {host}:{port}")
    print(f"  local cache    : {'yes' if cache else 'n/a'}")
    print(f"Devices:\n  CPU: fake CPU ({threads} threads)", flush=True)
    while True:
        client, _ = server.accept()
        print("Accepted client connection", flush=True)
        if os.environ.get("FAKE_RPC_HOLD") == "1":
            while True:
                time.sleep(3600)
        while client.recv(4096):
            pass
        client.close()
        print("Client connection closed", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
