"""rpc_state: which RPC workers of the suite's server no longer answer (the crash message).

The Bash twin (scripts/lib/rpc.sh) is compared word for word in tests/gpt-oss-rpc-worker.bats.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpt_oss_suite import rpc_state
from gpt_oss_suite.http_client import dropped_message

URL = "http://127.0.0.1:8000"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = tmp_path / "gpt-oss" / "server-8000"  # one state per port
    path.mkdir(parents=True)
    (path / "server.url").write_text(URL + "\n")
    return path


@pytest.fixture
def listening() -> Iterator[str]:
    """A loopback address that accepts connections (a worker that answers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def refused() -> str:
    """A loopback address nothing listens on (a worker that is gone)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_no_rpc_workers_recorded_means_no_hint(state: Path) -> None:
    assert rpc_state.crash_hint(URL) is None
    assert dropped_message(URL).endswith("without a complete reply (did it crash?)")


def test_the_workers_of_another_url_are_not_used(state: Path, refused: str) -> None:
    (state / "server.rpc").write_text(refused + "\n")
    assert rpc_state.recorded_workers(URL + "/") == [refused]
    assert rpc_state.recorded_workers("http://127.0.0.1:8001") == []


def test_a_worker_that_no_longer_answers_is_named(
    state: Path, listening: str, refused: str
) -> None:
    (state / "server.rpc").write_text(f"{listening}\n{refused}\n")
    assert rpc_state.crash_hint(URL) == (
        f": it uses the llama.cpp RPC workers {listening}, {refused}, and {refused} no longer"
        " answers (connection refused); restart that worker, then the server"
        " (gpt-oss-fast.sh --restart)"
    )
    assert dropped_message(URL) == (
        f"the server at {URL} closed the connection without a complete reply"
        + rpc_state.crash_hint(URL)
    )


def test_workers_that_all_answer_leave_the_question_open(state: Path, listening: str) -> None:
    (state / "server.rpc").write_text(listening + "\n")
    assert rpc_state.crash_hint(URL) == (
        f" (did it crash? it uses the llama.cpp RPC workers {listening}, which all still"
        f" answer; its log: {state}/server.log)"
    )


def test_the_probe_says_why_a_worker_does_not_answer(refused: str) -> None:
    assert rpc_state.probe(refused) == "connection refused"
    assert rpc_state.probe("no-such-host.invalid:50052", 0.5)
