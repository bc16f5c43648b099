"""Shared pytest fixtures: the REAL llama-server and the test models.

Nothing here skips. A missing binary or model is provisioned by running
scripts/provision/llama-server.sh and scripts/provision/models.sh (both cache what they
make, so only the first run is slow). Tests that use these fixtures are marked
``real_server`` automatically, so ``pytest -m "not real_server"`` runs the quick rest.

Fixtures:
    real_server_binary   Path of the real llama-server (session)
    tiny_gpt_oss_model   Path of the tiny gpt-oss GGUF (session)
    smollm2_model        Path of SmolLM2-135M-Instruct.Q4_1.gguf (session)
    real_server          factory: ``real_server(model_path, "-c", "384", "-np", "4")``
                         starts a server, waits for /health, returns its base URL; every
                         server it started is stopped when the test ends
    gpt_oss_server_url   base URL of one tiny gpt-oss server (``-c 4096 -np 1``) shared by
                         the whole session, e.g. for /apply-template golden checks
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Callable

import pytest

SUITE_ROOT = Path(__file__).resolve().parents[2]
PROVISION = SUITE_ROOT / "scripts" / "provision"
START_TIMEOUT_S = float(os.environ.get("REAL_SERVER_TIMEOUT", "120"))
REAL_SERVER_FIXTURES = {
    "real_server_binary",
    "tiny_gpt_oss_model",
    "smollm2_model",
    "real_server",
    "gpt_oss_server_url",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_server)


def provision(script: str, *args: str) -> Path:
    """Run a provision script and return the path it prints (its last stdout line)."""
    proc = subprocess.run(
        [str(PROVISION / script), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.split()
    if proc.returncode != 0 or not lines:
        pytest.fail(f"{script} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return Path(lines[-1])


def free_port() -> int:
    """A loopback port the kernel just handed out, so almost surely free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /health every 50 ms until it answers 200; fail if the server dies or stalls."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"llama-server exited ({proc.returncode}) during start-up:\n{log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet, or 503 while the model loads
        if time.monotonic() > deadline:
            pytest.fail(f"llama-server not healthy after {START_TIMEOUT_S:.0f}s:\n{log_tail(log)}")
        time.sleep(0.05)


@contextmanager
def running_llama_server(
    binary: Path, model: Path, args: tuple[str, ...], log_dir: Path
) -> Iterator[str]:
    """Start llama-server on a free loopback port; yield its base URL; always stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / f"llama-server-{model.stem}-{port}.log"
    # A developer's LLAMA_ARG_* / LLAMA_API_KEY must not change what the tests see.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLAMA_ARG_") and k != "LLAMA_API_KEY"
    }
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), *args]
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_until_healthy(url, proc, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def real_server_binary() -> Path:
    return provision("llama-server.sh")


@pytest.fixture(scope="session")
def tiny_gpt_oss_model() -> Path:
    return provision("models.sh", "tiny-gpt-oss")


@pytest.fixture(scope="session")
def smollm2_model() -> Path:
    return provision("models.sh", "smollm2")


@pytest.fixture
def real_server(
    real_server_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., str]]:
    """Factory: ``real_server(model_path, *llama_server_args) -> base URL``."""
    log_dir = tmp_path_factory.mktemp("llama-server")
    with ExitStack() as servers:

        def start(model: Path | str, *args: str) -> str:
            return servers.enter_context(
                running_llama_server(real_server_binary, Path(model), args, log_dir)
            )

        yield start


@pytest.fixture(scope="session")
def gpt_oss_server_url(
    real_server_binary: Path, tiny_gpt_oss_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log_dir = tmp_path_factory.mktemp("gpt-oss-server")
    args = ("-c", "4096", "-np", "1")
    with running_llama_server(real_server_binary, tiny_gpt_oss_model, args, log_dir) as url:
        yield url
