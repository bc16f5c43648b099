"""`gpt-oss-py bench ...`: the suite's one statistics command.

`bench summarize --rows` is the end of scripts/gpt-oss-bench.sh: the Bash loop measures;
this runs once afterwards (its start-up never lands inside a measured request) and prints
the summary as text, JSON or CSV, the histogram, and the comparison with a saved run; it
writes --save and the state file that gpt-oss-status.sh reads. `bench summarize
--samples` summarizes a plain list of numbers (make bench, its sections).
"""

from __future__ import annotations

import json
from typing import Any

import click

from .errors import InputError, SuiteError


@click.group()
def bench() -> None:
    """Summaries for gpt-oss-bench.sh."""


@bench.command("summarize")
@click.option(
    "--rows",
    "rows_path",
    metavar="FILE",
    help="The loop's rows: RUN CLIENT T0 T1 T2 TOKENS TIMINGS, tab-separated, µs.",
)
@click.option(
    "--samples",
    "samples_path",
    metavar="FILE",
    help="Instead: numbers, one per line; prints count, min, mean, stdev, p50, p90, p95, "
    "p99, max and spikes as JSON (the other options do not apply).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(("text", "json", "csv")),
    default="text",
    show_default=True,
    help="stdout: the text summary, the summary JSON, or the per-run rows as CSV.",
)
@click.option("--histogram", is_flag=True, help="A latency histogram (stderr unless text).")
@click.option("--save", "save_path", metavar="FILE", help="Also write summary + rows here.")
@click.option("--compare", "compare_path", metavar="FILE", help="A summary saved by --save.")
@click.option("--state-file", metavar="FILE", help="Where to keep the summary for status.")
@click.option("--prog", default="gpt-oss-bench.sh", help="Name for the messages on stderr.")
@click.option("--url", default="", help="The server measured.")
@click.option("--model", default="", help="Its model path (from /props).")
@click.option("--runs", type=click.IntRange(min=1), default=1, help="Runs asked for.")
@click.option("--warmup", type=click.IntRange(min=0), default=0, help="Warm-up runs.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=8, help="Tokens per run.")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, help="Clients.")
@click.option("--prompt-bytes", type=click.IntRange(min=0), default=0, help="Prompt length.")
def bench_summarize(
    rows_path: str | None,
    samples_path: str | None,
    output: str,
    histogram: bool,
    save_path: str | None,
    compare_path: str | None,
    state_file: str | None,
    prog: str,
    **params: Any,  # url, model, runs, warmup, max_tokens, concurrency, prompt_bytes
) -> None:
    """Summarize a bench run: runs, min/mean/stdev/p50/p90/p95/p99/max ms, TTFT p50/p95,
    median decode and prompt tok/s, spikes (> 2x p50), aggregate throughput."""
    from . import bench_report as report

    if (rows_path is None) == (samples_path is None):
        raise InputError("give --rows FILE or --samples FILE")
    path = rows_path or samples_path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if samples_path:
            from .stats import parse_samples, summarize

            click.echo(json.dumps(summarize(parse_samples(text))))
            return
        rows = report.parse_rows(text)
        summary = report.build_summary(rows, **params)
        if compare_path:
            old = report.load_summary(compare_path)
            summary["compare"] = report.compare_summaries(old, summary, compare_path)
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}") from None
    except ValueError as err:
        raise InputError(str(err)) from None

    for path, with_rows in ((state_file, False), (save_path, True)):
        if not path:
            continue
        try:
            report.save_summary(path, summary, rows if with_rows else None)
        except OSError as err:
            raise SuiteError(f"cannot write {path}: {err.strerror}") from None

    text_out = output == "text"
    if output == "json":
        click.echo(json.dumps(summary, ensure_ascii=False))
    elif output == "csv":
        click.echo(report.rows_csv(rows), nl=False)
    else:
        for line in report.format_text(summary):
            click.echo(line)
    if not text_out:
        click.echo(f"{prog}: {report.one_line(summary)}", err=True)
    if histogram:
        for line in report.latency_histogram(rows):
            click.echo(line, err=not text_out)


@bench.command("harmony-split")
@click.option("--url", required=True, metavar="URL", help="A running llama-server.")
@click.option("--runs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--prompt", default="Hello", show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--tools", is_flag=True, help="Offer the workspace tools in the prompt.")
def harmony_split(url: str, runs: int, prompt: str, max_tokens: int, tools: bool) -> None:
    """Where the Harmony path's time goes (JSON, ms medians): start-up, imports, render
    (harmony.py), /apply-template (the server's rendering, sent when it is Harmony),
    /props, /tokenize, /completion, parse. Used by make bench and gpt-oss-tune.sh."""
    from .harmony_split import measure

    click.echo(json.dumps(measure(url, runs, prompt, max_tokens, tools)))
