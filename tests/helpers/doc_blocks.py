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

Commands:
  doc_blocks.py list PAGE...           one TSV line per block:
                                       PAGE, LINE (of the fence), LANG, ACTION, DETAIL
                                       ACTION is run, exit (DETAIL = N) or skip (DETAIL = reason)
  doc_blocks.py extract PAGE OUTDIR    writes OUTDIR/NNN.sh per block that runs (padded with
                                       blank lines so that line numbers are the page's),
                                       OUTDIR/blocks.tsv (NNN, LINE, LANG, ACTION, DETAIL) and
                                       OUTDIR/run.sh, which runs them: `bash OUTDIR/run.sh`
                                       from the repository root (see RUNNER below)
  doc_blocks.py check-options NAME HELP_FILE REFERENCE
                                       compare the options NAME --help lists (HELP_FILE holds
                                       its output; read by py/gpt_oss_suite/option_spec.py)
                                       with the option table under REFERENCE's "## NAME"
                                       heading: the flags both ways, each row's environment
                                       variable, default, value set and meaning (see
                                       _compare_row). Prints every difference; exit 1 when
                                       there is one
  doc_blocks.py check-links PAGE...     every relative Markdown link of PAGE (`](file.md)`,
                                       `](file.md#anchor)`, `](#anchor)`) names an existing file
                                       and, with an anchor, a heading there (GitHub's slugs).
                                       Prints every broken one; exit 1 when there is one
A malformed annotation (unknown word, skip without a reason, nothing to annotate) or an
unclosed fence is an error: exit 2 with PAGE:LINE on stderr.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = {"bash", "sh", "console"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
ANNOTATION = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<body>.*?)\s*-->\s*$")
SKIP = re.compile(r"^skip\s*\((?P<reason>.*\S.*)\)$")
EXIT = re.compile(r"^exit\s+(?P<code>\d{1,3})$")


class DocError(Exception):
    """A page the doc test cannot read as intended."""


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    action: str = "run"  # run | exit | skip
    detail: str = ""
    lines: dict[int, str] = field(default_factory=dict)  # page line -> shell line


def _annotation(body: str, where: str) -> tuple[str, str]:
    if m := SKIP.match(body):
        return "skip", m["reason"].strip()
    if m := EXIT.match(body):
        return "exit", m["code"]
    raise DocError(
        f"{where}: unknown doc-test annotation '{body}' (use 'skip (REASON)' or 'exit N')"
    )


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


def parse(page: Path) -> list[Block]:
    """Every runnable fenced block of `page`, with its annotation."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: tuple[int, str, str] | None = None  # (line, action, detail) of an annotation
    i = 0
    while i < len(lines):
        text = lines[i]
        number = i + 1
        if m := ANNOTATION.match(text):
            if pending:
                raise DocError(f"{page}:{pending[0]}: doc-test annotation without a block after it")
            action, detail = _annotation(m["body"], f"{page}:{number}")
            pending = (number, action, detail)
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
__doc_ran=0 __doc_skipped=0
__doc_failed() { # __doc_failed STATUS LINE COMMAND
  printf 'doc-test: FAILED %s:%s: exit %s from: %s\n' "$__doc_page" "$2" "$1" "$3" >&2
  exit 1
}
__doc_trap() { trap '__doc_failed "$?" "$LINENO" "$BASH_COMMAND"' ERR; set -eE -o pipefail; }
__doc_untrap() { trap - ERR; set +eE; }
mapfile -t __doc_blocks <"$__doc_dir/blocks.tsv"
for __doc_row in "${__doc_blocks[@]}"; do
  IFS=$'\t' read -r __doc_id __doc_line __doc_lang __doc_action __doc_detail <<<"$__doc_row"
  if [[ $__doc_action == skip ]]; then
    printf 'doc-test: SKIP %s:%s (%s)\n' "$__doc_page" "$__doc_line" "$__doc_detail" >&2
    __doc_skipped=$((__doc_skipped + 1))
    continue
  fi
  printf '%s:%s\n' "$__doc_page" "$__doc_line" >"$__doc_dir/current"
  printf 'doc-test: RUN %s:%s (%s)\n' "$__doc_page" "$__doc_line" "$__doc_lang" >&2
  __doc_ran=$((__doc_ran + 1))
  __doc_t0=${EPOCHREALTIME/[.,]/}
  if [[ $__doc_action == exit ]]; then
    __doc_untrap
    source "$__doc_dir/$__doc_id.sh"
    __doc_status=$?
    if [[ $__doc_status != "$__doc_detail" ]]; then
      printf 'doc-test: FAILED %s:%s: the block exited %s, the page promises exit %s\n' \
        "$__doc_page" "$__doc_line" "$__doc_status" "$__doc_detail" >&2
      exit 1
    fi
  else
    __doc_trap
    source "$__doc_dir/$__doc_id.sh"
    __doc_untrap
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


def cmd_list(pages: list[str]) -> None:
    for page in pages:
        for block in parse(Path(page)):
            print(_row(page, block.line, block.lang, block.action, block.detail))


def cmd_extract(page: str, outdir: str) -> None:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, block in enumerate(parse(Path(page)), start=1):
        name = f"{n:03d}"
        rows.append(_row(name, block.line, block.lang, block.action, block.detail))
        if block.action == "skip":
            continue
        last = max(block.lines)
        # Line k of the file is line k of the page, so $LINENO names the page's line.
        body = [block.lines.get(k, "") for k in range(1, last + 1)]
        (out / f"{name}.sh").write_text("\n".join(body) + "\n", encoding="utf-8")
    (out / "blocks.tsv").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    runner = RUNNER.replace("@DIR@", shlex.quote(str(out.resolve()))).replace(
        "@PAGE@", shlex.quote(page)
    )
    (out / "run.sh").write_text(runner, encoding="utf-8")


# The options --help lists are read by the suite's one option-spec parser (the same one
# that generates shell completion), from py/ next to this file: stdlib only.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "py"))
from gpt_oss_suite.option_spec import Option, parse_help  # noqa: E402

STOPWORDS = {"the", "this", "that", "with", "from", "when", "what", "which", "than", "then"}


def reference_rows(reference: str, name: str) -> list[dict[str, str]]:
    """The rows of the `| option | ...` table under `## NAME`, as {column: cell}."""
    rows: list[dict[str, str]] = []
    section = False
    header: list[str] | None = None
    for line in reference.splitlines():
        if line.startswith("## "):
            section = line[3:].strip().strip("`") == name
            header = None
            continue
        if not section:
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "option":
            header = cells
            continue
        if header and not set(cells[0]) <= set("-: "):
            rows.append(dict(zip(header, cells)))
    return rows


def _plain(cell: str) -> str:
    """A Markdown cell as text: links as their words, no backticks."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell).replace("`", "")


def _literals(text: str) -> list[str]:
    """The tokens of a default a reader would copy: numbers, paths, URLs, $VARS, words
    with a digit or a dot; `$GPT_OSS_URL` counts as GPT_OSS_URL."""
    tokens = re.findall(r"[^\s,;()]+", text)
    return [
        tok.lstrip("$").rstrip(".")
        for tok in tokens
        if re.search(r"[0-9/~$]|^[A-Z][A-Z0-9_]{2,}$|^[a-z]+[.-][a-z]", tok) or len(tokens) == 1
    ]


def _words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in STOPWORDS}


def _compare_row(name: str, reference: str, option: Option, row: dict[str, str]) -> list[str]:
    """What a reference row says differently from --help: environment variable, default
    (every literal of the help's default appears in the row's default cell, unless that
    cell points elsewhere with "see ..."), value set (each value named in the row), and
    the description (at least one content word in common: a swapped or stale row)."""
    problems = []
    where = f"'{option.spec}' in {reference} ({name})"
    ref_env = _plain(row.get("environment", "")).strip()
    if "environment" in row and (option.env or "") != ref_env:
        problems.append(f"{where}: environment '{ref_env}', --help says '{option.env or ''}'")
    ref_default = _plain(row.get("default", ""))
    if option.default and "default" in row and not ref_default.startswith("see "):
        missing = [tok for tok in _literals(option.default) if tok not in ref_default]
        if missing or not ref_default.strip():
            problems.append(f"{where}: default '{ref_default}', --help says '{option.default}'")
    text = _plain(" ".join(row.values()))
    for value in option.choices:
        if not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            problems.append(f"{where}: does not name the value '{value}' --help lists")
    described = re.sub(r"\(default[^)]*\)", "", option.description)
    if _words(described) and not _words(described) & _words(row.get("meaning", text)):
        problems.append(f"{where}: its meaning shares no word with --help's '{option.description}'")
    return problems


def flags(specs: list[str]) -> set[str]:
    return {
        flag for spec in specs for flag in re.findall(r"(?<![\w-])(-{1,2}[A-Za-z][\w-]*)", spec)
    }


def cmd_check_options(name: str, help_file: str, reference: str) -> int:
    spec = parse_help(Path(help_file).read_text(encoding="utf-8"), name)
    rows = reference_rows(Path(reference).read_text(encoding="utf-8"), name)
    in_help = [option.spec for option in spec.options]
    in_ref = [row["option"].strip("`") for row in rows]
    problems = []
    if not in_help:
        problems.append(f"{name} --help lists no options (no 'Options' section?)")
    if not in_ref:
        problems.append(f"{reference} has no '| option |' table under '## {name}'")
    for flag in sorted(flags(in_help) - flags(in_ref)):
        problems.append(f"{flag}: in {name} --help, missing from {reference}")
    for flag in sorted(flags(in_ref) - flags(in_help)):
        problems.append(f"{flag}: in {reference} ({name}), not in {name} --help")
    for option in spec.options:
        if option.spec not in in_ref and flags([option.spec]) <= flags(in_ref):
            problems.append(f"'{option.spec}' as --help writes it is not a row of {reference}")
    for spec_text in in_ref:
        if spec_text not in in_help and flags([spec_text]) <= flags(in_help):
            problems.append(f"'{spec_text}' in {reference} is not written so in {name} --help")
    for option in spec.options:
        for row in rows:
            if row["option"].strip("`") == option.spec:
                problems += _compare_row(name, reference, option, row)
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
        elif len(argv) == 4 and argv[0] == "check-options":
            return cmd_check_options(argv[1], argv[2], argv[3])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except DocError as error:
        print(f"doc_blocks.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
