"""One rule, one answer in both languages: the exit-code table (one file, read by Bash and
Python, documented in docs/reference.md), the default URL and what a failed request
exits with (Bash keeps hot-path copies of both: each side gets the same inputs here)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from gpt_oss_suite import errors
from gpt_oss_suite.context import default_url
from gpt_oss_suite.errors import SuiteError
from gpt_oss_suite.http_client import HttpClient, Reply
from test_http_client import RawServer, reply

SUITE_ROOT = Path(__file__).resolve().parents[2]
COMMON = SUITE_ROOT / "scripts" / "lib" / "common.sh"
TABLE = errors.read_table()


def bash(script: str, env: dict[str, str] | None = None, *args: str) -> subprocess.CompletedProcess:
    """`script` in a Bash that sourced common.sh, with only `env` (and PATH, HOME) set;
    `args` are its $1, $2..."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        ["bash", "-c", f'source "{COMMON}"; {script}', "test", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


# --------------------------------------------------------------------- the exit codes


def test_the_exit_code_table_is_the_same_in_bash_python_and_docs() -> None:
    assert TABLE["EXIT_TIMEOUT"] == 10 and TABLE["FAIL_TIMEOUT"] == 10
    shown = bash('for v in "${!EXIT_@}" "${!FAIL_@}"; do echo "$v=${!v}"; done')
    assert dict(line.split("=") for line in shown.stdout.split()) == {
        name: str(code) for name, code in TABLE.items()
    }
    assert {name: getattr(errors, name) for name in TABLE} == TABLE
    docs = (SUITE_ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    rows = {
        name: int(code) for code, name in re.findall(r"^\| (\d+) \| `(EXIT_\w+)` \|", docs, re.M)
    }
    assert rows == {name: code for name, code in TABLE.items() if name.startswith("EXIT_")}


def test_the_exit_codes_are_read_only_in_bash() -> None:
    result = bash("EXIT_TIMEOUT=3")
    assert result.returncode != 0 and "readonly" in result.stderr


# --------------------------------------------------------------------- the default URL

URL_CASES = [
    ({}, "http://127.0.0.1:8000"),
    ({"GPT_OSS_HOST": ""}, "http://127.0.0.1:8000"),
    ({"GPT_OSS_HOST": "", "GPT_OSS_PORT": ""}, "http://127.0.0.1:8000"),
    ({"GPT_OSS_URL": ""}, "http://127.0.0.1:8000"),
    ({"GPT_OSS_HOST": "10.0.0.2"}, "http://10.0.0.2:8000"),
    ({"GPT_OSS_HOST": "[::1]"}, 2),  # the suite is IPv4 only: refused at once
    ({"GPT_OSS_HOST": "::1"}, 2),
    ({"GPT_OSS_HOST": "::"}, 2),
    ({"GPT_OSS_HOST": "fe80::1", "GPT_OSS_URL": ""}, 2),
    ({"GPT_OSS_PORT": "9000"}, "http://127.0.0.1:9000"),
    ({"GPT_OSS_PORT": "0080"}, "http://127.0.0.1:0080"),
    ({"GPT_OSS_HOST": "", "GPT_OSS_PORT": "9001"}, "http://127.0.0.1:9001"),
    ({"GPT_OSS_HOST": "box", "GPT_OSS_PORT": "1"}, "http://box:1"),
    ({"GPT_OSS_URL": "http://u:2/"}, "http://u:2"),
    ({"GPT_OSS_URL": "http://u:2//"}, "http://u:2/"),
    ({"GPT_OSS_URL": "https://u/base"}, "https://u/base"),
    ({"GPT_OSS_URL": "", "GPT_OSS_HOST": "h"}, "http://h:8000"),
    ({"GPT_OSS_URL": "http://u:2", "GPT_OSS_PORT": "abc"}, "http://u:2"),
    ({"GPT_OSS_PORT": "abc"}, 2),
    ({"GPT_OSS_PORT": "0"}, 2),
    ({"GPT_OSS_PORT": "65536"}, 2),
    ({"GPT_OSS_PORT": "-1"}, 2),
]


def python_default_url(env: dict[str, str]) -> str | int:
    try:
        return default_url(env)
    except SuiteError as err:
        return err.exit_code


@pytest.mark.parametrize(("env", "expected"), URL_CASES, ids=[str(c[0]) for c in URL_CASES])
def test_the_default_url_is_the_same_rule_in_bash_and_python(
    env: dict[str, str], expected: str | int
) -> None:
    result = bash("default_url", env)
    from_bash = result.stdout.rstrip("\n") if result.returncode == 0 else result.returncode
    assert (from_bash, python_default_url(env)) == (expected, expected)


IPV6_URLS = ["http://[::1]:8000", "http://[::1]", "https://[fe80::1%eth0]:9/x", "http://::1:8000"]
IPV4_URLS = ["http://127.0.0.1:8000", "http://box:1/base", "http://h:1/a:b:c"]


@pytest.mark.parametrize("url", IPV6_URLS + IPV4_URLS)
def test_an_ipv6_server_url_is_refused_alike_in_bash_and_python(url: str) -> None:
    from_bash = bash('require_http_url "$1" && echo accepted', None, url)
    try:
        HttpClient(url)
        from_python = (0, "")
    except SuiteError as err:
        from_python = (err.exit_code, f"test: {err} (see test --help)\n")
    if url in IPV6_URLS:
        assert from_python == (2, from_bash.stderr)
        assert from_bash.returncode == 2 and "IPv6" in from_bash.stderr
    else:
        assert from_python == (0, "") and from_bash.stdout == "accepted\n"


def test_an_ipv6_gpt_oss_host_gets_the_same_words_in_bash_and_python() -> None:
    env = {"GPT_OSS_HOST": "::1"}
    from_bash = bash("default_url", env).stderr
    with pytest.raises(SuiteError) as err:
        default_url(env)
    assert from_bash == f"test: {err.value} (see test --help)\n"
    assert "IPv4 only" in from_bash


def test_an_empty_gpt_oss_host_means_the_default_host_in_gpt_oss_py() -> None:
    props = b'{"default_generation_settings":{"n_ctx":64}}'
    server = RawServer(lambda conn: conn.sendall(reply(200, props)))
    port = server.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [str(SUITE_ROOT / ".venv" / "bin" / "gpt-oss-py"), "context", "check", "--max-tokens", "1"],
        input="hi",
        env={**os.environ, "GPT_OSS_HOST": "", "GPT_OSS_PORT": port, "GPT_OSS_URL": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert server.requests and server.requests[0].startswith(b"GET /props ")
    assert (result.returncode, result.stderr) != (2, "") and "cannot use URL" not in result.stderr


# --------------------------------------------------------------------- failed requests

HTTP_CASES = [
    (503, '{"error":{"message":"Loading model","type":"unavailable_error","code":503}}', "LOADING"),
    (503, "", "LOADING"),
    (
        400,
        '{"error":{"code":400,"message":"request (601 tokens) exceeds the available context '
        'size (256 tokens), try increasing it","type":"exceed_context_size_error",'
        '"n_prompt_tokens":601,"n_ctx":256}}',
        "CONTEXT",
    ),
    (
        400,
        '{"error": {"message": "This model\'s maximum context length is 512 tokens", '
        '"type": "invalid_request_error", "code": "context_length_exceeded"}}',
        "CONTEXT",
    ),
    (400, '{"error":{"message":"the maximum context length is 8 tokens"}}', "CONTEXT"),
    (400, '{"error":{"code":400,"message":"bad","type":"invalid_request_error"}}', "HTTP"),
    (
        500,
        '{"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}',
        "CONTEXT",
    ),
    (500, '{"error":{"code":500,"message":"boom","type":"server_error"}}', "HTTP"),
    (
        401,
        '{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}',
        "HTTP",
    ),
    (404, '{"detail":"Not Found"}', "HTTP"),
    (502, "Bad gateway", "HTTP"),
]


@pytest.mark.parametrize(("status", "body", "kind"), HTTP_CASES)
def test_an_http_error_exits_the_same_in_bash_and_python(status: int, body: str, kind: str) -> None:
    url = "http://127.0.0.1:9"
    result = bash(f"use_libs request_errors; reply=$1; die_on_http_error {status} {url}", {}, body)
    python = HttpClient(url).error_for(Reply(status, {}, body.encode())).exit_code
    assert (result.returncode, python) == (TABLE[f"FAIL_{kind}"],) * 2, result.stderr


def full_backlog_listener() -> tuple[socket.socket, socket.socket]:
    """A port whose accept queue is full: the kernel drops new SYNs, so connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = socket.create_connection(listener.getsockname(), timeout=2)
    return listener, held


def stalled(conn: socket.socket) -> None:
    time.sleep(3)


def dropped(conn: socket.socket) -> None:
    conn.close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_failed_request_exits_the_same_in_bash_and_python() -> None:
    listener, held = full_backlog_listener()
    urls = {
        "UNREACHABLE": closed_port(),
        "TIMEOUT": f"http://127.0.0.1:{listener.getsockname()[1]}",  # connecting hangs
        "TIMEOUT ": RawServer(stalled).url,  # connected, no reply
        "DROPPED": RawServer(dropped).url,
        "LOADING": RawServer(lambda conn: conn.sendall(reply(503, b""))).url,
    }
    query = str(SUITE_ROOT / "scripts" / "gpt-oss-query.sh")
    runs = {
        kind: subprocess.Popen(
            [query, "--url", url, "--timeout", "1", "hi"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kind, url in urls.items()
    }
    python = {}
    threads = []

    def ask(kind: str, url: str) -> None:
        try:
            HttpClient(url, timeout=1).json("POST", "/completion", {"prompt": "hi"})
        except SuiteError as err:
            python[kind] = err.exit_code

    for kind, url in urls.items():
        threads.append(threading.Thread(target=ask, args=(kind, url)))
        threads[-1].start()
    for thread in threads:
        thread.join(10)
    from_bash = {kind: run.wait(30) for kind, run in runs.items()}
    held.close()
    listener.close()
    expected = {kind: TABLE[f"FAIL_{kind.strip()}"] for kind in urls}
    assert (from_bash, python) == (expected, expected)


def test_a_timeout_exits_10_on_every_path() -> None:
    """Connecting that hangs (a server whose accept queue is full) ends every client with
    exit 10 at its limit (--timeout; status and bench give /health 5 s), never 3."""
    listener, held = full_backlog_listener()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    scripts = SUITE_ROOT / "scripts"
    commands = [
        [scripts / "gpt-oss-query.sh", "--timeout", "1", "hi"],
        [scripts / "local-infer.sh", "--raw", "--timeout", "1", "hi"],
        [scripts / "local-infer.sh", "--timeout", "1", "hi"],
        [scripts / "local-infer.sh", "--backend", "openai", "--timeout", "1", "hi"],
        [scripts / "gpt-oss-status.sh", "--timeout", "1"],
        [scripts / "gpt-oss-bench.sh", "--timeout", "1", "1"],
    ]
    runs = [
        subprocess.Popen(
            [str(command[0]), "--url", url, *command[1:]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = [(run.wait(30), run.stderr.read()) for run in runs]
    held.close()
    listener.close()
    for command, (status, stderr) in zip(commands, results):
        assert status == 10, f"{command[0].name} {command[1:]}: exit {status}: {stderr}"
        assert stderr.count("\n") == 1, stderr
