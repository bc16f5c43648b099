"""Each entrypoint's option spec, read once from its `# Usage:` header (= its --help).

The header is written for people (rbenv style) and stays so; this module reads it as
data, for everything that must agree with it: docs/reference.md's option tables
(tests/helpers/doc_blocks.py tables, `make docs`) and the bash/zsh completion that
`make install` generates (completion.py). Standard library only: the doc test runs it
with the system python3.

What a header says, and how it is read:

    Usage: gpt-oss-fast.sh [start] [options]      usage lines: a bare lowercase word
           gpt-oss-fast.sh stop                   (or [word], or a|b) after the name
                                                  is a subcommand
    Options (flag > environment > default):       an "Options" line opens the options;
      -m, --model FILE   GGUF file   GPT_OSS_GGUF_MODEL_PATH    a blank line ends them
          --kv-type TYPE  KV cache type  GPT_OSS_KV_TYPE  (default: f16)
          --backend NAME  gpt-oss (llama-server) or openai (default: gpt-oss)
          --timeout SECS  per-request limit; 0 = no   a deeper-indented line continues
                          limit (default: 300)        the description
          --check-model [FILE]  ...                 [METAVAR]: the value is optional

  flags      the comma-separated spellings;  metavar  the upper-case word after them
  env        a GPT_OSS_* column after the description (gpt-oss-fast.sh's layout)
  default    "(default: X)", the one form (a test holds every header to it); X is
             everything up to the closing parenthesis
  choices    a description that starts with "a or b" / "a, b or c" (lower-case words,
             each may carry a parenthesis): `--reasoning LEVEL  low, medium or high`
  value kind for completion: Option.value_kind
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

SUITE_ROOT = Path(__file__).resolve().parents[2]

_FLAG = r"-{1,2}[A-Za-z][\w-]*"
OPTION_LINE = re.compile(
    rf"^(?P<indent> {{1,8}})(?P<spec>(?P<flags>{_FLAG}(?:, {_FLAG})*)"
    r"(?: (?P<metavar>\[[A-Z][A-Z_]*\]|[A-Z][A-Z_]*))?)(?:\s+(?P<rest>\S.*))?$"
)
ENV_COLUMN = re.compile(r"^(?P<desc>.*?)\s{2,}(?P<env>GPT_OSS_[A-Z0-9_]+)\s*(?P<rest>\(.*\))?$")
DEFAULT_IN_TEXT = re.compile(r"\s*\(default: (?P<value>[^)]*)\)")
_WORD = r"[a-z0-9][a-z0-9_.+-]*"
_ITEM = rf"{_WORD}(?:\s*\([^)]*\))?"
CHOICES = re.compile(rf"^(?P<items>{_ITEM}(?:,\s*{_ITEM})*\s+or\s+{_ITEM})(?=$|[\s:;,.])")
SUBCOMMAND = re.compile(r"^\[?(?P<words>[a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*)\]?$")


@dataclass
class Option:
    flags: list[str]
    metavar: str | None = None  # without brackets
    value_optional: bool = False  # written [METAVAR]
    description: str = ""
    env: str | None = None
    default: str | None = None
    choices: list[str] = field(default_factory=list)
    spec: str = ""  # the flags and metavar as the header writes them

    @property
    def meaning(self) -> str:
        """The description without its "(default: X)"."""
        return DEFAULT_IN_TEXT.sub("", self.description).strip()

    @property
    def value_kind(self) -> str | None:
        """How completion offers this option's value: "choices", "gguf", "file", "dir",
        "value" (free text), or None for a switch."""
        if self.metavar is None:
            return None
        if self.choices:
            return "choices"
        if self.metavar == "FILE":
            return "gguf" if "GGUF" in self.description else "file"
        if self.metavar == "DIR":
            return "dir"
        return "value"


@dataclass
class Spec:
    name: str  # the command, e.g. gpt-oss-fast.sh
    usage: list[str] = field(default_factory=list)
    summary: str = ""
    subcommands: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    def option(self, flag: str) -> Option | None:
        return next((o for o in self.options if flag in o.flags), None)

    def flags(self) -> list[str]:
        return [flag for option in self.options for flag in option.flags]

    def to_json(self) -> dict:
        data = asdict(self)
        for option, raw in zip(self.options, data["options"]):
            raw["value_kind"] = option.value_kind
        return data


def header_text(script: str | Path) -> str:
    """The help text of a script: its comment block under the shebang with `# ` removed,
    exactly what `print_usage` in scripts/lib/common.sh prints."""
    lines = []
    for line in Path(script).read_text(encoding="utf-8").splitlines()[1:]:
        if not line.startswith("#"):
            break
        text = re.sub(r"^# ?", "", line)
        if not text.startswith("shellcheck"):
            lines.append(text)
    return "\n".join(lines) + "\n"


def _choices_of(description: str) -> list[str]:
    """The value set a description starts with."""
    m = CHOICES.match(description)
    if not m:
        return []
    return [w for w in re.findall(rf"({_WORD})(?:\s*\([^)]*\))?", m["items"]) if w != "or"]


def _finish(option: Option, text: str) -> None:
    # The env column is found by its spacing, before the description's spaces collapse.
    if m := ENV_COLUMN.match(text.strip()):
        text, option.env = f"{m['desc']} {m['rest'] or ''}", m["env"]
    option.description = " ".join(text.split())
    option.choices = _choices_of(option.description)
    if m := DEFAULT_IN_TEXT.search(option.description):
        option.default = m["value"].strip()


def parse_help(text: str, name: str | None = None) -> Spec:
    """The spec of a command from its --help text (or header_text of its script)."""
    spec = Spec(name or "")
    in_usage = in_options = False
    current: Option | None = None
    pending = ""
    for line in text.splitlines():
        if m := re.match(r"^Usage:\s+(\S+)\s*(.*)$", line):
            spec.name = spec.name or m[1]
            in_usage = True
        if in_usage:
            words = line.replace("Usage:", "", 1).split()
            if words and words[0] == spec.name:
                spec.usage.append(" ".join(words))
                alt = SUBCOMMAND.match(words[1]) if len(words) > 1 else None
                for word in alt["words"].split("|") if alt else []:
                    if word != "options" and word not in spec.subcommands:
                        spec.subcommands.append(word)
                continue
            in_usage = False
        if m := re.match(r"^Summary:\s*(.*)$", line):
            spec.summary = m[1].strip()
            continue
        if re.match(r"^Options\b", line):
            in_options = True
            continue
        if not in_options:
            continue
        if not line.strip():
            in_options = False
            continue
        if m := OPTION_LINE.match(line):
            if current:
                _finish(current, pending)
            metavar = m["metavar"]
            current = Option(
                flags=[f.strip() for f in m["flags"].split(",")],
                metavar=metavar.strip("[]") if metavar else None,
                value_optional=bool(metavar and metavar.startswith("[")),
                spec=m["spec"],
            )
            spec.options.append(current)
            pending = m["rest"] or ""
        elif current and line.startswith(" " * 9):
            pending += " " + line.strip()
    if current:
        _finish(current, pending)
    return spec


def read_spec(script: str | Path) -> Spec:
    """The spec of one entrypoint script, from its header."""
    return parse_help(header_text(script), Path(script).name)


def entrypoints(root: str | Path = SUITE_ROOT) -> list[Path]:
    """The suite's commands: scripts/*.sh with a `# Usage:` header, sorted by name."""
    scripts = sorted(Path(root, "scripts").glob("*.sh"))
    return [s for s in scripts if re.match(r".*\n# Usage:", s.read_text(encoding="utf-8"))]
