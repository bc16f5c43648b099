"""The gpt-oss-py click layer, through CliRunner."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner
from gpt_oss_suite.cli import cli

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "harmony"


def run(args, stdin=None):
    return CliRunner().invoke(cli, args, input=stdin)


def test_help_lists_the_commands():
    result = run(["--help"])
    assert result.exit_code == 0
    for word in ("harmony", "context", "bench", "chat"):
        assert word in result.output
    assert "stats" not in result.output  # one statistics command: bench summarize


def test_render_prints_the_golden_prompt_without_newline():
    result = run(["harmony", "render", str(GOLDEN_DIR / "one_tool.json")])
    assert result.exit_code == 0
    assert result.output == (GOLDEN_DIR / "one_tool.txt").read_text(encoding="utf-8")


def test_render_reads_stdin_and_takes_date_and_reasoning():
    stdin = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    result = run(["harmony", "render", "--date", "2030-05-06", "--reasoning", "high"], stdin)
    assert result.exit_code == 0
    assert "Current date: 2030-05-06\n\nReasoning: high\n" in result.output
    assert result.output.endswith("<|start|>assistant")


def test_render_bad_json_exits_2_with_one_line():
    result = run(["harmony", "render", "-"], "{not json")
    assert result.exit_code == 2
    assert result.output.startswith("gpt-oss-py: stdin: not valid JSON")


def test_render_invalid_tool_names_it_and_exits_2():
    bad = {"type": "function", "function": {"name": "weather", "parameters": "city"}}
    stdin = json.dumps({"messages": [{"role": "user", "content": "x"}], "tools": [bad]})
    result = run(["harmony", "render"], stdin)
    assert result.exit_code == 2
    assert "tool 'weather'" in result.output


def test_render_bad_reasoning_is_a_usage_error():
    assert run(["harmony", "render", "--reasoning", "max"], "{}").exit_code == 2


def test_render_missing_file_exits_2():
    result = run(["harmony", "render", "/nonexistent/conv.json"])
    assert result.exit_code == 2
    assert "cannot read /nonexistent/conv.json" in result.output


def test_parse_prints_json():
    raw = "<|channel|>analysis<|message|>hm<|end|><|start|>assistant<|channel|>final<|message|>4"
    result = run(["harmony", "parse", "--stop-type", "eos"], raw)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert (data["final"], data["analysis"], data["complete"]) == ("4", "hm", True)


def test_parse_field_prints_raw_text():
    raw = "<|channel|>final<|message|>line 1\nline 2<|return|>"
    assert run(["harmony", "parse", "--field", "final"], raw).output == "line 1\nline 2"
    assert run(["harmony", "parse", "--field", "complete"], raw).output == "true\n"


def test_parse_openai_reply():
    reply = {"choices": [{"finish_reason": "stop", "message": {"content": "Hi"}}]}
    result = run(["harmony", "parse", "--openai"], json.dumps(reply))
    assert json.loads(result.output)["final"] == "Hi"
    assert run(["harmony", "parse", "--openai"], "not json").exit_code == 2


def test_context_check_unreachable_exits_3():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = run(["context", "check", "--url", url, "--max-tokens", "8"], "hi")
    assert result.exit_code == 3
    assert (
        result.output
        == f"gpt-oss-py: server not reachable at {url} (is gpt-oss-fast.sh running?)\n"
    )


def test_context_check_needs_max_tokens():
    assert run(["context", "check", "--url", "http://127.0.0.1:1"], "hi").exit_code == 2


def test_context_check_exit_5_when_it_does_not_fit(monkeypatch):
    import gpt_oss_suite.context as context

    def fake_check(url, prompt, max_tokens, **_):
        return context.fit_report(250, max_tokens, 256)

    monkeypatch.setattr(context, "check_context", fake_check)
    result = run(["context", "check", "--url", "http://x", "--max-tokens", "16", "--json"], "p")
    assert result.exit_code == 5
    assert json.loads(result.output)["fits"] is False
    result = run(["context", "check", "--url", "http://x", "--max-tokens", "6"], "p")
    assert (result.exit_code, result.output) == (
        0,
        "fits: 250 prompt + 6 reserved = 256 of 256 per-slot tokens\n",
    )


def test_bench_summarize_samples_prints_the_summary_json(tmp_path):
    samples = tmp_path / "ms"
    samples.write_text("1\n2\n# a note\n\n3\n4\n")
    result = run(["bench", "summarize", "--samples", str(samples)])
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "count": 4,
        "min": 1.0,
        "mean": 2.5,
        "stdev": json.loads(result.output)["stdev"],
        "p50": 2.0,
        "p90": 4.0,
        "p95": 4.0,
        "p99": 4.0,
        "max": 4.0,
        "spikes": 0,
    }


def test_bench_summarize_needs_rows_or_samples_and_numbers(tmp_path):
    assert run(["bench", "summarize"]).exit_code == 2
    empty = tmp_path / "empty"
    empty.write_text("")
    result = run(["bench", "summarize", "--samples", str(empty)])
    assert result.exit_code == 2 and "no samples" in result.output
