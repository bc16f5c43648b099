"""Shell completion for the suite's commands, generated from their option specs.

`make install` runs `gpt-oss-py options completion bash|zsh --out DIR`, which writes
these files from each entrypoint's `# Usage:` header (option_spec.py) at install time,
so completion can only be as old as the install, never out of step with the help:

  bash  one file per command, named as the command (bash-completion loads
        completions/NAME when NAME is first completed), each self-contained
  zsh   one `_gpt-oss-suite` file whose `#compdef` line names every command

What completes: the subcommands (first word), every flag, and a flag's value where the
spec knows it: its value set (`--backend gpt-oss|openai`), GGUF files and folders for a
FILE described as GGUF, files for FILE, folders for DIR; nothing for other values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import suite_version
from .option_spec import Spec

_SAFE = re.compile(r"^[A-Za-z0-9_./:=,+@%-]+$")


def _sh_words(words: Iterable[str]) -> str:
    """Words for `compgen -W '...'` (single-quoted; the spec's words need no escaping)."""
    joined = " ".join(words)
    if not all(_SAFE.match(w) for w in joined.split()):
        raise ValueError(f"a word bash completion cannot offer as is: {joined!r}")
    return joined


def bash_completion(spec: Spec) -> str:
    """The bash completion file for one command."""
    name = "_" + re.sub(r"[^A-Za-z0-9_]", "_", spec.name)  # the completion function
    value_cases, optional_cases, free = [], [], []
    for option in spec.options:
        kind = option.value_kind
        if kind is None:
            continue
        if kind == "value" and not option.value_optional:
            free += option.flags  # a value we cannot guess: offer nothing, not flags
            continue
        if kind == "choices":
            words = _sh_words(option.choices)
            action = f"_gpt_oss_suite_reply < <(compgen -W '{words}' -- \"$cur\")"
        elif kind in ("gguf", "file", "dir"):
            action = f'_gpt_oss_suite_paths {kind} "$cur"'
        else:
            action = ":"
        pattern = " | ".join(option.flags)
        if option.value_optional:  # [VALUE]: a flag may come instead
            optional_cases.append(
                f'    {pattern}) [[ "$cur" == -* ]] || {{ {action}; return; }} ;;'
            )
        else:
            value_cases.append(f"    {pattern}) {action}; return ;;")
    if free:
        value_cases.append(f"    {' | '.join(free)}) return ;;")
    lines = [
        f"# bash completion for {spec.name} (gpt-oss-suite {suite_version()}). Generated from",
        "# its `# Usage:` header by `gpt-oss-py options completion bash` (make install): do",
        "# not edit, re-run make install.",
        "",
        "# _gpt_oss_suite_reply < LINES → COMPREPLY, one word per line (no mapfile: bash 3.2",
        "# is still the login shell of many Macs)",
        "_gpt_oss_suite_reply() {",
        "  local line",
        "  COMPREPLY=()",
        '  while IFS= read -r line; do COMPREPLY+=("$line"); done',
        "}",
        "# _gpt_oss_suite_paths gguf|file|dir CUR → GGUF files (and folders), files or folders",
        "_gpt_oss_suite_paths() {",
        "  compopt -o filenames 2>/dev/null",
        "  case $1 in",
        '    dir) _gpt_oss_suite_reply < <(compgen -d -- "$2") ;;',
        '    gguf) _gpt_oss_suite_reply < <(compgen -d -- "$2"; compgen -f -X \'!*.gguf\' -- "$2")',
        "      ;;",
        '    *) _gpt_oss_suite_reply < <(compgen -f -- "$2") ;;',
        "  esac",
        "}",
        "",
        f"{name}() {{",
        "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}",
        "  COMPREPLY=()",
    ]
    for cases in (value_cases, optional_cases):
        if cases:
            lines += ['  case "$prev" in', *cases, "  esac"]
    lines += [
        '  if [[ "$cur" == -* ]]; then',
        f"    _gpt_oss_suite_reply < <(compgen -W '{_sh_words(spec.flags())}' -- \"$cur\")",
    ]
    if spec.subcommands:
        lines += [
            "  elif ((COMP_CWORD == 1)); then",
            f"    _gpt_oss_suite_reply < <(compgen -W '{_sh_words(spec.subcommands)}' -- \"$cur\")",
        ]
    lines += ["  fi", "}", f"complete -F {name} {spec.name}", ""]
    return "\n".join(lines)


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh_description(text: str) -> str:
    # The first clause is enough for a completion menu.
    text = re.split(r";|\. |: | \(", text)[0]
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def zsh_completion(specs: list[Spec]) -> str:
    """One zsh completion file (`_gpt-oss-suite`) for every command."""
    lines = [
        f"#compdef {' '.join(spec.name for spec in specs)}",
        f"# zsh completion for the gpt-oss suite ({suite_version()}). Generated from each",
        "# command's `# Usage:` header by `gpt-oss-py options completion zsh` (make install):",
        "# do not edit, re-run make install.",
        "",
        "case $service in",
    ]
    for spec in specs:
        args = []
        for option in spec.options:
            group = f"({' '.join(option.flags)})" if len(option.flags) > 1 else ""
            desc = _zsh_description(option.meaning)
            kind = option.value_kind
            if kind is None:
                value = ""
            else:
                colon = "::" if option.value_optional else ":"
                action = {
                    "choices": f"({' '.join(option.choices)})",
                    "gguf": "_files -g '*.gguf'",
                    "file": "_files",
                    "dir": "_files -/",
                }.get(kind, " ")
                value = f"{colon}{option.metavar}:{action}"
            for flag in option.flags:
                args.append(_zsh_quote(f"{group}{flag}[{desc}]{value}"))
        if spec.subcommands:
            args.append(_zsh_quote(f"1::command:({' '.join(spec.subcommands)})"))
        args.append(_zsh_quote("*::argument: "))
        lines.append(f"  {spec.name})")
        lines.append("    _arguments -S \\")
        lines += [f"      {arg} \\" for arg in args[:-1]]
        lines.append(f"      {args[-1]}")
        lines.append("    ;;")
    lines += ["esac", ""]
    return "\n".join(lines)
