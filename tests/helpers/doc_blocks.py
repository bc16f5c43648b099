#!/usr/bin/env python3
"""Find the shell command blocks in Markdown pages, for tests/docs.bats (stdlib only).

A block is a fenced code block whose info string starts with `bash`, `sh` or `console`.
`bash`/`sh` blocks run as written; in a `console` block only the lines that start with
`$ ` run (the `$ ` removed), plus the continuation lines of a command ending in `\\`;
the other lines are output shown to the reader.

An annotation on the last non-blank line before the fence changes what happens:

    <!-- doc-test: skip (REASON) -->   not run here; the reason is required and listed
    <!-- doc-test: exit N -->          runs, and its last command must exit N (a symptom shown
                                       on purpose, e.g. a context error)
    <!-- doc-test: output -->          runs, and what its commands print (stdout and stderr,
                                       as a terminal shows them) must be the output the page
                                       shows: a console block's lines that are not commands,
                                       or, after a bash/sh block, the plain or ```text block
                                       right after it. `…` in a shown line stands for any text
                                       (timings, pids); a line that is only `…` for any lines.
                                       Before comparing, $HOME (and $DOC_TEST_REAL_HOME) in the
                                       output reads `~` and the test's port 8000.
                                       Combined: `exit 5, output`

Commands:
  doc_blocks.py list PAGE...           one TSV line per block:
                                       PAGE, LINE (of the fence), LANG, ACTION, OUTPUT, DETAIL
                                       ACTION is run, exit (DETAIL = N) or skip (DETAIL = reason);
                                       OUTPUT is `output` (compared) or `-`
  doc_blocks.py extract PAGE OUTDIR    writes OUTDIR/NNN.sh per block that runs (padded with
                                       blank lines so that line numbers are the page's),
                                       OUTDIR/blocks.tsv (NNN, LINE, LANG, ACTION, OUTPUT, DETAIL),
                                       OUTDIR/NNN.expected per `output` block and
                                       OUTDIR/run.sh, which runs them: `bash OUTDIR/run.sh`
                                       from the repository root (see RUNNER below)
  doc_blocks.py compare EXPECTED ACTUAL PORT
                                       the `output` check: ACTUAL (a file) against EXPECTED
                                       (the page's lines); prints a diff, exit 1 when they differ
  doc_blocks.py tables [--write] PAGE  the option tables of PAGE: each table right after a
                                       `<!-- options: SCRIPT ... -->` line must be the one
                                       `SCRIPT --help` generates (markdown_table),
                                       and every command of the suite must have one. Prints a
                                       diff, exit 1; --write (`make docs`) rewrites them instead
  doc_blocks.py check-links PAGE...     every relative Markdown link of PAGE (`](file.md)`,
                                       `](file.md#anchor)`, `](#anchor)`) names an existing file
                                       and, with an anchor, a heading there (GitHub's slugs).
                                       Prints every broken one; exit 1 when there is one
A malformed annotation (unknown word, skip without a reason, nothing to annotate) or an
unclosed fence is an error: exit 2 with PAGE:LINE on stderr.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = {"bash", "sh", "console"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
ANNOTATION = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<body>.*?)\s*-->\s*$")
SKIP = re.compile(r"^skip\s*\((?P<reason>.*\S.*)\)$")
EXIT = re.compile(r"^exit\s+(?P<code>\d{1,3})$")
ANY = "…"  # in an `output` block: any text


class DocError(Exception):
    """A page the doc test cannot read as intended."""


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    action: str = "run"  # run | exit | skip
    detail: str = ""
    lines: dict[int, str] = field(default_factory=dict)  # page line -> shell line
    expected: list[str] | None = None  # the output the page shows (an `output` block)


def _annotation(body: str, where: str) -> tuple[str, str, bool]:
    """(action, detail, whether the output is compared) of an annotation's body."""
    if m := SKIP.match(body):
        return "skip", m["reason"].strip(), False
    action, detail, output = "run", "", False
    for part in (p.strip() for p in body.split(",")):
        if m := EXIT.match(part):
            action, detail = "exit", m["code"]
        elif part == "output" and not output:
            output = True
        else:
            raise DocError(
                f"{where}: unknown doc-test annotation '{body}' "
                "(use 'skip (REASON)', 'exit N', 'output' or 'exit N, output')"
            )
    return action, detail, output


