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
    tune_config.write(conf, model, binary, "decode", {})
    sections = tune_config.read(conf)
    assert len(sections) == 1 and sections[0].knobs == {}


def test_a_changed_file_stamp_no_longer_matches(pair):
    model, binary, conf = pair
    tune_config.write(conf, model, binary, "latency", {"GPT_OSS_BATCH": "512"})
    with open(model, "ab") as handle:
        handle.write(b"more")
    assert tune_config.lookup(conf, model, binary) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("GPT_OSS_BATCH = 0", "x.conf:3: GPT_OSS_BATCH must be a whole number >= 1, got '0'"),
        ("GPT_OSS_MMAP = yes", "x.conf:3: GPT_OSS_MMAP must be one of on off, got 'yes'"),
        ("rm -rf /", "x.conf:3: expected 'NAME = value', got 'rm -rf /'"),
        ("GPT_OSS_HOST = 0.0.0.0", "x.conf:3: unknown setting 'GPT_OSS_HOST'"),
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


def test_flat_results_give_no_measurable_difference():
    records = []
    for rnd, (base, cand) in enumerate([(100, 95), (90, 99), (105, 92)], 1):
        records += [rec("", base, "confirm", round=rnd), rec("A=1", cand, "confirm", round=rnd)]
    decision = tune_search.decide(records, "latency")
    assert decision["winner"] == ""
    assert decision["verdict"].startswith("no measurable difference")
