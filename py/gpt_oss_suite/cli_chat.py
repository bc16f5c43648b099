"""`gpt-oss-py chat`: the Harmony/tool and OpenAI-chat paths of `local-infer.sh`.

The script validates its options and passes them here, the prompt on stdin (or as the
PROMPT argument). Messages are prefixed with `--prog` (the calling script's name) so the
user sees one consistent `local-infer.sh: ...` voice. Exit codes: errors.py.
"""

from __future__ import annotations

import json
import os
import sys

import click

from .errors import InputError, SuiteError


class _CliSink:
    """The answer to stdout as it comes; reasoning to stderr, dimmed on a colour terminal."""

    def __init__(self, prog: str, show_reasoning: bool, quiet: bool) -> None:
        from .chat import color_ok

        self.prog = prog
        self.show_reasoning = show_reasoning
        self.quiet = quiet
        self.dim = color_ok(sys.stderr)
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


def _read_prompt(prompt: str | None) -> str:
    if prompt is not None and prompt != "-":
        return prompt
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the prompt is not UTF-8 text") from None


@click.command("chat")
@click.argument("prompt", required=False, metavar="[PROMPT|-]")
@click.option("--backend", type=click.Choice(["gpt-oss", "openai"]), default="gpt-oss")
@click.option("--url", metavar="URL", help="Server URL (default: $GPT_OSS_URL).")
@click.option("--model", metavar="NAME", help="Model name sent to the server.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--temperature", type=click.FloatRange(min=0))
@click.option("--top-p", type=click.FloatRange(min=0))
@click.option("--seed", type=click.IntRange(min=0))
@click.option("--system", metavar="TEXT", help="Instructions (Harmony developer message).")
@click.option("--reasoning", type=click.Choice(["low", "medium", "high"]))
@click.option("--tools", is_flag=True, help="Offer the read-only workspace tools.")
@click.option("--workspace", default=".", show_default=True, metavar="DIR")
@click.option("--max-tool-turns", type=click.IntRange(min=0), default=4, show_default=True)
@click.option("--stream", is_flag=True)
@click.option("--show-reasoning", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--timeout", type=click.FloatRange(min=0), default=300.0, show_default=True)
@click.option("--no-fallback", is_flag=True)
@click.option("--prog", default="gpt-oss-py", hidden=True)
@click.option("--date", hidden=True, help="Pin the Harmony system date (tests).")
def chat(prompt: str | None, prog: str, as_json: bool, no_fallback: bool, **opts) -> None:
    """Answer PROMPT (or stdin) through Harmony (gpt-oss) or /v1/chat/completions
    (openai), with optional workspace tools; falls back to a raw completion when the
    request does not fit the per-slot context. See `local-infer.sh --help`.
    """
    from .chat import ChatOptions, run_chat

    sink = _CliSink(prog, opts["show_reasoning"], as_json)
    url = opts.pop("url") or _default_url()
    try:
        text = _read_prompt(prompt)
        if not text:
            raise InputError("the prompt is empty")
        options = ChatOptions(
            url=url,
            fallback=not no_fallback,
            context_check=os.environ.get("GPT_OSS_CONTEXT_CHECK", "1") != "0",
            **opts,
        )
        try:
            result = run_chat(options, text, sink)  # type: ignore[arg-type]
        except ValueError as err:  # e.g. the workspace vanished
            raise InputError(str(err)) from None
    except SuiteError as err:
        partial = getattr(err, "result", None)
        if partial is not None:
            if as_json:
                click.echo(json.dumps(partial.to_json(), ensure_ascii=False))
            else:
                sink.end_answer()
        sink.notice(err.format_message())
        sys.exit(err.exit_code)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        sink.end_answer()


def _default_url() -> str:
    host = os.environ.get("GPT_OSS_HOST", "127.0.0.1")
    port = os.environ.get("GPT_OSS_PORT", "8000")
    return (os.environ.get("GPT_OSS_URL") or f"http://{host}:{port}").rstrip("/")


if __name__ == "__main__":
    chat()