def _console_commands(content: list[tuple[int, str]]) -> dict[int, str]:
    """The `$ ` lines of a console block and their `\\` continuations."""
    commands: dict[int, str] = {}
    continuing = False
    for number, text in content:
        if continuing:
            commands[number] = text
        elif text.startswith("$ "):
            commands[number] = text[2:]
        else:
            continue
        continuing = text.rstrip().endswith("\\")
    return commands


def _output_block(lines: list[str], start: int, where: str) -> tuple[list[str], int]:
    """The plain or ```text block that shows a bash block's output: its lines, and the
    index of its closing fence."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    fence = FENCE.match(lines[i]) if i < len(lines) else None
    if not fence or fence["info"].strip() not in ("", "text"):
        raise DocError(
            f"{where}: an `output` bash block needs a ``` or ```text block right after it"
        )
    end = next((k for k in range(i + 1, len(lines)) if lines[k].strip() == fence["fence"]), None)
    if end is None:
        raise DocError(f"{where}: the output block is never closed")
    indent = len(fence["indent"])
    return [t[min(indent, len(t) - len(t.lstrip(" "))) :] for t in lines[i + 1 : end]], end


def parse(page: Path) -> list[Block]:
    """Every runnable fenced block of `page`, with its annotation."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: tuple[int, str, str, bool] | None = None  # (line, action, detail, output)
    i = 0
    while i < len(lines):
        text = lines[i]
        number = i + 1
        if m := ANNOTATION.match(text):
            if pending:
                raise DocError(f"{page}:{pending[0]}: doc-test annotation without a block after it")
            pending = (number, *_annotation(m["body"], f"{page}:{number}"))
            i += 1
            continue
        fence = FENCE.match(text)
        if not fence:
            if pending and text.strip():
                raise DocError(
                    f"{page}:{pending[0]}: doc-test annotation must sit right before a "
                    "```bash, ```sh or ```console fence"
                )
            i += 1
            continue
        marker, indent = fence["fence"], len(fence["indent"])
        lang = (fence["info"].split() or [""])[0].lower()
        close = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
        content: list[tuple[int, str]] = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            raw = lines[j]
            # Content keeps its own indentation beyond the fence's (CommonMark).
            strip = min(indent, len(raw) - len(raw.lstrip(" ")))
            content.append((j + 1, raw[strip:]))
            j += 1
        if j >= len(lines):
            raise DocError(f"{page}:{number}: the code fence is never closed")
        if lang in RUNNABLE:
            block = Block(number, lang)
            if pending:
                block.action, block.detail = pending[1], pending[2]
            if lang == "console":
                block.lines = _console_commands(content)
            else:
                block.lines = dict(content)
            if not any(line.strip() for line in block.lines.values()):
                raise DocError(f"{page}:{number}: a {lang} block without a command")
            if pending and pending[3]:
                if lang == "console":
                    block.expected = [t for n, t in content if n not in block.lines]
                else:
                    block.expected, j = _output_block(lines, j + 1, f"{page}:{number}")
            blocks.append(block)
        elif pending:
            raise DocError(
                f"{page}:{pending[0]}: doc-test annotation before a '{lang or 'plain'}' block; "
                "only bash, sh and console blocks run"
            )
        pending = None
        i = j + 1
    if pending:
        raise DocError(f"{page}:{pending[0]}: doc-test annotation without a block after it")
    return blocks


