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
    for word in ("harmony", "context", "stats"):
        assert word in result.output


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


def test_stats_summarize_json_and_text():
    result = run(["stats", "summarize", "--json"], "1\n2\n3\n4\n")
    assert result.exit_code == 0
    assert json.loads(result.output)["p50"] == 2.0
    text = run(["stats", "summarize", "--histogram"], "1\n2\n3\n4\n").output
    assert text.splitlines()[0].startswith("n=4 min=1.00 mean=2.50")
    assert len(text.splitlines()) == 11


def test_stats_summarize_csv_column():
    result = run(["stats", "summarize", "--column", "ms", "--json"], "run,ms\na,5\nb,7\n")
    assert json.loads(result.output)["max"] == 7.0


def test_stats_summarize_empty_exits_2():
    result = run(["stats", "summarize"], "")
    assert result.exit_code == 2
    assert "no samples" in result.output


def test_stats_compare(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(run(["stats", "summarize", "--json"], "10\n10\n").output)
    new.write_text(run(["stats", "summarize", "--json"], "15\n15\n").output)
    result = run(["stats", "compare", str(old), str(new), "--json"])
    assert json.loads(result.output)["p50"]["pct"] == 50.0
    assert (
        "p50: 10.00 -> 15.00 +5.00 (+50.0%)" in run(["stats", "compare", str(old), str(new)]).output
    )
