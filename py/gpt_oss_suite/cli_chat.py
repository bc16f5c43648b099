"""`gpt-oss-py chat`: `chat_main.run` (local-infer.sh's Harmony/chat path) behind click."""

from __future__ import annotations

import sys

import click


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
@click.option("--date", hidden=True, help="Pin harmony.py's system date (tests).")
def chat(prompt: str | None, prog: str, as_json: bool, no_fallback: bool, **opts) -> None:
    """Answer PROMPT (or stdin) through Harmony (gpt-oss) or /v1/chat/completions
    (openai), with optional workspace tools; falls back to a raw completion when the
    request does not fit the per-slot context. See `local-infer.sh --help`.
    """
    from .chat_main import run

    sys.exit(run(prompt, prog, as_json, no_fallback, **opts))
