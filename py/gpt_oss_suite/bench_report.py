"""gpt-oss-bench.sh's results: per-run rows → summary, text, CSV, saved files, comparisons.

The bench loop (Bash + curl) writes one tab-separated line per measured run:

    RUN  CLIENT  T0  T1  T2  TOKENS  TIMINGS

T0/T1/T2 are microseconds since the epoch: request start, first byte of the first SSE
event, end of the stream. TIMINGS is the flat ``timings`` object of the server's final
event. The statistics themselves come from :mod:`.stats`.

The summary (``build_summary``) is the stable ``--json`` shape documented in
scripts/gpt-oss-bench.sh; ``save_summary`` adds the rows for ``--save`` and the state
file that gpt-oss-status.sh reads (``decode_tps_median`` and ``model`` at the top level).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .stats import SPIKE_FACTOR, change, compare, histogram, summarize

SCHEMA = 1
TOOL = "gpt-oss-bench"
CSV_FIELDS = (
    "run",
    "client",
    "start_ms",
    "ms",
    "ttft_ms",
    "prompt_n",
    "prompt_ms",
    "prompt_tps",
    "predicted_n",
    "predicted_ms",
    "decode_tps",
)


def parse_rows(text: str) -> list[dict]:
    """The loop's rows as dicts with CSV_FIELDS; ``start_ms`` counts from the first start.

    Raises ValueError (with the line number) for a line that is not a row."""
    raw = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 6)
        if len(parts) != 7:
            raise ValueError(f"rows line {number}: expected 7 tab-separated fields")
        try:
            run, client, t0, t1, t2, tokens = (int(p) for p in parts[:6])
            timings = json.loads(parts[6])
        except ValueError:
            raise ValueError(f"rows line {number}: not a bench row: {line[:60]!r}") from None
        if not isinstance(timings, dict):
            raise ValueError(f"rows line {number}: timings is not an object")
        raw.append((run, client, t0, t1, t2, tokens, timings))
    first = min((r[2] for r in raw), default=0)
    rows = []
    for run, client, t0, t1, t2, tokens, timings in sorted(raw, key=lambda r: (r[2], r[0])):
        rows.append(
            {
                "run": run,
                "client": client,
                "start_ms": (t0 - first) / 1000,
                "ms": (t2 - t0) / 1000,
                "ttft_ms": (t1 - t0) / 1000,
                "prompt_n": _number(timings.get("prompt_n")),
                "prompt_ms": _number(timings.get("prompt_ms")),
                "prompt_tps": _number(timings.get("prompt_per_second")),
                "predicted_n": _number(timings.get("predicted_n"), default=tokens),
                "predicted_ms": _number(timings.get("predicted_ms")),
                "decode_tps": _number(timings.get("predicted_per_second")),
            }
        )
    return rows


def _number(value: Any, default: float | None = None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value


def _median(values: Iterable[float | None]) -> float | None:
    """Nearest-rank p50 of the values that are there (None when none are)."""
    present = [v for v in values if v is not None]
    return summarize(present)["p50"] if present else None


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _whole(value: float | None) -> float | int | None:
    """Token counts stay integers in the JSON (8, not 8.0)."""
    return int(value) if value is not None and float(value).is_integer() else value


def _rounded(stats: Mapping[str, Any]) -> dict:
    """A stats summary with its floats rounded to the microsecond (the clock's grain)."""
    return {k: _round(v) if isinstance(v, float) else v for k, v in stats.items()}


def build_summary(
    rows: Sequence[Mapping[str, Any]],
    *,
    url: str,
    model: str | None,
    runs: int,
    warmup: int,
    max_tokens: int,
    concurrency: int,
    prompt_bytes: int,
    created: str | None = None,
) -> dict:
    """The summary of measured rows (the ``--json`` shape). ValueError without rows."""
    if not rows:
        raise ValueError("no runs to summarize")
    latency = _rounded(summarize(r["ms"] for r in rows))
    ttft = _rounded(summarize(r["ttft_ms"] for r in rows))
    wall_ms = max(r["start_ms"] + r["ms"] for r in rows) - min(r["start_ms"] for r in rows)
    tokens = _whole(sum(r["predicted_n"] or 0 for r in rows))
    seconds = wall_ms / 1000
    return {
        "schema": SCHEMA,
        "tool": TOOL,
        "created": created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "url": url,
        "model": model or None,
        "params": {
            "runs": runs,
            "warmup": warmup,
            "max_tokens": max_tokens,
            "concurrency": concurrency,
            "prompt_bytes": prompt_bytes,
        },
        "runs": len(rows),
        "latency_ms": latency,
        "ttft_ms": ttft,
        "decode_tps_median": _round(_median(r["decode_tps"] for r in rows)),
        "prompt_tps_median": _round(_median(r["prompt_tps"] for r in rows)),
        "tokens_median": _whole(_median(r["predicted_n"] for r in rows)),
        "spikes": latency["spikes"],
        "spike_threshold_ms": _round(SPIKE_FACTOR * latency["p50"]),
        "aggregate": {
            "wall_ms": _round(wall_ms),
            "requests_per_s": _round(len(rows) / seconds) if seconds > 0 else None,
            "decode_tps": _round(tokens / seconds) if seconds > 0 else None,
            "tokens": tokens,
        },
        "compare": None,
    }


def compare_summaries(old: Mapping[str, Any], new: Mapping[str, Any], file: str) -> dict:
    """The ``compare`` member: change from a saved summary ``old`` to ``new``."""
    out: dict[str, Any] = {"file": file, "created": old.get("created")}
    for key in ("latency_ms", "ttft_ms"):
        out[key] = compare(old.get(key) or {}, new.get(key) or {})
    for key in ("decode_tps_median", "prompt_tps_median"):
        before, after = old.get(key), new.get(key)
        out[key] = None if before is None or after is None else change(before, after)
    return out


def load_summary(path: str) -> dict:
    """A summary saved by ``--save`` (or the state file); ValueError when it is not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    except ValueError:
        raise ValueError(f"{path}: not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("latency_ms"), dict):
        raise ValueError(f"{path}: not a summary saved by gpt-oss-bench.sh --save")
    return data


def save_summary(path: str, summary: Mapping[str, Any], rows: Sequence[Mapping] | None) -> None:
    """Write the summary (plus ``rows`` when given) atomically: a reader never sees half."""
    data = dict(summary)
    if rows is not None:
        data["rows"] = [dict(r) for r in rows]
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def rows_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV with a header; missing values are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        writer.writerow(["" if row.get(k) is None else _cell(row[k]) for k in CSV_FIELDS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _f(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_text(summary: Mapping[str, Any]) -> list[str]:
    """The human summary, one item per line."""
    p = summary["params"]
    lat, ttft, agg = summary["latency_ms"], summary["ttft_ms"], summary["aggregate"]
    lines = [
        f"runs          {summary['runs']} x {p['max_tokens']} tokens, concurrency "
        f"{p['concurrency']}, warm-up {p['warmup']}, prompt {p['prompt_bytes']} bytes",
        f"latency ms    min {_f(lat['min'])}  mean {_f(lat['mean'])}  stdev {_f(lat['stdev'])}",
        f"              p50 {_f(lat['p50'])}  p90 {_f(lat['p90'])}  p95 {_f(lat['p95'])}  "
        f"p99 {_f(lat['p99'])}  max {_f(lat['max'])}",
        f"TTFT ms       p50 {_f(ttft['p50'])}  p95 {_f(ttft['p95'])}  (first streamed byte)",
        f"decode        {_f(summary['decode_tps_median'])} tok/s (median, server timings)",
        f"prompt        {_f(summary['prompt_tps_median'])} tok/s (median, server timings)",
        f"spikes        {summary['spikes']} (runs over 2x p50 = "
        f"{_f(summary['spike_threshold_ms'])} ms)",
        f"aggregate     {_f(agg['requests_per_s'], 2)} requests/s, "
        f"{_f(agg['decode_tps'])} decode tok/s over {_f(agg['wall_ms'])} ms",
    ]
    if summary.get("compare"):
        lines += format_compare(summary["compare"])
    return lines


def format_compare(cmp: Mapping[str, Any]) -> list[str]:
    """Lines showing the change against a saved run (``old -> new (+x%)``)."""
    when = f" ({cmp['created']})" if cmp.get("created") else ""
    lines = [f"compared with {cmp['file']}{when}"]
    labels = [
        ("latency_ms", "p50", "p50 ms"),
        ("latency_ms", "p95", "p95 ms"),
        ("latency_ms", "mean", "mean ms"),
        ("latency_ms", "max", "max ms"),
        ("ttft_ms", "p50", "TTFT p50 ms"),
        (None, "decode_tps_median", "decode tok/s"),
        (None, "prompt_tps_median", "prompt tok/s"),
    ]
    for group, key, label in labels:
        row = (cmp.get(group) or {}).get(key) if group else cmp.get(key)
        if row:
            pct = "" if row.get("pct") is None else f" ({row['pct']:+.1f}%)"
            lines.append(f"  {label:<14}{_f(row['old'])} -> {_f(row['new'])}{pct}")
    spikes = (cmp.get("latency_ms") or {}).get("spikes")
    if spikes:
        lines.append(f"  {'spikes':<14}{spikes['old']} -> {spikes['new']}")
    return lines


def one_line(summary: Mapping[str, Any]) -> str:
    """A one-line recap (for stderr when stdout carries JSON or CSV)."""
    lat = summary["latency_ms"]
    return (
        f"{summary['runs']} runs: p50 {_f(lat['p50'])} ms, p95 {_f(lat['p95'])} ms, "
        f"TTFT p50 {_f(summary['ttft_ms']['p50'])} ms, decode "
        f"{_f(summary['decode_tps_median'])} tok/s, {summary['spikes']} spikes"
    )


def latency_histogram(rows: Sequence[Mapping[str, Any]], bins: int = 10) -> list[str]:
    """A text histogram of the end-to-end ms, with a heading."""
    return ["latency histogram (ms)", *histogram([r["ms"] for r in rows], bins=bins)]