# The page runner. One shell for the whole page, like a reader pasting the blocks into
# one terminal: variables, exports and `cd` carry over from block to block. Stricter than
# a terminal: every command must succeed (errexit + pipefail), and the first one that
# fails stops the page with PAGE:LINE. `exit N` blocks must end with status N instead.
RUNNER = r"""# Generated by tests/helpers/doc_blocks.py extract; run from the repository root.
__doc_dir=@DIR@
__doc_page=@PAGE@
__doc_self=@SELF@
__doc_port=${GPT_OSS_PORT:-8000} # the test's port reads as 8000 in a compared output
__doc_ran=0 __doc_skipped=0 __doc_capture=
exec 5>&2 # the log, also while an `output` block's stdout and stderr are captured
__doc_failed() { # __doc_failed STATUS LINE COMMAND
  [[ -z $__doc_capture ]] || cat "$__doc_capture" >&5
  printf 'doc-test: FAILED %s:%s: exit %s from: %s\n' "$__doc_page" "$2" "$1" "$3" >&5
  exit 1
}
__doc_source() { # the block, its output captured for an `output` block
  if [[ -n $__doc_capture ]]; then
    source "$__doc_dir/$__doc_id.sh" >"$__doc_capture" 2>&1
  else
    source "$__doc_dir/$__doc_id.sh"
  fi
}
__doc_trap() { trap '__doc_failed "$?" "$LINENO" "$BASH_COMMAND"' ERR; set -eE -o pipefail; }
__doc_untrap() { trap - ERR; set +eE; }
mapfile -t __doc_blocks <"$__doc_dir/blocks.tsv"
for __doc_row in "${__doc_blocks[@]}"; do
  IFS=$'\t' read -r __doc_id __doc_line __doc_lang __doc_action __doc_output __doc_detail \
    <<<"$__doc_row"
  if [[ $__doc_action == skip ]]; then
    printf 'doc-test: SKIP %s:%s (%s)\n' "$__doc_page" "$__doc_line" "$__doc_detail" >&2
    __doc_skipped=$((__doc_skipped + 1))
    continue
  fi
  printf '%s:%s\n' "$__doc_page" "$__doc_line" >"$__doc_dir/current"
  printf 'doc-test: RUN %s:%s (%s)\n' "$__doc_page" "$__doc_line" "$__doc_lang" >&2
  __doc_ran=$((__doc_ran + 1))
  __doc_t0=${EPOCHREALTIME/[.,]/}
  __doc_capture=
  [[ $__doc_output != output ]] || __doc_capture=$__doc_dir/$__doc_id.out
  if [[ $__doc_action == exit ]]; then
    __doc_untrap
    __doc_source
    __doc_status=$?
    [[ -z $__doc_capture ]] || cat "$__doc_capture" >&2
    if [[ $__doc_status != "$__doc_detail" ]]; then
      printf 'doc-test: FAILED %s:%s: the block exited %s, the page promises exit %s\n' \
        "$__doc_page" "$__doc_line" "$__doc_status" "$__doc_detail" >&2
      exit 1
    fi
  else
    __doc_trap
    __doc_source
    __doc_untrap
    [[ -z $__doc_capture ]] || cat "$__doc_capture" >&2
  fi
  if [[ -n $__doc_capture ]] && ! python3 "$__doc_self" compare "$__doc_dir/$__doc_id.expected" \
    "$__doc_capture" "$__doc_port" >&2; then
    printf 'doc-test: FAILED %s:%s: the output differs from what the page shows (diff above)\n' \
      "$__doc_page" "$__doc_line" >&2
    exit 1
  fi
  __doc_t1=${EPOCHREALTIME/[.,]/}
  printf 'doc-test: took %d ms: %s:%s\n' $(((__doc_t1 - __doc_t0) / 1000)) \
    "$__doc_page" "$__doc_line" >&2
done
printf 'doc-test: OK %s: %s blocks ran, %s skipped\n' \
  "$__doc_page" "$__doc_ran" "$__doc_skipped" >&2
"""


