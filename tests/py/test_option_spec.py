"""The option spec read from each entrypoint's `# Usage:` header (option_spec.py), the
completion generated from it (completion.py), the option tables of docs/reference.md
generated from it (markdown_table; tests/helpers/doc_blocks.py tables, `make docs`) and the
doc test's output comparison (doc_blocks.py `output` blocks)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from gpt_oss_suite.completion import bash_completion, zsh_completion
from gpt_oss_suite.option_spec import (
    SUITE_ROOT,
    entrypoints,
    header_text,
    parse_help,
    read_spec,
)

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
    assert timeout.description.endswith("0 = no limit, no waiting (default: 300)")
    assert timeout.meaning.endswith("0 = no limit, no waiting")
    assert spec.option("--workspace").value_kind == "dir"
    assert spec.option("--max-tokens").default == "256"
    assert spec.subcommands == []


def test_a_made_up_header_reads_as_documented():
    text = """Usage: tool.sh start|stop [options]
       tool.sh [status]
Summary: a tool.

Options:
  -x, --mode MODE       fast, slow (the old way) or off (default: fast)
      --file [FILE]     a GGUF file to look at
      --long N          a description that goes on
                        over two lines (default: 7)
      --env N           from a column  GPT_OSS_TOOL_ENV  (default: 3)
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
        "--env N",
        "--flag",
    ]
    mode = spec.option("--mode")
    assert (mode.choices, mode.default) == (["fast", "slow", "off"], "fast")
    assert spec.option("--file").value_optional and spec.option("--file").value_kind == "gguf"
    long = spec.option("--long")
    assert long.description == "a description that goes on over two lines (default: 7)"
    assert (long.default, long.meaning) == ("7", "a description that goes on over two lines")
    env = spec.option("--env")
    assert (env.env, env.default, env.meaning) == ("GPT_OSS_TOOL_ENV", "3", "from a column")


def test_bash_completion_is_generated_for_the_spec():
    text = bash_completion(read_spec(SCRIPTS / "local-infer.sh"))
    assert "complete -F _local_infer_sh local-infer.sh" in text
    assert "--backend) _gpt_oss_suite_reply < <(compgen -W 'gpt-oss openai'" in text
    assert "--workspace) _gpt_oss_suite_paths dir" in text


def test_zsh_completion_quotes_and_escapes_descriptions():
    spec = parse_help(
        "Usage: t.sh [options]\n\nOptions:\n      --it N    it's [odd]: really (default: 1)\n"
    )
    text = zsh_completion([spec])
    assert text.startswith("#compdef t.sh\n")
    assert "'--it[it'\\''s \\[odd\\]]:N: '" in text


# --- one form for defaults, in every header ---


@pytest.mark.parametrize("script", entrypoints(), ids=lambda p: p.name)
def test_every_default_in_a_header_is_written_default_colon(script):
    """`(default: X)` is the one form the parser reads: an older spelling ("(default 8)",
    a bare trailing "(8)") would silently lose the default from the tables."""
    spec = read_spec(script)
    for option in spec.options:
        assert not re.search(r"\(default(?!: )", option.description), option.spec
        if option.metavar and not option.default:
            assert not re.search(r"\([^()\s]+\)$", option.description), option.spec
    assert "(default" in header_text(script)


# --- the option tables of docs/reference.md ---

TABLE_HELP = """Usage: tool.sh [options]

Options:
  -x, --mode MODE       fast, slow or off  GPT_OSS_MODE  (default: fast)
      --url URL         server (default: $GPT_OSS_URL, else http://127.0.0.1:8000)
      --prompt TEXT     the prompt (default: "Say a|b.")
      --flag            a switch
"""


def test_markdown_table_has_a_row_per_option_with_env_default_and_meaning():
    assert load_doc_blocks().markdown_table(parse_help(TABLE_HELP)) == (
        "| option | environment | default | meaning |\n"
        "|---|---|---|---|\n"
        "| `-x, --mode MODE` | `GPT_OSS_MODE` | `fast` | fast, slow or off |\n"
        "| `--url URL` | | `$GPT_OSS_URL`, else `http://127.0.0.1:8000` | server |\n"
        "| `--prompt TEXT` | | `Say a\\|b.` | the prompt |\n"
        "| `--flag` | | | a switch |\n"
    )


def test_a_table_without_environment_variables_has_no_such_column():
    table = load_doc_blocks().markdown_table(read_spec(SCRIPTS / "gpt-oss-query.sh"))
    assert table.splitlines()[:3] == [
        "| option | default | meaning |",
        "|---|---|---|",
        "| `-n, --max-tokens N` | `8` | tokens to generate |",
    ]


def test_reference_md_holds_the_generated_table_of_every_command():
    doc_blocks = load_doc_blocks()
    text = (SUITE_ROOT / "docs" / "reference.md").read_text()
    new, names = doc_blocks.generated_tables(text)
    assert sorted(names) == sorted(p.name for p in entrypoints())
    assert new == text, "docs/reference.md's option tables are stale: run `make docs`"


