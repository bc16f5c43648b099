"""The read-only workspace tools: confinement, caps, binary refusal, error results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gpt_oss_suite import workspace_tools as wt
from gpt_oss_suite.workspace_tools import ToolError, Workspace, run_tool


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    (root / "src" / "deep" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "inside.txt").write_text("hidden\n")
    (root / "README.md").write_text("line one\nline two\nneedle here\n")
    (root / "src" / "app.py").write_text("def f():\n    return 42\n")
    (root / "src" / "deep" / "deeper" / "x.py").write_text("needle = 1\n")
    (root / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (root / "latin1.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "secret.txt").write_text("TOPSECRET\n")
    os.symlink("../secret.txt", root / "out-link")
    os.symlink("README.md", root / "in-link")
    os.symlink("..", root / "up-dir")
    return Workspace(root)


def test_list_files_default_depth_and_dirs(ws: Workspace) -> None:
    out = ws.list_files().splitlines()
    assert "README.md" in out
    assert "src/" in out and "src/app.py" in out and "src/deep/" in out
    assert "src/deep/deeper/" not in out  # depth 2
    assert ".hidden/" in out and ".hidden/inside.txt" not in out  # listed, not entered
    assert not any(line.startswith(".git") for line in out)
    assert "out-link" not in out and "in-link" in out


def test_list_files_glob_and_depth(ws: Workspace) -> None:
    assert ws.list_files("*.py", depth=5).splitlines() == ["src/app.py", "src/deep/deeper/x.py"]
    assert ws.list_files("src/*.py") == "src/app.py"
    assert ws.list_files("*.md", depth="1") == "README.md"
    assert "no files match" in ws.list_files("*.rs")


@pytest.mark.parametrize(
    ("args", "message"),
    [({"glob": "../*"}, "without '..'"), ({"glob": "/etc/*"}, "relative"), ({"depth": 0}, ">=")],
)
def test_list_files_refusals(ws: Workspace, args: dict, message: str) -> None:
    result = run_tool(ws, "list_files", args)
    assert not result.ok
    assert result.for_model().startswith("error: ")
    if message != ">=":
        assert message in result.output


def test_read_file_ranges(ws: Workspace) -> None:
    assert ws.read_file("README.md") == "line one\nline two\nneedle here"
    assert ws.read_file("README.md", 2, 2) == "line two"
    assert ws.read_file("./src/app.py", start_line=2) == "    return 42"
    assert ws.read_file("in-link", 3) == "needle here"  # a symlink inside is fine
    with pytest.raises(ToolError, match="only 3 lines"):
        ws.read_file("README.md", 9)
    with pytest.raises(ToolError, match="before start_line"):
        ws.read_file("README.md", 3, 2)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../secret.txt", "'..'"),
        ("src/../../secret.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/x", "absolute"),
        ("out-link", "outside the workspace"),
        ("up-dir/secret.txt", "outside the workspace"),
        ("blob.bin", "binary"),
        ("latin1.txt", "not UTF-8"),
        ("src", "directory"),
        ("missing.txt", "does not exist"),
    ],
)
def test_read_file_refusals_become_error_results(ws: Workspace, path: str, message: str) -> None:
    result = run_tool(ws, "read_file", {"path": path})
    assert not result.ok
    assert message in result.output
    assert "TOPSECRET" not in result.output


def test_output_is_capped_with_a_marker(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    big = ws.root / "big.txt"
    big.write_text("".join(f"row {i}\n" for i in range(1, 1001)))
    out = ws.read_file("big.txt").splitlines()
    assert len(out) == wt.MAX_LINES + 1
    assert out[-1] == (
        f"[truncated: showing lines 1-{wt.MAX_LINES} of 1000; "
        f"read on with start_line={wt.MAX_LINES + 1}]"
    )
    monkeypatch.setattr(wt, "MAX_BYTES", 50)
    out = ws.read_file("big.txt").splitlines()
    assert sum(len(line) + 1 for line in out[:-1]) <= 50
    assert out[-1].startswith("[truncated:")
    assert ws.grep("row").splitlines()[-1].startswith("[truncated:")
    assert ws.list_files("*").splitlines()[-1].startswith("[truncated:")


def test_grep(ws: Workspace) -> None:
    assert ws.grep("needle").splitlines() == [
        "README.md:3:needle here",
        "src/deep/deeper/x.py:1:needle = 1",
    ]
    assert ws.grep(r"return \d+", "src/app.py") == "src/app.py:2:    return 42"
    assert "no match" in ws.grep("TOPSECRET")  # the outside link is not followed
    assert ws.grep("hidden", ".hidden") == ".hidden/inside.txt:1:hidden"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"pattern": "("}, "regular expression"),
        ({"pattern": ""}, "non-empty"),
        ({"pattern": "x", "path": "/"}, "absolute"),
        ({"pattern": "x", "path": "../"}, "'..'"),
        ({"pattern": "x", "path": "blob.bin"}, "binary"),
    ],
)
def test_grep_refusals(ws: Workspace, args: dict, message: str) -> None:
    result = run_tool(ws, "grep", args)
    assert not result.ok and message in result.output


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("launch", {}, "unknown tool 'launch'; available: list_files, read_file, grep"),
        ("read_file", {"nope": 1}, "bad arguments for read_file"),
        ("read_file", [1, 2], "must be a JSON object"),
        ("read_file", {"path": 3}, "path must be a string"),
        ("read_file", {"path": "README.md", "start_line": "x"}, "whole number"),
    ],
)
def test_run_tool_never_raises(ws: Workspace, name: str, args: object, message: str) -> None:
    result = run_tool(ws, name, args)
    assert not result.ok
    assert message in result.output


def test_functions_prefix_is_accepted(ws: Workspace) -> None:
    result = run_tool(ws, "functions.read_file", {"path": "README.md", "end_line": 1})
    assert result.ok and result.name == "read_file" and result.output == "line one"


def test_no_workspace_means_no_tools() -> None:
    result = run_tool(None, "read_file", {"path": "x"})
    assert not result.ok and "no tools" in result.output


def test_workspace_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        Workspace(tmp_path / "missing")


def test_tool_specs_render_as_harmony() -> None:
    from gpt_oss_suite.harmony import render_prompt

    prompt = render_prompt([{"role": "user", "content": "hi"}], wt.TOOL_SPECS, date="2026-01-01")
    for name in wt.TOOL_NAMES:
        assert f"type {name} = (_: {{" in prompt
