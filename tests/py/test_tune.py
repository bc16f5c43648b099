"""The tuner's config file (tune_config) and its decisions (tune_search)."""

from __future__ import annotations

import pytest
from gpt_oss_suite import tune_config, tune_search


@pytest.fixture
def pair(tmp_path):
    model = tmp_path / "m-Q4_0.gguf"
    binary = tmp_path / "llama-server"
    model.write_bytes(b"GGUF")
    binary.write_bytes(b"#!/bin/sh\n")
    return str(model), str(binary), tmp_path / "cfg" / "tuned.conf"


def test_written_config_is_found_for_its_model_and_binary_only(pair):
    model, binary, conf = pair
    tune_config.write(conf, model, binary, "latency", {"GPT_OSS_BATCH": "512"})
    section = tune_config.lookup(conf, model, binary)
    assert section and section.knobs["GPT_OSS_BATCH"][0] == "512"
    assert tune_config.lookup(conf, model, model) is None


def test_rewriting_replaces_the_section_of_the_same_pair(pair):
    model, binary, conf = pair
    tune_config.write(conf, model, binary, "latency", {"GPT_OSS_BATCH": "512"})
    tune_config.write(conf, model, binary, "decode", {"GPT_OSS_THREADS": "2"})
    sections = tune_config.read(conf)
    assert len(sections) == 1 and list(sections[0].knobs) == ["GPT_OSS_THREADS"]
    assert sections[0].meta["objective"] == "decode"


def test_a_changed_file_stamp_no_longer_matches(pair):
    model, binary, conf = pair
    tune_config.write(conf, model, binary, "latency", {"GPT_OSS_BATCH": "512"})
    with open(model, "ab") as handle:
        handle.write(b"more")
    assert tune_config.lookup(conf, model, binary) is None


def test_the_defaults_measured_best_are_a_section_without_knobs(pair, tmp_path):
    model, binary, conf = pair
    other = tmp_path / "other-Q8_0.gguf"
    other.write_bytes(b"GGUF")
    tune_config.write(conf, model, binary, "latency", {"GPT_OSS_BATCH": "512"})
    tune_config.write(conf, str(other), binary, "latency", {"GPT_OSS_BATCH": "128"})
    # A later run measures the defaults best: the pair's section is replaced, not removed
    tune_config.write(conf, model, binary, "latency", {})
    section = tune_config.lookup(conf, model, binary)
    assert section is not None and section.knobs == {}
    assert section.meta["objective"] == "latency"
    assert [s.meta["model"] for s in tune_config.read(conf)] == [str(other), model]
    assert tune_config.lookup(conf, str(other), binary).knobs["GPT_OSS_BATCH"][0] == "128"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("rm -rf /", "x.conf:3: expected 'NAME = value', got 'rm -rf /'"),
        ("host = 0.0.0.0", "x.conf:3: unknown setting 'host'"),
        ("[server]", "x.conf:3: unknown section [server]"),
    ],
)
def test_bad_lines_name_the_file_and_line(line, message):
    text = "[tuned]\nmodel = a\n" + line + "\nmodel_stamp = 1 2\nbinary = b\nbinary_stamp = 1 2\n"
    with pytest.raises(tune_config.ConfigError) as err:
        tune_config.parse(text, "x.conf")
    assert str(err.value).startswith(message)


def bench(p50: float, stdev: float = 1.0) -> dict:
    return {"latency_ms": {"p50": p50, "stdev": stdev, "count": 8}}


def rec(setting: str, p50: float, phase: str = "descent", knob: str = "", **kw) -> dict:
    return {
        "phase": phase,
        "setting": setting,
        "knob": knob,
        "status": "ok",
        "score": tune_search.score([bench(p50)], "latency"),
        "workloads": [bench(p50)],
        **kw,
    }


def test_descent_moves_only_for_a_gain_beyond_the_noise():
    records = [rec("", 100.0), rec("B=512", 99.5, knob="batch"), rec("B=128", 120, knob="batch")]
    assert tune_search.descent_best(records, "latency", "", "batch") == ""
    records.append(rec("B=64", 80.0, knob="batch"))
    assert tune_search.descent_best(records, "latency", "", "batch") == "B=64"


def test_a_candidate_wins_only_beyond_the_spread_and_fewer_flags_are_preferred():
    records = []
    for rnd, (base, one, two) in enumerate([(100, 80, 79), (102, 81, 78), (101, 82, 80)], 1):
        records += [
            rec("", base, "confirm", round=rnd),
            rec("A=1", one, "confirm", round=rnd),
            rec("A=1 B=2", two, "confirm", round=rnd),
        ]
    decision = tune_search.decide(records, "latency")
    assert decision["winner"] == "A=1"  # A=1 B=2 is better by less than the spread


def test_values_are_not_judged_here_but_by_tuned_sh():
    """The value rules live in scripts/lib/tuned.sh alone (it names the file and line)."""
    text = "[tuned]\nmodel = a\nmodel_stamp = 1 2\nbinary = b\nbinary_stamp = 1 2\n"
    (section,) = tune_config.parse(text + "GPT_OSS_BATCH = 0\n", "x.conf")
    assert section.knobs == {"GPT_OSS_BATCH": ("0", 6)}


def tps(value: float, objective: str) -> dict:
    if objective == "decode":
        return {"decode_tps_median": value}
    return {"aggregate": {"requests_per_s": value}}


@pytest.mark.parametrize("objective", ["decode", "throughput"])
def test_higher_is_better_for_decode_and_throughput(objective):
    records = []
    for rnd, (base, fast, slow) in enumerate([(50, 80, 30), (52, 81, 31), (51, 79, 29)], 1):
        for setting, value in (("", base), ("A=1", fast), ("B=1", slow)):
            bench_json = tps(value, objective)
            records.append(
                {
                    "phase": "confirm",
                    "setting": setting,
                    "status": "ok",
                    "round": rnd,
                    "workloads": [bench_json],
                    "score": tune_search.score([bench_json], objective),
                }
            )
    decision = tune_search.decide(records, objective)
    assert decision["winner"] == "A=1"
    assert decision["unit"] == tune_search.UNITS[objective]
    assert [c["wins"] for c in decision["candidates"]] == [True, False]


def test_the_text_report_shows_a_failed_start_with_its_log_tail():
    failed = {
        "phase": "descent",
        "setting": "K=1",
        "status": "failed",
        "score": None,
        "reason": "could not start: boom",
        "log_tail": "one\ntwo",
    }
    rows = tune_search.table_rows([rec("", 100.0), failed], "latency")
    decision = {"objective": "latency", "unit": "ms", "verdict": "x", "candidates": []}
    text = tune_search.format_text(rows, decision, bars=False)
    assert "K=1: failed: could not start: boom\n    | one\n    | two\n" in text
    assert "#" not in text
    assert "#" in tune_search.format_text(rows, decision, bars=True)


def test_model_layers_reads_the_gguf_header(tmp_path):
    assert tune_search.model_layers(str(tmp_path / "missing.gguf")) is None
    (tmp_path / "bad.gguf").write_bytes(b"GGUF")
    assert tune_search.model_layers(str(tmp_path / "bad.gguf")) is None


def test_flat_results_give_no_measurable_difference():
    records = []
    for rnd, (base, cand) in enumerate([(100, 95), (90, 99), (105, 92)], 1):
        records += [rec("", base, "confirm", round=rnd), rec("A=1", cand, "confirm", round=rnd)]
    decision = tune_search.decide(records, "latency")
    assert decision["winner"] == ""
    assert decision["verdict"].startswith("no measurable difference")