def test_a_stale_table_is_reported_with_a_diff_and_rewritten_by_write(tmp_path, capsys):
    doc_blocks = load_doc_blocks()
    page = tmp_path / "reference.md"
    good = (SUITE_ROOT / "docs" / "reference.md").read_text()
    stale = good.replace(
        "| `--port N` | `GPT_OSS_PORT` | `8000` |", "| `--port N` | `GPT_OSS_PORT` | `8080` |"
    )
    assert stale != good
    page.write_text(stale)
    assert doc_blocks.cmd_tables(str(page), write=False) == 1
    out = capsys.readouterr().out
    assert "-| `--port N` | `GPT_OSS_PORT` | `8080` | port |" in out
    assert "run `make docs`" in out
    assert doc_blocks.cmd_tables(str(page), write=True) == 0
    assert page.read_text() == good


def test_a_page_without_a_command_s_table_is_reported(tmp_path, capsys):
    doc_blocks = load_doc_blocks()
    page = tmp_path / "reference.md"
    page.write_text("# Reference\n")
    assert doc_blocks.cmd_tables(str(page), write=False) == 1
    assert "no option table of gpt-oss-fast.sh" in capsys.readouterr().out


# --- doc_blocks.py `output` blocks: the output a page shows is compared ---

OUTPUT_PAGE = """# Page

<!-- doc-test: output -->
```console
$ echo one
one
$ echo two >&2
two
```

<!-- doc-test: exit 3, output -->
```bash
sh -c 'echo "took 12 ms"; exit 3'
```

```text
took … ms
```

```bash
echo not compared
```
"""


def test_output_annotations_parse_into_expected_lines(tmp_path):
    doc_blocks = load_doc_blocks()
    page = tmp_path / "page.md"
    page.write_text(OUTPUT_PAGE)
    first, second, third = doc_blocks.parse(page)
    assert (first.action, first.expected) == ("run", ["one", "two"])
    assert (second.action, second.detail, second.expected) == ("exit", "3", ["took … ms"])
    assert third.expected is None


@pytest.mark.parametrize(
    ("body", "error"),
    [("output, output", "unknown doc-test annotation"), ("outputs", "unknown doc-test annotation")],
)
def test_a_malformed_output_annotation_is_an_error(tmp_path, body, error):
    doc_blocks = load_doc_blocks()
    page = tmp_path / "page.md"
    page.write_text(f"<!-- doc-test: {body} -->\n```bash\necho\n```\n")
    with pytest.raises(doc_blocks.DocError, match=error):
        doc_blocks.parse(page)


def test_an_output_bash_block_needs_a_text_block_after_it(tmp_path):
    doc_blocks = load_doc_blocks()
    page = tmp_path / "page.md"
    page.write_text("<!-- doc-test: output -->\n```bash\necho\n```\n\nSome prose.\n")
    with pytest.raises(doc_blocks.DocError, match="needs a ``` or ```text block"):
        doc_blocks.parse(page)


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["a", "c"], False),
        (["a"], ["a", "b"], False),
        (["ready in … ms"], ["ready in 1159 ms"], True),
        (["ready in … ms"], ["ready in 1159 s"], False),
        (["first", "…", "last"], ["first", "x", "y", "last"], True),
        (["first", "…", "last"], ["first", "last"], True),
        (["first", "…", "last"], ["first", "x"], False),
    ],
)
def test_output_matches_with_placeholders(expected, actual, matches):
    assert load_doc_blocks().output_matches(expected, actual) is matches


def test_compare_reads_home_as_tilde_and_the_test_port_as_8000(tmp_path, capsys, monkeypatch):
    doc_blocks = load_doc_blocks()
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "expected").write_text("~/.cache/x at http://127.0.0.1:8000\n\n")
    (tmp_path / "actual").write_text(f"{tmp_path}/.cache/x at http://127.0.0.1:41234  \n")
    assert (
        doc_blocks.cmd_compare(str(tmp_path / "expected"), str(tmp_path / "actual"), "41234") == 0
    )
    (tmp_path / "actual").write_text(f"{tmp_path}/.cache/y at http://127.0.0.1:41234\n")
    assert (
        doc_blocks.cmd_compare(str(tmp_path / "expected"), str(tmp_path / "actual"), "41234") == 1
    )
    out = capsys.readouterr().out
    assert "-~/.cache/x at http://127.0.0.1:8000" in out
    assert "+~/.cache/y at http://127.0.0.1:8000" in out


def run_page(tmp_path, text):
    doc_blocks = load_doc_blocks()
    page = tmp_path / "page.md"
    page.write_text(text)
    doc_blocks.cmd_extract(str(page), str(tmp_path / "out"))
    return subprocess.run(
        ["bash", "--noprofile", "--norc", str(tmp_path / "out" / "run.sh")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )


def test_a_page_whose_commands_print_what_it_shows_passes(tmp_path):
    result = run_page(tmp_path, OUTPUT_PAGE)
    assert result.returncode == 0, result.stderr
    assert "doc-test: OK" in result.stderr


def test_a_changed_output_fails_the_page_naming_its_line(tmp_path):
    result = run_page(tmp_path, OUTPUT_PAGE.replace("$ echo two >&2", "$ echo too >&2"))
    assert result.returncode == 1
    assert "doc-test: FAILED" in result.stderr and ":4: the output differs" in result.stderr
    assert "-two\n+too" in result.stderr


def test_a_failing_command_in_an_output_block_shows_its_output_and_line(tmp_path):
    page = "<!-- doc-test: output -->\n```console\n$ echo before\nbefore\n$ false\n```\n"
    result = run_page(tmp_path, page)
    assert result.returncode == 1
    assert "before\ndoc-test: FAILED" in result.stderr and ":5: exit 1 from: false" in result.stderr
