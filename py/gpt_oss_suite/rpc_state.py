"""The llama.cpp RPC workers of the suite's server, for the message a client prints when
that server dropped a request: a llama-server started with RPC workers aborts when one of
them dies, and the client only sees the connection close.

The Python twin of `rpc_crash_hint` in scripts/lib/rpc.sh: the same state files
(`server.url`, `server.rpc` in `${XDG_STATE_HOME:-~/.local/state}/gpt-oss/server-PORT/`,
written by gpt-oss-fast.sh), the same probe (a TCP connection, nothing sent) and the same words.
Standard library only; imported only on that error path.
"""

from __future__ import annotations

import os
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

PROBE_SECS = 1


def server_state_dir(url: str) -> Path:
    """The state of the suite's server at `url`: one per port (lifecycle.sh `server_state_dir`
    in common.sh `state_dir`)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local/state")
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return Path(base) / "gpt-oss" / f"server-{port}"


def recorded_workers(url: str) -> list[str]:
    """The workers the suite's server at `url` was started with; [] when none (or not ours)."""
    state = server_state_dir(url)
    try:
        recorded = (state / "server.url").read_text().strip()
        lines = (state / "server.rpc").read_text().splitlines()
    except OSError:
        return []
    if recorded.rstrip("/") != url.rstrip("/"):
        return []
    return [line.strip() for line in lines if line.strip()]


def held(address: str) -> bool:
    """This host holds an established connection to `host:port` (ss(8); False without it).
    A worker serves one client at a time, so a new connection would only wait."""
    command = ["ss", "-Htn", "state", "established", "dst", address]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(run.stdout.strip())


def probe(address: str, secs: float = PROBE_SECS) -> str | None:
    """None when `host:port` is held by this host or accepts a TCP connection within
    `secs`, else why not."""
    if held(address):
        return None
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=secs):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except (socket.timeout, TimeoutError):  # the same class from Python 3.10 on
        return f"no answer within {secs:g} s: busy with another client, or unreachable"
    except (OSError, ValueError) as err:
        return getattr(err, "strerror", None) or str(err) or "cannot connect"


def crash_hint(url: str) -> str | None:
    """What to add to "closed the connection without a complete reply" when the suite's
    server at `url` was started with RPC workers; None otherwise."""
    workers = recorded_workers(url)
    if not workers:
        return None
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        reasons = list(pool.map(probe, workers))
    everyone = ", ".join(workers)
    gone = [(w, why) for w, why in zip(workers, reasons) if why]
    if not gone:
        return (
            f" (did it crash? it uses the llama.cpp RPC workers {everyone}, which all still"
            f" answer; its log: {server_state_dir(url)}/server.log)"
        )
    if len(gone) == 1:
        ((worker, why),) = gone
        return (
            f": it uses the llama.cpp RPC workers {everyone}, and {worker} no longer answers"
            f" ({why}); restart that worker, then the server (gpt-oss-fast.sh --restart)"
        )
    listed = ", ".join(f"{w} ({why})" for w, why in gone)
    return (
        f": it uses the llama.cpp RPC workers {everyone}, and these no longer answer: {listed};"
        " restart them, then the server (gpt-oss-fast.sh --restart)"
    )
