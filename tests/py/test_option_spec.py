"""The option spec read from each entrypoint's `# Usage:` header (option_spec.py), the
completion generated from it (completion.py) and the doc test's option-table check
(tests/helpers/doc_blocks.py check-options), which uses the same parser."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from gpt_oss_suite.completion import bash_completion, zsh_completion
from gpt_oss_suite.option_spec import SUITE_ROOT, entrypoints, parse_help, read_spec

SCRIPTS = SUITE_ROOT / "scripts"


def load_doc_blocks():
    spec = importlib.util.spec_from_file_location(
        "doc_blocks", SUITE_ROOT / "tests" / "helpers" / "doc_blocks.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_blocks"] = module
    spec.loader.exec_module(module)
    return module


def test_entrypoints_are_the_scripts_with_a_usage_header():
    names = [p.name for p in entrypoints()]
    for expected in ("gpt-oss-fast.sh", "gpt-oss-query.sh", "local-infer.sh"):
        assert expected in names
    assert all((SCRIPTS / n).read_text().splitlines()[1].startswith("# Usage:") for n in names)


@pytest.mark.parametrize("script", entrypoints(), ids=lambda p: p.name)
def test_the_header_and_the_help_output_give_the_same_spec(script):
    help_text = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert parse_help(help_text, script.name) == read_spec(script)


def test_gpt_oss_fast_spec():
    spec = read_spec(SCRIPTS / "gpt-oss-fast.sh")
    assert spec.name == "gpt-oss-fast.sh"
    assert spec.subcommands[:2] == ["start", "stop"]
    model = spec.option("--model")
    assert (model.flags, model.metavar, model.env) == (
        ["-m", "--model"],
        "FILE",
        "GPT_OSS_GGUF_MODEL_PATH",
    )
    assert model.value_kind == "gguf"
    assert spec.option("--model-dir").default == "~/models/gpt-oss-20b/gguf"
    assert spec.option("--port").default == "8000"
    assert spec.option("-np").flags == ["-np", "--parallel"]
    check = spec.option("--check-model")
    assert (check.metavar, check.value_optional, check.value_kind) == ("FILE", True, "gguf")
    service = spec.option("--print-service")
    assert service.choices == ["systemd", "launchd"] and service.value_optional
    assert spec.option("--restart").value_kind is None
    assert spec.option("--dry-run").flags == ["--print-cmd", "--dry-run"]


def test_local_infer_spec_value_sets_defaults_and_continuations():
    spec = read_spec(SCRIPTS / "local-infer.sh")
    backend = spec.option("--backend")
    assert (backend.choices, backend.default) == (["gpt-oss", "openai"], "gpt-oss")
    reasoning = spec.option("--reasoning")
    assert (reasoning.choices, reasoning.default) == (["low", "medium", "high"], "medium")
    timeout = spec.option("--timeout")
    assert timeout.default == "300"
    assert timeout.description.endswith("(default 300; 0 = no limit, no waiting)")
    assert spec.option("--workspace").value_kind == "dir"
    assert spec.option("--max-tokens").default == "256"  # a trailing "(256)"
    assert spec.subcommands == []


def test_a_made_up_header_reads_as_documented():
    text = """Usage: tool.sh start|stop [options]
       tool.sh [status]
Summary: a tool.

Options:
  -x, --mode MODE       fast, slow (the old way) or off (default: fast)
      --file [FILE]     a GGUF file to look at
      --long N          a description that goes on
                        over two lines (default 7)
      --flag            a switch

Not options:
  --ignored             not an option
"""
    spec = parse_help(text)
    assert spec.name == "tool.sh" and spec.summary == "a tool."
    assert spec.subcommands == ["start", "stop", "status"]
    assert [o.spec for o in spec.options] == [
        "-x, --mode MODE",
        "--file [FILE]",
        "--long N",
        "--flag",
    ]
    mode = spec.option("--mode")
    assert (mode.choices, mode.default) == (["fast", "slow", "off"], "fast")
    assert spec.option("--file").value_optional and spec.option("--file").value_kind == "gguf"
    assert (
        spec.option("--long").description == "a description that goes on over two lines (default 7)"
    )
    assert spec.option("--long").default == "7"


def test_bash_completion_is_generated_for_the_spec():
    text = bash_completion(read_spec(SCRIPTS / "local-infer.sh"))
    assert "complete -F _local_infer_sh local-infer.sh" in text
    assert "--backend) _gpt_oss_suite_reply < <(compgen -W 'gpt-oss openai'" in text
    assert "--workspace) _gpt_oss_suite_paths dir" in text


def test_zsh_completion_quotes_and_escapes_descriptions():
    spec = parse_help(
        "Usage: t.sh [options]\n\nOptions:\n      --it N    it's [odd]: really (default 1)\n"
    )
    text = zsh_completion([spec])
    assert text.startswith("#compdef t.sh\n")
    assert "'--it[it'\\''s \\[odd\\]]:N: '" in text


# --- doc_blocks.py check-options, on the same parser ---

REFERENCE = """## tool.sh

| option | environment | default | meaning |
|---|---|---|---|
| `-x, --mode MODE` | `GPT_OSS_MODE` | `fast` | the way it runs: `fast`, `slow` or `off` |
| `--long N` | | `7` | a long description |
| `--url URL` | | see [conventions](#conventions) | server |
"""
HELP = """Usage: tool.sh [options]

Options:
  -x, --mode MODE       fast, slow or off  GPT_OSS_MODE  (fast)
      --long N          a description that goes on (default 7)
      --url URL         server (default: $GPT_OSS_URL, else http://127.0.0.1:8000)
"""


def check(tmp_path, help_text, reference, capsys):
    (tmp_path / "help.txt").write_text(help_text)
    (tmp_path / "reference.md").write_text(reference)
    doc_blocks = load_doc_blocks()
    status = doc_blocks.cmd_check_options(
        "tool.sh", str(tmp_path / "help.txt"), str(tmp_path / "reference.md")
    )
    return status, capsys.readouterr().out


def test_check_options_accepts_an_agreeing_table(tmp_path, capsys):
    assert check(tmp_path, HELP, REFERENCE, capsys) == (0, "")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("`fast` | the way", "`slow` | the way", "default 'slow', --help says 'fast'"),
        (
            "`GPT_OSS_MODE`",
            "`GPT_OSS_STYLE`",
            "environment 'GPT_OSS_STYLE', --help says 'GPT_OSS_MODE'",
        ),
        ("`slow` or `off`", "`slow`", "does not name the value 'off' --help lists"),
        ("a long description", "an unrelated sentence", "its meaning shares no word with"),
        ("| `--long N` |", "| `--longer N` |", "--long: in tool.sh --help, missing from"),
    ],
)
def test_check_options_finds_what_the_reference_says_differently(
    tmp_path, capsys, old, new, problem
):
    status, out = check(tmp_path, HELP, REFERENCE.replace(old, new), capsys)
    assert status == 1
    assert problem in out


def test_doc_blocks_has_no_header_parser_of_its_own():
    source = (SUITE_ROOT / "tests" / "helpers" / "doc_blocks.py").read_text()
    assert "from gpt_oss_suite.option_spec import" in source
    assert "HELP_OPTION" not in source and "def help_options" not in source
