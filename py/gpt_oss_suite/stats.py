"""Latency statistics and reply timings shared by status and bench. Pure functions.

Percentiles use the **nearest-rank** method: the p-th percentile of n sorted samples is
the sample at rank ceil(p/100 * n) (1-based; rank 1 for p = 0). It is always one of the
measured values — no interpolation — so "p99 = 812 ms" means a request really took 812 ms.
`stdev` is the sample standard deviation (n - 1), 0.0 for a single sample. A *spike* is a
sample above twice the median.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PERCENTILES = (50, 90, 95, 99)
SUMMARY_KEYS = ("count", "min", "mean", "stdev", "p50", "p90", "p95", "p99", "max", "spikes")
SPIKE_FACTOR = 2.0
TIMING_KEYS = (
    "prompt_n",
    "prompt_ms",
    "prompt_per_token_ms",
    "prompt_per_second",
    "predicted_n",
    "predicted_ms",
    "predicted_per_token_ms",
    "predicted_per_second",
    "cache_n",
)


def percentile(sorted_samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted samples (0 <= p <= 100)."""
    if not sorted_samples:
        raise ValueError("no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    rank = max(1, math.ceil(p / 100 * len(sorted_samples)))
    return sorted_samples[rank - 1]


def summarize(samples: Iterable[float]) -> dict:
    """count, min, mean, stdev, p50, p90, p95, p99, max, spikes; ValueError when empty."""
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no samples to summarize")
    if any(math.isnan(v) for v in values):
        raise ValueError("samples contain NaN")
    count = len(values)
    mean = math.fsum(values) / count
    stdev = 0.0
    if count > 1:
        stdev = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (count - 1))
    summary: dict[str, Any] = {"count": count, "min": values[0], "mean": mean, "stdev": stdev}
    for p in PERCENTILES:
        summary[f"p{p}"] = percentile(values, p)
    summary["max"] = values[-1]
    summary["spikes"] = sum(1 for v in values if v > SPIKE_FACTOR * summary["p50"])
    return summary


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict:
    """Per-statistic change from `old` to `new` summaries: {key: {old, new, delta, pct}}.

    `pct` is the change in percent of `old` (None when `old` is 0)."""
    out = {}
    for key in SUMMARY_KEYS:
        if key not in old or key not in new:
            continue
        before, after = old[key], new[key]
        delta = after - before
        pct = None if before == 0 else delta / before * 100
        out[key] = {"old": before, "new": after, "delta": delta, "pct": pct}
    return out


def histogram(samples: Sequence[float], bins: int = 10, width: int = 40) -> list[str]:
    """A text histogram, one line per bin: `  12.0 –   15.0 | ####      7`."""
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no samples")
    if bins < 1 or width < 1:
        raise ValueError("bins and width must be >= 1")
    low, high = values[0], values[-1]
    if high == low:
        bins = 1
    step = (high - low) / bins if high > low else 1.0
    counts = [0] * bins
    for v in values:
        index = min(int((v - low) / step), bins - 1) if high > low else 0
        counts[index] += 1
    tallest = max(counts)
    lines = []
    for i, n in enumerate(counts):
        start, end = low + i * step, (low + (i + 1) * step if high > low else high)
        bar = "#" * (round(n / tallest * width) if tallest else 0)
        lines.append(f"{start:10.2f} - {end:10.2f} | {bar:<{width}} {n}")
    return lines


def format_summary(summary: Mapping[str, Any], unit: str = "") -> str:
    """One human line: `n=20 min=1.00 mean=… p99=… max=… spikes=0`."""
    parts = [f"n={summary['count']}"]
    for key in SUMMARY_KEYS[1:-1]:
        parts.append(f"{key}={summary[key]:.2f}{unit}")
    parts.append(f"spikes={summary['spikes']}")
    return " ".join(parts)


def parse_samples(text: str, column: str | None = None) -> list[float]:
    """Numbers from text: one per line, or with `column` a CSV column (header name or
    1-based index). Blank lines and `#` comments are skipped; a bad value is a ValueError."""
    if column is None:
        values = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                values.append(float(line))
            except ValueError:
                raise ValueError(f"line {number}: not a number: {line[:40]!r}") from None
        return values
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    if not rows:
        return []
    if column.isdigit():
        index, data = int(column) - 1, rows
        if index < 0:
            raise ValueError("CSV columns count from 1")
        if data and not _is_number(data[0][index] if index < len(data[0]) else ""):
            data = rows[1:]  # a header row
    else:
        if column not in rows[0]:
            raise ValueError(f"no CSV column {column!r} (have: {', '.join(rows[0])})")
        index, data = rows[0].index(column), rows[1:]
    values = []
    for row in data:
        if index >= len(row) or not row[index].strip():
            continue
        if not _is_number(row[index]):
            raise ValueError(f"column {column}: not a number: {row[index][:40]!r}")
        values.append(float(row[index]))
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def extract_timings(reply: Mapping[str, Any]) -> dict:
    """The timing fields of a `/completion` or OpenAI reply (missing ones are None):
    prompt/predicted n, ms, per-token ms, tok/s, cache_n, plus tokens_cached,
    tokens_evaluated and tokens_predicted when the reply has them."""
    timings = reply.get("timings") if isinstance(reply.get("timings"), Mapping) else {}
    out = {key: timings.get(key) for key in TIMING_KEYS}
    for key in ("tokens_cached", "tokens_evaluated", "tokens_predicted"):
        out[key] = reply.get(key)
    return out


def sse_payloads(text: str) -> list[dict]:
    """The JSON payloads of an SSE stream (`data: {...}` lines; `[DONE]` ends it)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            payload = json.loads(data)
        except ValueError:
            continue
        if isinstance(payload, dict):
            out.append(payload)
    return out


def payload_text(payload: Mapping[str, Any]) -> str:
    """The generated text in one stream payload, whichever endpoint sent it."""
    if isinstance(payload.get("content"), str):
        return payload["content"]
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        choice = choices[0]
        if isinstance(choice.get("text"), str):
            return choice["text"]
        delta = choice.get("delta") or {}
        if isinstance(delta, Mapping):
            parts = [delta.get("reasoning_content"), delta.get("content")]
            if delta.get("tool_calls"):
                parts.append(json.dumps(delta["tool_calls"]))
            return "".join(p for p in parts if isinstance(p, str))
    return ""


def time_to_first_token_ms(timed_lines: Iterable[tuple[float, str]]) -> float | None:
    """TTFT from an SSE stream: `timed_lines` are (seconds since the request was sent,
    line) pairs; the answer is the time of the first payload carrying text, in ms."""
    for seconds, line in timed_lines:
        for payload in sse_payloads(line):
            if payload_text(payload):
                return seconds * 1000.0
    return None