def _row(*cells: object) -> str:
    return "\t".join(str(c).replace("\t", " ") for c in cells)


def _output(block: Block) -> str:
    return "-" if block.expected is None else "output"


def cmd_list(pages: list[str]) -> None:
    for page in pages:
        for block in parse(Path(page)):
            print(_row(page, block.line, block.lang, block.action, _output(block), block.detail))


def cmd_extract(page: str, outdir: str) -> None:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, block in enumerate(parse(Path(page)), start=1):
        name = f"{n:03d}"
        rows.append(_row(name, block.line, block.lang, block.action, _output(block), block.detail))
        if block.action == "skip":
            continue
        if block.expected is not None:
            (out / f"{name}.expected").write_text("".join(t + "\n" for t in block.expected))
        last = max(block.lines)
        # Line k of the file is line k of the page, so $LINENO names the page's line.
        body = [block.lines.get(k, "") for k in range(1, last + 1)]
        (out / f"{name}.sh").write_text("\n".join(body) + "\n", encoding="utf-8")
    (out / "blocks.tsv").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    runner = (
        RUNNER.replace("@DIR@", shlex.quote(str(out.resolve())))
        .replace("@PAGE@", shlex.quote(page))
        .replace("@SELF@", shlex.quote(str(Path(__file__).resolve())))
    )
    (out / "run.sh").write_text(runner, encoding="utf-8")


