"""Latency statistics for bench, tune and make bench. Pure functions.

Percentiles use the **nearest-rank** method: the p-th percentile of n sorted samples is
the sample at rank ceil(p/100 * n) (1-based; rank 1 for p = 0). It is always one of the
measured values — no interpolation — so "p99 = 812 ms" means a request really took 812 ms.
`stdev` is the sample standard deviation (n - 1), 0.0 for a single sample. A *spike* is a
sample above twice the median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PERCENTILES = (50, 90, 95, 99)
SUMMARY_KEYS = ("count", "min", "mean", "stdev", "p50", "p90", "p95", "p99", "max", "spikes")
SPIKE_FACTOR = 2.0


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
    """Per-statistic change from `old` to `new` summaries: {key: change(old, new)}."""
    return {k: change(old[k], new[k]) for k in SUMMARY_KEYS if k in old and k in new}


def change(before: float, after: float) -> dict:
    """{old, new, delta, pct}: `pct` is the change in percent of `old` (None when `old` is 0)."""
    delta = after - before
    pct = None if before == 0 else delta / before * 100
    return {"old": before, "new": after, "delta": delta, "pct": pct}


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
    for v in values:  # all in bin 0 when high == low (step 1.0)
        counts[min(int((v - low) / step), bins - 1)] += 1
    tallest = max(counts)
    lines = []
    for i, n in enumerate(counts):
        start, end = low + i * step, (low + (i + 1) * step if high > low else high)
        bar = "#" * (round(n / tallest * width) if tallest else 0)
        lines.append(f"{start:10.2f} - {end:10.2f} | {bar:<{width}} {n}")
    return lines


def parse_samples(text: str) -> list[float]:
    """Numbers from text, one per line; blank lines and `#` comments are skipped, anything
    else is a ValueError naming the line."""
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
