"""`gpt-oss-py`: the thin click layer over the Python core (its commands: `--help`).
stdout is data; errors are one line on stderr, `gpt-oss-py: ...`.

Library modules are imported inside each command so `--help` and `render` start fast.
"""

from __future__ import annotations

import json
import sys

import click

from . import suite_version
from .cli_bench import bench  # gpt-oss-bench.sh, make bench
from .cli_chat import chat  # local-infer.sh
from .cli_gguf import gguf  # gpt-oss-fast.sh --check-model
from .cli_options import options  # make install
from .errors import EXIT_CONTEXT, InputError, SuiteError

REASONING_CHOICES = ("low", "medium", "high")
PARSE_FIELDS = ("final", "analysis", "commentary", "stop", "complete", "tool_calls")


def _read_input(source: str) -> str:
    """The text of FILE, or of stdin for `-`."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as handle:
                data = handle.read()
    except OSError as err:
        raise InputError(f"cannot read {source}: {err.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{'stdin' if source == '-' else source}: not UTF-8 text") from None


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


# The input every reading command takes: a file, or stdin as `-` (the default).
source_argument = click.argument("source", default="-", metavar="[FILE|-]")


class SuiteGroup(click.Group):
    """A group that shows a SuiteError as one line, `gpt-oss-py: message`, and exits
    with its code (errors.py has no click in it, so the Harmony path can skip click)."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except SuiteError as err:
            click.echo(f"gpt-oss-py: {err.format_message()}", err=True)
            ctx.exit(err.exit_code)


@click.group(cls=SuiteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    suite_version(), prog_name="gpt-oss-py", message="%(prog)s (gpt-oss-suite) %(version)s"
)
def cli() -> None:
    """Harmony rendering/parsing, context checks and statistics for gpt-oss on llama.cpp."""


# The subcommands: harmony and context here, the others in their own cli_*.py modules.
harmony = click.Group(
    "harmony", help="Render conversations to Harmony prompts and parse Harmony replies."
)
context = click.Group("context", help="Check prompts against the server's per-slot context.")
for _command in (harmony, context, bench, chat, gguf, options):
    cli.add_command(_command)


@harmony.command("render")
@source_argument
@click.option(
    "--date", metavar="YYYY-MM-DD", help="Current date in the system message (default: today)."
)
@click.option(
    "--reasoning",
    type=click.Choice(REASONING_CHOICES),
    help="Reasoning effort (default: the input's, else medium).",
)
def harmony_render(source: str, date: str | None, reasoning: str | None) -> None:
    """Print the Harmony prompt for a JSON conversation, exactly as llama.cpp renders it.

    The input is an /apply-template body: {"messages": [...], "tools": [...],
    "reasoning_effort": ..., "chat_template_kwargs": {"model_identity": ...}}, plus
    optional "date" and "knowledge_cutoff". The prompt ends with <|start|>assistant and
    no newline. Invalid input (e.g. a broken tool schema) exits 2.
    """
    from .harmony import load_conversation, render_conversation

    name = "stdin" if source == "-" else source
    conversation = load_conversation(_read_input(source), name)
    prompt = render_conversation(conversation, date=date, reasoning_effort=reasoning)
    click.echo(prompt, nl=False)


@harmony.command("parse")
@source_argument
@click.option("--openai", is_flag=True, help="The input is a /v1/chat/completions JSON reply.")
@click.option(
    "--stop-type", metavar="TYPE", help="The reply's stop_type (eos, limit, ...) for raw text."
)
@click.option(
    "--field",
    type=click.Choice(PARSE_FIELDS),
    help="Print only this field (text raw, others as JSON).",
)
def harmony_parse(source: str, openai: bool, stop_type: str | None, field: str | None) -> None:
    """Parse a gpt-oss reply into JSON: final, analysis, commentary, tool_calls, stop,
    complete, special_tokens_stripped, warnings, messages.

    Reads raw Harmony text (special tokens kept), a /completion JSON reply, or with
    --openai (or when it has "choices") an OpenAI-shape reply. Warnings also go to stderr.
    """
    from .harmony_parse import parse_any, parse_completion

    text = _read_input(source)
    try:
        result = parse_completion(text, stop_type) if stop_type else parse_any(text, openai)
    except ValueError as err:
        raise InputError(str(err)) from None
    for warning in result["warnings"]:
        click.echo(f"gpt-oss-py: {warning}", err=True)
    if field is None:
        _echo_json(result)
    elif isinstance(result[field], str):
        click.echo(result[field], nl=False)
    else:
        _echo_json(result[field])


@context.command("check")
@source_argument
@click.option(
    "--url",
    metavar="URL",
    help="Server URL (default: $GPT_OSS_URL or http://$GPT_OSS_HOST:$GPT_OSS_PORT).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=0),
    required=True,
    help="Tokens to reserve for the reply.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def context_check(source: str, url: str | None, max_tokens: int, as_json: bool) -> None:
    """Count the prompt with the server's /tokenize and compare prompt + max tokens with
    the per-slot n_ctx from /props. Exit 5 when it does not fit; 3 unreachable, 4 loading,
    6 server error. GPT_OSS_API_KEY is sent as a bearer token.

    JSON: {"fits", "prompt_tokens", "max_tokens", "needed", "n_ctx", "free", "exact"}.
    """
    from .context import check_context, default_url, format_report

    prompt = _read_input(source)
    report = check_context(url or default_url(), prompt, max_tokens)
    if as_json:
        _echo_json(report)
    else:
        click.echo(format_report(report))
    if not report["fits"]:
        sys.exit(EXIT_CONTEXT)


@cli.command("kv-estimate")
@click.argument("model", metavar="MODEL.gguf")
@click.option("--ctx", type=click.IntRange(min=1), required=True, help="llama-server -c.")
@click.option("--parallel", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--kv-type",
    type=click.Choice(["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"]),
    default="f16",
    show_default=True,
)
@click.option("--unified", is_flag=True, help="One KV pool shared by the slots (-kvu).")
@click.option("--ubatch", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--per-slot", type=int, hidden=True, help="The per-request cap (shown only).")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
def kv_estimate(
    model: str,
    ctx: int,
    parallel: int,
    kv_type: str,
    unified: bool,
    ubatch: int,
    per_slot: int | None,
    as_json: bool,
) -> None:
    """The KV cache memory of a llama-server start with this model and context, from the
    GGUF header (gpt-oss-fast.sh --kv-estimate)."""
    from .gguf_header import GGUFError, read_metadata
    from .kv_estimate import describe, estimate

    try:
        report = estimate(read_metadata(model), ctx, parallel, kv_type, unified, ubatch)
    except (GGUFError, OSError, ValueError) as err:
        raise InputError(f"{model}: {err}") from None
    report["max_tokens_per_request"] = per_slot or report["cells_per_stream"]
    if as_json:
        _echo_json(report)
    else:
        click.echo(describe(report))


def main() -> None:
    """Entry point of `gpt-oss-py`."""
    cli(prog_name="gpt-oss-py")


if __name__ == "__main__":
    main()