def _normalised(text: str, port: str) -> list[str]:
    """Output as the page writes it: `~` for $HOME (and $DOC_TEST_REAL_HOME), 8000 for
    the test's port, no trailing blanks."""
    # The test's HOME, and the reader's own, where the caches it links to live.
    for home in {str(Path.home()), os.environ.get("DOC_TEST_REAL_HOME") or str(Path.home())}:
        text = re.sub(rf"{re.escape(home)}(?=/|\b)", "~", text)
    if port != "8000":
        text = re.sub(rf"(?<!\d){re.escape(port)}(?!\d)", "8000", text)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` is what `expected` shows: `…` in a line is any text, a line that
    is only `…` any number of lines."""
    parts = []
    for line in expected:
        if line.strip() == ANY:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*?".join(re.escape(p) for p in line.rstrip().split(ANY)) + "\n")
    return re.fullmatch("".join(parts), "".join(a + "\n" for a in actual)) is not None


def cmd_compare(expected_file: str, actual_file: str, port: str) -> int:
    expected = Path(expected_file).read_text(encoding="utf-8").splitlines()
    while expected and not expected[-1].strip():
        expected.pop()
    actual = _normalised(Path(actual_file).read_text(encoding="utf-8", errors="replace"), port)
    if output_matches(expected, actual):
        return 0
    # A shown line whose `…` matched the printed line beside it is not a difference.
    shown = [
        actual[i] if i < len(actual) and output_matches([line], [actual[i]]) else line
        for i, line in enumerate(expected)
    ]
    diff = difflib.unified_diff(
        shown, actual, "the page shows", "the commands printed", lineterm=""
    )
    print("\n".join(diff))
    return 1


# The option tables come from the suite's one option-spec parser (the same one that
# generates shell completion), in py/ next to this file: stdlib only.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "py"))
from gpt_oss_suite.option_spec import SUITE_ROOT, Spec, entrypoints, parse_help  # noqa: E402


def _code(word: str) -> str:
    """A default's word as a reader would copy it: numbers, paths, $VARS and URLs in
    backticks, prose as is."""
    core = word.rstrip(",;")
    if re.fullmatch(r"-?[0-9.]+|~/.*|\$.*|.*/.*", core):
        return f"`{core}`{word[len(core) :]}"
    return word


def _default_cell(default: str | None) -> str:
    if not default:
        return ""
    if default[0] == '"' and default[-1] == '"':
        return f"`{default[1:-1]}`"
    words = default.split()
    return f"`{default}`" if len(words) == 1 else " ".join(_code(w) for w in words)


def markdown_table(spec: Spec) -> str:
    """The option table of docs/reference.md for one command, from its spec: option,
    environment (when the command reads one per option), default, meaning."""
    with_env = any(option.env for option in spec.options)
    rows = [["option", *(["environment"] if with_env else []), "default", "meaning"]]
    for option in spec.options:
        env = [f"`{option.env}`" if option.env else ""] if with_env else []
        rows.append([f"`{option.spec}`", *env, _default_cell(option.default), option.meaning])
    lines = [
        "|" + "|".join(f" {cell.replace('|', chr(92) + '|')} " if cell else " " for cell in row)
        for row in rows
    ]
    lines.insert(1, "|---" * len(rows[0]))
    return "".join(line + "|\n" for line in lines)


TABLE_MARK = re.compile(r"^<!-- options: (?P<name>\S+) .*-->$")


def generated_tables(text: str) -> tuple[str, list[str]]:
    """`text` with the table after each `<!-- options: SCRIPT ... -->` line replaced by
    the one SCRIPT's --help generates, and the scripts named."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    names: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        m = TABLE_MARK.match(lines[i].rstrip("\n"))
        i += 1
        if not m:
            continue
        names.append(m["name"])
        help_text = subprocess.run(
            [str(SUITE_ROOT / "scripts" / m["name"]), "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        out.append(markdown_table(parse_help(help_text, m["name"])))
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
    return "".join(out), names


def cmd_tables(page: str, write: bool) -> int:
    text = Path(page).read_text(encoding="utf-8")
    new, names = generated_tables(text)
    problems = [
        f"{page}: no option table of {path.name} (a `<!-- options: {path.name} -->` line)"
        for path in entrypoints()
        if path.name not in names
    ]
    if write:
        if new != text:
            Path(page).write_text(new, encoding="utf-8")
            print(f"{page}: option tables written")
    elif new != text:
        diff = difflib.unified_diff(
            text.splitlines(), new.splitlines(), page, "generated from --help", lineterm=""
        )
        problems.append("\n".join(diff))
        problems.append(f"{page}: option tables differ from --help: run `make docs`")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def slugs(page: Path) -> set[str]:
    """GitHub's anchors for the headings of `page` (outside code fences)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fence = None
    for line in page.read_text(encoding="utf-8").splitlines():
        if m := FENCE.match(line):
            marker = m["fence"][0]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence or not (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            continue
        slug = re.sub(r"[^\w\- ]", "", m[1].lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def cmd_check_links(pages: list[str]) -> int:
    problems = []
    for name in pages:
        page = Path(name)
        text = page.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            for m in LINK.finditer(line):
                target = m["target"]
                if re.match(r"^[a-z]+:", target):
                    continue  # http:, https:, mailto:
                path, _, anchor = target.partition("#")
                linked = (page.parent / path) if path else page
                if not linked.exists():
                    problems.append(f"{name}:{number}: {target}: no such file")
                elif anchor and linked.suffix == ".md" and anchor not in slugs(linked):
                    problems.append(f"{name}:{number}: {target}: no heading #{anchor}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    try:
        if len(argv) >= 2 and argv[0] == "list":
            cmd_list(argv[1:])
        elif len(argv) == 3 and argv[0] == "extract":
            cmd_extract(argv[1], argv[2])
        elif len(argv) >= 2 and argv[0] == "check-links":
            return cmd_check_links(argv[1:])
        elif len(argv) == 4 and argv[0] == "compare":
            return cmd_compare(argv[1], argv[2], argv[3])
        elif len(argv) in (2, 3) and argv[0] == "tables" and argv[1:-1] in ([], ["--write"]):
            return cmd_tables(argv[-1], write=len(argv) == 3)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except DocError as error:
        print(f"doc_blocks.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
