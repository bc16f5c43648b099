"""`gpt-oss-py gguf info|check`: read a GGUF file's header offline (gguf_header.py,
model_check.py); `gpt-oss-fast.sh --check-model` runs `gguf check`. Registered in cli.py."""

from __future__ import annotations

import json

import click

from .errors import InputError

file_argument = click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))


@click.group()
def gguf() -> None:
    """Read GGUF model files offline: metadata, split parts, a usability check."""


@gguf.command("info")
@file_argument
def gguf_info(path: str) -> None:
    """Print FILE's metadata as JSON: every key as written (e.g. gpt-oss.block_count),
    plus GGUF.tensor_count; arrays over 1024 items as {"array_of", "length"}."""
    from .gguf_header import GGUFError, json_safe, read_metadata

    try:
        metadata = read_metadata(path)
    except GGUFError as err:
        raise InputError(str(err)) from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}") from None
    click.echo(json.dumps(json_safe(metadata), ensure_ascii=False))


@gguf.command("check")
@file_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def gguf_check(path: str, as_json: bool) -> None:
    """Check a GGUF model before a start: readable, GGUF, architecture and quant, every
    split part present and complete, and whether it fits this machine's memory. The
    report goes to stdout either way; exit 7 when the model is not usable.

    JSON: {"path", "ok", "problems", "warnings", "gguf_version", "architecture", "name",
    "quant", "file_type", "tensor_count", "parts": [{"path", "present", "bytes",
    "problem"}], "size_bytes", "memory": {"total_bytes", "available_bytes", "verdict"}}.
    """
    from .model_check import check_model, format_report, require_usable

    report = check_model(path)
    click.echo(json.dumps(report) if as_json else format_report(report))
    require_usable(report)
