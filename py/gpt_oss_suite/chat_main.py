"""The Harmony / chat path of local-infer.sh, reached without click (`py_main` runs `main`
with the prompt on stdin). The process pays for the standard library's socket and json
only: on these machines `python -c pass` is ~16 ms, click's import another ~24 ms,
`requests` ~100 ms, each a cost on every Harmony call (make bench, "Harmony path split").
The arguments are the options local-infer.sh builds, already checked there.
"""

from __future__ import annotations

import json
import os
import sys

from .errors import EXIT_USAGE, InputError, SuiteError

# option → (ChatOptions field, type); bare switches map to True.
VALUED = {
    "--backend": ("backend", str),
    "--url": ("url", str),
    "--model": ("model", str),
    "--max-tokens": ("max_tokens", int),
    "--temperature": ("temperature", float),
    "--top-p": ("top_p", float),
    "--seed": ("seed", int),
    "--system": ("system", str),
    "--reasoning": ("reasoning", str),
    "--workspace": ("workspace", str),
    "--max-tool-turns": ("max_tool_turns", int),
    "--timeout": ("timeout", float),
    "--prog": ("prog", str),
}
SWITCHES = {
    "--tools": "tools",
    "--stream": "stream",
    "--show-reasoning": "show_reasoning",
    "--json": "as_json",
    "--no-fallback": "no_fallback",
    "--prompt-from-stdin": "strip_newline",
    "--color": "color",  # local-infer.sh's color_ok decides: the colour rule lives there
}


def parse_args(argv: list[str]) -> dict:
    """local-infer.sh's options → keyword arguments of `run` (ValueError when unknown)."""
    values: dict = {}
    args = iter(argv)
    for name in args:
        if name in SWITCHES:
            values[SWITCHES[name]] = True
        elif name in VALUED and (value := next(args, None)) is not None:
            field, kind = VALUED[name]
            values[field] = kind(value)
        else:
            raise ValueError(f"unexpected argument {name!r}")
    return values


class CliSink:
    """The answer to stdout as it comes; reasoning to stderr, dimmed on a colour terminal."""

    def __init__(self, prog: str, show_reasoning: bool, quiet: bool, dim: bool = False) -> None:
        self.prog = prog
        self.show_reasoning = show_reasoning
        self.quiet = quiet
        self.dim = dim
        self.last_answer = ""
        self.last_reasoning = ""

    def answer(self, text: str) -> None:
        if self.quiet or not text:
            return
        sys.stdout.write(text)
        sys.stdout.flush()
        self.last_answer = text

    def reasoning(self, text: str) -> None:
        if not self.show_reasoning or not text:
            return
        sys.stderr.write(f"\033[2m{text}\033[0m" if self.dim else text)
        sys.stderr.flush()
        self.last_reasoning = text

    def reasoning_end(self) -> None:
        if self.last_reasoning and not self.last_reasoning.endswith("\n"):
            sys.stderr.write("\n")
        self.last_reasoning = ""

    def notice(self, message: str) -> None:
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.stderr.flush()

    def end_answer(self) -> None:
        if self.last_answer and not self.last_answer.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()


def read_prompt(prompt: str | None, strip_newline: bool) -> str:
    """PROMPT, or stdin for None / `-`; stdin must be UTF-8. `strip_newline` drops one
    trailing newline, as local-infer.sh documents for a prompt read from stdin."""
    if prompt is not None and prompt != "-":
        return prompt
    data = sys.stdin.buffer.read()
    if strip_newline and data.endswith(b"\n"):
        data = data[:-1]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the prompt is not UTF-8 text") from None


def run(
    prompt: str | None,
    prog: str = "gpt-oss-py",
    as_json: bool = False,
    no_fallback: bool = False,
    strip_newline: bool = False,
    color: bool = False,
    **opts,
) -> int:
    """Answer the prompt as local-infer.sh documents; returns the exit status."""
    from .chat import ChatOptions, run_chat
    from .context import default_url

    sink = CliSink(prog, opts.get("show_reasoning", False), as_json, dim=color)
    error = None
    try:
        opts["url"] = opts.get("url") or default_url()
        text = read_prompt(prompt, strip_newline)
        if not text:
            raise InputError("the prompt is empty")
        check = os.environ.get("GPT_OSS_CONTEXT_CHECK", "1") != "0"
        options = ChatOptions(fallback=not no_fallback, context_check=check, **opts)
        try:
            result = run_chat(options, text, sink)
        except ValueError as err:  # e.g. the workspace vanished
            raise InputError(str(err)) from None
    except SuiteError as err:
        error, result = err, getattr(err, "result", None)  # the partial answer, if any
    if result is not None:
        if as_json:
            print(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            sink.end_answer()
    if error is None:
        return 0
    sink.notice(error.format_message())
    return error.exit_code


def main() -> int:
    try:
        options = parse_args(sys.argv[1:])
    except ValueError as err:
        sys.stderr.write(f"gpt-oss-py: {err} (chat_main takes local-infer.sh's options)\n")
        return EXIT_USAGE
    return run(None, **options)
