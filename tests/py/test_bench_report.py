"""bench_report (gpt-oss-bench.sh's statistics end) and `gpt-oss-py bench summarize`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gpt_oss_suite import bench_report as report
from gpt_oss_suite.cli import cli

T = 1_764_000_000_000_000  # a start time in µs since the epoch


def timings(prompt_n=6, prompt_ms=3.0, prompt_tps=2000.0, predicted_n=8, decode_tps=100.0):
    return {
        "cache_n": 0,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_ms,
        "prompt_per_token_ms": 0.5,
        "prompt_per_second": prompt_tps,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_n * 10.0,
        "predicted_per_token_ms": 10.0,
        "predicted_per_second": decode_tps,
    }


def row_line(run, start_us, ttft_us, total_us, client=1, **kw) -> str:
    t = timings(**kw)
    return "\t".join(
        str(v)
        for v in (
            run,
            client,
            start_us,
            start_us + ttft_us,
            start_us + total_us,
            t["predicted_n"],
            json.dumps(t),
        )
    )


def five_rows_text() -> str:
    """Runs of 100, 110, 120, 130 and 400 ms (one spike), 20 ms TTFT each, back to back."""
    lines, start = [], T
    for i, ms in enumerate((100, 110, 120, 130, 400), 1):
        lines.append(row_line(i, start, 20_000, ms * 1000, decode_tps=50.0 + i))
        start += ms * 1000 + 1000  # 1 ms between runs
    return "\n".join(lines) + "\n"


def summary_of(text: str, **kw) -> dict:
    params = dict(
        url="http://127.0.0.1:8000",
        model="/m/gpt-oss-20b-Q4_0.gguf",
        runs=5,
        warmup=1,
        max_tokens=8,
        concurrency=1,
        prompt_bytes=4,
        created="2026-01-05T10:00:00Z",
    )
    params.update(kw)
    return report.build_summary(report.parse_rows(text), **params)


# --------------------------------------------------------------------------- rows


def test_parse_rows_converts_microseconds_to_ms_from_the_first_start():
    rows = report.parse_rows(five_rows_text())
    assert [r["run"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["start_ms"] == 0
    assert rows[1]["start_ms"] == 101.0
    assert [r["ms"] for r in rows] == [100, 110, 120, 130, 400]
    assert {r["ttft_ms"] for r in rows} == {20.0}
    assert rows[0]["prompt_n"] == 6 and rows[0]["prompt_tps"] == 2000.0
    assert rows[0]["predicted_n"] == 8 and rows[0]["decode_tps"] == 51.0


def test_parse_rows_orders_concurrent_rows_by_start_time():
    text = row_line(2, T + 5000, 1000, 9000, client=2) + "\n" + row_line(1, T, 1000, 9000) + "\n"
    rows = report.parse_rows(text)
    assert [(r["run"], r["client"], r["start_ms"]) for r in rows] == [(1, 1, 0), (2, 2, 5.0)]


def test_parse_rows_skips_blank_lines_and_tolerates_missing_timings():
    text = "\n" + "\t".join(["1", "1", str(T), str(T + 10), str(T + 20), "3", "{}"]) + "\n\n"
    (row,) = report.parse_rows(text)
    assert row["predicted_n"] == 3  # the loop's own token count stands in
    assert row["decode_tps"] is None and row["prompt_tps"] is None


@pytest.mark.parametrize(
    "line, message",
    [
        ("1\t1\t2\t3", "expected 7 tab-separated fields"),
        ("1\t1\tx\t3\t4\t5\t{}", "not a bench row"),
        ("1\t1\t2\t3\t4\t5\t{broken", "not a bench row"),
        ("1\t1\t2\t3\t4\t5\t[1]", "timings is not an object"),
    ],
)
def test_parse_rows_rejects_what_is_not_a_row(line, message):
    with pytest.raises(ValueError, match=message):
        report.parse_rows(line + "\n")


def test_parse_rows_of_nothing_is_empty():
    assert report.parse_rows("") == []


# --------------------------------------------------------------------------- summary


def test_summary_statistics_medians_spikes_and_aggregate():
    s = summary_of(five_rows_text())
    assert s["schema"] == 1 and s["tool"] == "gpt-oss-bench"
    assert s["created"] == "2026-01-05T10:00:00Z"
    assert s["model"] == "/m/gpt-oss-20b-Q4_0.gguf"
    assert s["params"] == {
        "runs": 5,
        "warmup": 1,
        "max_tokens": 8,
        "concurrency": 1,
        "prompt_bytes": 4,
    }
    lat = s["latency_ms"]
    assert (lat["count"], lat["min"], lat["max"], lat["mean"]) == (5, 100, 400, 172)
    # nearest rank: p50 of 5 is the 3rd value, p90/p95/p99 the 5th
    assert (lat["p50"], lat["p90"], lat["p95"], lat["p99"]) == (120, 400, 400, 400)
    assert lat["stdev"] == pytest.approx(127.945, abs=1e-3)
    assert s["spikes"] == 1 and lat["spikes"] == 1
    assert s["spike_threshold_ms"] == 240
    assert s["ttft_ms"]["p50"] == 20 and s["ttft_ms"]["p95"] == 20
    assert s["decode_tps_median"] == 53.0
    assert s["prompt_tps_median"] == 2000.0
    assert s["tokens_median"] == 8
    agg = s["aggregate"]
    assert agg["wall_ms"] == 864.0  # 860 ms of runs + 4 gaps of 1 ms
    assert agg["tokens"] == 40
    assert agg["requests_per_s"] == pytest.approx(5 / 0.864, abs=1e-3)
    assert agg["decode_tps"] == pytest.approx(40 / 0.864, abs=1e-3)
    assert s["compare"] is None
    json.dumps(s)  # plain JSON types only


def test_summary_of_no_rows_is_an_error():
    with pytest.raises(ValueError, match="no runs"):
        summary_of("")


def test_summary_without_model_or_rates_uses_null():
    text = "\t".join(["1", "1", str(T), str(T + 10), str(T + 20), "3", "{}"]) + "\n"
    s = summary_of(text, model="")
    assert s["model"] is None
    assert s["decode_tps_median"] is None and s["prompt_tps_median"] is None


def test_concurrent_runs_overlap_in_the_wall_time():
    text = "".join(
        row_line(i, T + (i // 2) * 100_000, 10_000, 100_000, client=1 + i % 2) + "\n"
        for i in range(4)
    )
    s = summary_of(text, runs=4, concurrency=2)
    assert s["aggregate"]["wall_ms"] == 200.0
    assert s["aggregate"]["decode_tps"] == 160.0  # 32 tokens in 0.2 s


# --------------------------------------------------------------------------- compare


def test_compare_summaries_reports_old_new_delta_and_percent():
    old = summary_of(five_rows_text())
    faster = five_rows_text().replace('"predicted_per_second": 5', '"predicted_per_second": 10')
    new = summary_of(faster)
    cmp = report.compare_summaries(old, new, "base.json")
    assert cmp["file"] == "base.json" and cmp["created"] == "2026-01-05T10:00:00Z"
    assert cmp["latency_ms"]["p50"] == {"old": 120, "new": 120, "delta": 0, "pct": 0.0}
    assert cmp["decode_tps_median"]["old"] == 53.0
    assert cmp["decode_tps_median"]["new"] == 103.0
    assert cmp["decode_tps_median"]["pct"] == pytest.approx(94.34, abs=0.01)
    lines = report.format_compare(cmp)
    assert lines[0] == "compared with base.json (2026-01-05T10:00:00Z)"
    assert "  decode tok/s  53.0 -> 103.0 (+94.3%)" in lines
    assert "  p50 ms        120.0 -> 120.0 (+0.0%)" in lines


def test_compare_with_a_missing_rate_leaves_it_out():
    old = summary_of(five_rows_text())
    old["decode_tps_median"] = None
    cmp = report.compare_summaries(old, summary_of(five_rows_text()), "f")
    assert cmp["decode_tps_median"] is None
    assert not any("decode" in line for line in report.format_compare(cmp))


# --------------------------------------------------------------------------- files


def test_save_and_load_round_trip_with_rows(tmp_path: Path):
    rows = report.parse_rows(five_rows_text())
    s = report.build_summary(
        rows,
        url="u",
        model=None,
        runs=5,
        warmup=0,
        max_tokens=8,
        concurrency=1,
        prompt_bytes=1,
    )
    path = tmp_path / "run.json"
    report.save_summary(str(path), s, rows)
    loaded = report.load_summary(str(path))
    assert loaded["latency_ms"] == s["latency_ms"]
    assert len(loaded["rows"]) == 5 and loaded["rows"][4]["ms"] == 400
    report.save_summary(str(path), s, None)
    assert "rows" not in report.load_summary(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temp file left


@pytest.mark.parametrize(
    "content, message",
    [(None, "cannot read"), ("{oops", "not JSON"), ('{"runs": 3}', "not a summary saved")],
)
def test_load_summary_errors(tmp_path: Path, content, message):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        report.load_summary(str(path))


def test_rows_csv_has_a_header_and_plain_numbers():
    text = report.rows_csv(report.parse_rows(five_rows_text()))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(report.CSV_FIELDS)
    assert rows[1] == ["1", "1", "0", "100", "20", "6", "3", "2000", "8", "80", "51"]
    assert len(rows) == 6


def test_format_text_and_one_line():
    s = summary_of(five_rows_text())
    text = "\n".join(report.format_text(s))
    assert "runs          5 x 8 tokens, concurrency 1, warm-up 1, prompt 4 bytes" in text
    assert "latency ms    min 100.0  mean 172.0  stdev 127.9" in text
    assert "p50 120.0  p90 400.0  p95 400.0  p99 400.0  max 400.0" in text
    assert "TTFT ms       p50 20.0  p95 20.0" in text
    assert "decode        53.0 tok/s" in text
    assert "spikes        1 (runs over 2x p50 = 240.0 ms)" in text
    assert report.one_line(s) == (
        "5 runs: p50 120.0 ms, p95 400.0 ms, TTFT p50 20.0 ms, decode 53.0 tok/s, 1 spikes"
    )
    hist = report.latency_histogram(report.parse_rows(five_rows_text()))
    assert hist[0] == "latency histogram (ms)" and len(hist) == 11


# --------------------------------------------------------------------------- CLI


def invoke(tmp_path: Path, *args: str):
    rows = tmp_path / "rows.tsv"
    if not rows.exists():
        rows.write_text(five_rows_text())
    return CliRunner().invoke(cli, ["bench", "summarize", "--rows", str(rows), *args])


def test_cli_text_summary_writes_the_state_file(tmp_path: Path):
    state = tmp_path / "last-bench.json"
    result = invoke(tmp_path, "--runs", "5", "--state-file", str(state), "--url", "http://x")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("runs          5 x 8 tokens")
    saved = json.loads(state.read_text())
    assert saved["decode_tps_median"] == 53.0 and saved["url"] == "http://x"
    assert "rows" not in saved


def test_cli_json_goes_to_stdout_and_the_recap_to_stderr(tmp_path: Path):
    result = invoke(tmp_path, "--format", "json", "--histogram", "--prog", "bench.sh")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["runs"] == 5
    assert result.stderr.startswith("bench.sh: 5 runs: p50 120.0 ms")
    assert "latency histogram (ms)" in result.stderr


def test_cli_csv_and_save_and_compare(tmp_path: Path):
    saved = tmp_path / "base.json"
    result = invoke(tmp_path, "--format", "csv", "--save", str(saved))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == ",".join(report.CSV_FIELDS)
    assert len(json.loads(saved.read_text())["rows"]) == 5
    result = invoke(tmp_path, "--compare", str(saved))
    assert result.exit_code == 0
    assert f"compared with {saved}" in result.stdout


def test_cli_bad_input_exits_2(tmp_path: Path):
    (tmp_path / "rows.tsv").write_text("garbage\n")
    result = invoke(tmp_path)
    assert result.exit_code == 2
    assert "gpt-oss-py: rows line 1" in result.stderr
    (tmp_path / "rows.tsv").write_text(five_rows_text())
    (tmp_path / "bad.json").write_text("{}")
    result = invoke(tmp_path, "--compare", str(tmp_path / "bad.json"))
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["bench", "summarize", "--rows", str(tmp_path / "none")])
    assert result.exit_code == 2
