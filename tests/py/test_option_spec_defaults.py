"""The defaults each `# Usage:` header writes (and docs/reference.md's generated tables
show) are the ones the scripts use: each script is run with no settings and what it
does (the command line it would start, the request it sends, its --json) is compared
with the spec read from its header."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpt_oss_suite.option_spec import SUITE_ROOT, read_spec

SCRIPTS = SUITE_ROOT / "scripts"
STUB = SUITE_ROOT / "tests" / "helpers" / "stub_llama_server.py"


def default(script: str, flag: str) -> str:
    return read_spec(SCRIPTS / script).option(flag).default


def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """No GPT_OSS_* settings, a HOME of its own, the stub llama-server first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPT_OSS_", "STUB_", "LLAMA_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        STUB_DIR=str(tmp_path / "stub"),
        PATH=f"{SUITE_ROOT / 'tests' / 'helpers' / 'bin'}:{env['PATH']}",
    )
    return env


@pytest.fixture
def stub_url(clean_env: dict[str, str]) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["python3", str(STUB), "--port", str(port)],
        env=clean_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        clean_env["GPT_OSS_URL"] = url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def completion_bodies(env: dict[str, str]) -> list[dict]:
    log = Path(env["STUB_DIR"], "requests.jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return [json.loads(r["body"]) for r in rows if r["path"] == "/completion"]


def test_gpt_oss_fast_starts_llama_server_with_the_defaults_its_header_writes(tmp_path, clean_env):
    model = tmp_path / "model-Q4_0.gguf"
    model.write_bytes(b"")
    argv = run("gpt-oss-fast.sh", "--dry-run", "--model", str(model), env=clean_env).stdout.split()
    value = {
        flag: argv[argv.index(flag) + 1]
        for flag in ("--host", "--port", "-c", "-b", "-ub", "-np", "-ctk")
    }
    spec = read_spec(SCRIPTS / "gpt-oss-fast.sh")
    assert value["--host"] == spec.option("--host").default == "127.0.0.1"
    assert value["--port"] == spec.option("--port").default == "8000"
    assert value["-np"] == spec.option("--parallel").default
    assert value["-b"] == spec.option("--batch").default
    assert value["-ub"] == spec.option("--ubatch").default
    assert value["-ctk"] == spec.option("--kv-type").default
    # "25600 unified, else 12288 per slot": the stub's 2026 dialect honours -kvu
    assert spec.option("--ctx").default.startswith(value["-c"] + " unified")
    assert "-kvu" in argv


def test_gpt_oss_fast_model_dir_default_is_the_one_it_searches(tmp_path, clean_env):
    folder = Path(default("gpt-oss-fast.sh", "--model-dir").replace("~", str(tmp_path), 1))
    folder.mkdir(parents=True)
    (folder / "gpt-oss-20b-Q4_0.gguf").write_bytes(b"")
    argv = run("gpt-oss-fast.sh", "--dry-run", env=clean_env).stdout.split()
    assert argv[argv.index("-m") + 1] == str(folder / "gpt-oss-20b-Q4_0.gguf")


def test_the_rpc_worker_binds_the_default_host_and_port(clean_env):
    clean_env["GPT_OSS_RPC_WORKER_BIN"] = "/bin/true"
    argv = run("gpt-oss-rpc-worker.sh", "--dry-run", env=clean_env).stdout.split()
    assert argv[1:] == [
        "-H",
        default("gpt-oss-rpc-worker.sh", "--host"),
        "-p",
        default("gpt-oss-rpc-worker.sh", "--port"),
    ]


def test_the_query_sends_the_default_max_tokens_and_temperature(clean_env, stub_url):
    run("gpt-oss-query.sh", "1+1=", env=clean_env)
    (body,) = completion_bodies(clean_env)
    assert str(body["n_predict"]) == default("gpt-oss-query.sh", "--max-tokens") == "8"
    assert str(body["temperature"]) == default("gpt-oss-query.sh", "--temperature") == "0"


def test_local_infer_raw_reserves_the_default_max_tokens(clean_env, stub_url):
    run("local-infer.sh", "--raw", "1+1=", env=clean_env)
    (body,) = completion_bodies(clean_env)
    assert str(body["n_predict"]) == default("local-infer.sh", "--max-tokens") == "256"


def test_the_bench_json_reports_the_defaults_its_header_writes(clean_env, stub_url):
    summary = json.loads(run("gpt-oss-bench.sh", "1", "--json", env=clean_env).stdout)
    params = summary["params"]
    assert str(params["max_tokens"]) == default("gpt-oss-bench.sh", "--max-tokens")
    assert str(params["concurrency"]) == default("gpt-oss-bench.sh", "--concurrency")
    assert str(params["warmup"]) == default("gpt-oss-bench.sh", "--warmup")
    prompt = default("gpt-oss-bench.sh", "--prompt").strip('"')
    assert completion_bodies(clean_env)[0]["prompt"] == prompt


def test_the_status_probe_decodes_the_default_max_tokens(clean_env, stub_url):
    status = json.loads(run("gpt-oss-status.sh", "--json", env=clean_env).stdout)
    assert str(status["probe"]["max_tokens"]) == default("gpt-oss-status.sh", "--max-tokens")
