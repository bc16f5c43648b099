"""Latency statistics."""

from __future__ import annotations

import math

import pytest
from gpt_oss_suite.stats import compare, histogram, parse_samples, percentile, summarize


def test_summary_of_known_samples():
    summary = summarize([5, 1, 4, 2, 3, 10, 6, 7, 8, 9])
    assert summary["count"] == 10
    assert (summary["min"], summary["max"], summary["mean"]) == (1, 10, 5.5)
    assert summary["stdev"] == pytest.approx(math.sqrt(55 / 6))
    # nearest rank: ceil(p/100 * 10)
    assert (summary["p50"], summary["p90"], summary["p95"], summary["p99"]) == (5, 9, 10, 10)
    assert summary["spikes"] == 0  # > 2 x p50 = 10: none


def test_one_sample():
    summary = summarize([42])
    assert summary["stdev"] == 0.0
    assert {summary[k] for k in ("min", "mean", "p50", "p90", "p95", "p99", "max")} == {42}


def test_all_equal_samples():
    summary = summarize([3.0] * 7)
    assert (summary["stdev"], summary["p99"], summary["spikes"]) == (0.0, 3.0, 0)


def test_empty_is_an_error():
    with pytest.raises(ValueError, match="no samples"):
        summarize([])


def test_nan_is_an_error():
    with pytest.raises(ValueError, match="NaN"):
        summarize([1.0, float("nan")])


def test_spikes_count_samples_over_twice_the_median():
    assert summarize([10, 10, 10, 21, 20, 100])["spikes"] == 2


def test_percentile_is_always_a_sample():
    data = sorted([0.5, 1.7, 2.2, 9.9])
    for p in range(0, 101, 5):
        assert percentile(data, p) in data
    assert percentile(data, 0) == 0.5
    assert percentile(data, 25) == 0.5
    assert percentile(data, 26) == 1.7
    with pytest.raises(ValueError):
        percentile(data, 101)


def test_compare_gives_deltas_and_percent():
    old, new = summarize([10, 10, 10]), summarize([12, 12, 15])
    deltas = compare(old, new)
    assert deltas["p50"] == {"old": 10.0, "new": 12.0, "delta": 2.0, "pct": 20.0}
    assert deltas["stdev"]["pct"] is None  # old stdev was 0
    assert deltas["count"]["delta"] == 0


def test_histogram_lines():
    lines = histogram([1, 1, 2, 10], bins=3, width=4)
    assert len(lines) == 3
    assert lines[0].endswith("#### 3")
    assert lines[-1].endswith("#    1")
    assert histogram([5, 5], bins=4) == [histogram([5, 5], bins=4)[0]]


def test_parse_samples_one_number_per_line():
    assert parse_samples("1\n\n# note\n2.5\n") == [1.0, 2.5]
    with pytest.raises(ValueError, match="line 2"):
        parse_samples("1\nfast\n")
