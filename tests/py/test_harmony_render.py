"""Harmony rendering: golden files made by the real llama-server's /apply-template."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from gpt_oss_suite.errors import EXIT_USAGE, InputError
from gpt_oss_suite.harmony import (
    is_harmony_rendering,
    render_conversation,
    render_prompt,
    render_typescript_type,
    tojson,
)

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "harmony"
GOLDEN_NAMES = sorted(p.stem for p in GOLDEN_DIR.glob("*.json"))
USER = [{"role": "user", "content": "hi"}]


def load_golden(name: str) -> tuple[dict, str]:
    conversation = json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
    expected = (GOLDEN_DIR / f"{name}.txt").read_bytes().decode("utf-8")
    return conversation, expected


def tool(name: str, properties: dict, **function: object) -> dict:
    parameters = {"type": "object", "properties": properties}
    return {"type": "function", "function": {"name": name, "parameters": parameters, **function}}


def test_the_golden_table_covers_the_issue_cases():
    expected = {"no_tools", "one_tool", "tool_schemas", "multi_turn_tools", "unicode"}
    expected |= {"developer_instructions", "reasoning_low", "reasoning_high"}
    assert expected <= set(GOLDEN_NAMES)
    for name in GOLDEN_NAMES:
        assert (GOLDEN_DIR / f"{name}.txt").exists(), f"{name}.txt missing: run regenerate.py"


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_render_matches_the_server_golden_byte_for_byte(name):
    conversation, expected = load_golden(name)
    assert render_conversation(conversation) == expected


@pytest.mark.real_server
def test_goldens_still_match_the_live_server(request):
    try:
        url = request.getfixturevalue("gpt_oss_server_url")
    except pytest.FixtureLookupError:
        pytest.skip("no gpt_oss_server_url fixture (tests/py/conftest.py)")
    spec = importlib.util.spec_from_file_location("regenerate", GOLDEN_DIR / "regenerate.py")
    regenerate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regenerate)
    mismatched = []
    for name in GOLDEN_NAMES:
        conversation, expected = load_golden(name)
        served = regenerate.server_prompt(url, conversation)
        if served != expected or render_conversation(conversation) != served:
            mismatched.append(name)
    assert mismatched == [], f"run tests/fixtures/harmony/regenerate.py {url} and review"


def test_date_defaults_to_today_and_is_settable():
    assert f"Current date: {time.strftime('%Y-%m-%d')}\n" in render_prompt(USER)
    assert "Current date: 2030-01-02\n" in render_prompt(USER, date="2030-01-02")


def test_knowledge_cutoff_and_model_identity_are_settable():
    prompt = render_prompt(USER, model_identity="You are Tiny.", knowledge_cutoff="2025-01")
    assert prompt.startswith("<|start|>system<|message|>You are Tiny.\nKnowledge cutoff: 2025-01\n")


def test_reasoning_argument_overrides_the_conversation():
    conversation = {"messages": USER, "reasoning_effort": "low"}
    assert "Reasoning: high\n" in render_conversation(conversation, reasoning_effort="high")
    assert "Reasoning: low\n" in render_conversation(conversation)


def test_prompt_ends_with_the_generation_prompt():
    assert render_prompt(USER, date="2026-01-01").endswith("<|end|><|start|>assistant")


def test_a_bare_message_list_and_thinking_alias_are_accepted():
    messages = USER + [
        {
            "role": "assistant",
            "thinking": "plan",
            "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "content": "r"},
    ]
    prompt = render_prompt(messages, [tool("f", {})], date="2026-01-01")
    assert "<|channel|>analysis<|message|>plan<|end|><|start|>assistant to=functions.f" in prompt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a": [1, 2.5, True, None]}, '{"a": [1, 2.5, true, null]}'),
        (1.0, "1"),
        (123456789.5, "1.23457e+08"),
        ('é\n"\\\x01', '"é\\n\\"\\\\\\u0001"'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_tojson_prints_like_llama_cpp(value, text):
    assert tojson(value) == text


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"type": "string", "enum": ["a", "b"]}, '"a" | "b"'),
        ({"type": "string", "nullable": True}, "string | null"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"type": "array", "items": {"type": "integer"}}, "number[]"),
        ({"type": "array", "items": {}}, "any[]"),
        ({"type": "object"}, "object"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            "{\na?: \n                string}",
        ),
        ({"description": "untyped"}, "any"),
    ],
)
def test_typescript_types(spec, text):
    assert render_typescript_type(spec) == text


@pytest.mark.parametrize(
    ("tools", "words"),
    [
        ([{"type": "function", "function": {"name": "broken", "parameters": []}}], "'broken'"),
        ([{"type": "function", "function": {"description": "x"}}], "tool #1"),
        ([{"type": "retrieval", "function": {"name": "r"}}], "'r'"),
        ([tool("lister", {"items": {"type": "array"}})], "'lister', parameter 'items'"),
        ([tool("named", {"a": "string"})], "'named', parameter 'a'"),
        ([tool("en", {"a": {"type": "string", "enum": [True]}})], "'en'"),
        ("not a list", "tools"),
    ],
)
def test_invalid_tools_name_the_tool_and_exit_2(tools, words):
    with pytest.raises(InputError) as caught:
        render_prompt(USER, tools, date="2026-01-01")
    assert caught.value.exit_code == EXIT_USAGE
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([], "non-empty"),
        ([{"role": "wizard", "content": "x"}], "unknown role"),
        ([{"role": "user"}], '"content" or "tool_calls"'),
        ([{"role": "tool", "content": "r"}], "no assistant tool call"),
        (USER + [{"role": "assistant", "content": "hello"}], "ends with an assistant"),
        (
            USER
            + [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"type": "function", "function": {"name": "f", "arguments": "{bad"}}
                    ],
                },
                {"role": "tool", "content": "r"},
            ],
            "'f': arguments are not valid JSON",
        ),
    ],
)
def test_impossible_conversations_are_input_errors(messages, words):
    with pytest.raises(InputError) as caught:
        render_prompt(messages, date="2026-01-01")
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("option", "value"), [("reasoning_effort", "extreme"), ("date", "24/11/2026")]
)
def test_bad_options_are_input_errors(option, value):
    with pytest.raises(InputError):
        render_prompt(USER, **{option: value})


def test_a_server_rendering_counts_only_when_it_is_harmony_holding_the_request():
    brief = [{"role": "system", "content": "Be brief."}, *USER]
    tools = [tool("f", {})]
    good = render_prompt(brief, tools, reasoning_effort="low")
    assert is_harmony_rendering(good, brief, tools, "low")
    # An Aug-2025 llama-server without --jinja: the turns only, the system text as is.
    bare = "<|start|>system<|message|>Be brief.<|end|><|start|>user<|message|>hi<|end|>"
    bare += "<|start|>assistant"
    assert not is_harmony_rendering(bare, brief)
    assert not is_harmony_rendering(good, brief, tools)  # reasoning medium was asked
    assert not is_harmony_rendering(
        render_prompt(brief, reasoning_effort="low"), brief, tools, "low"
    )
    assert not is_harmony_rendering(render_prompt(USER, tools), brief, tools)  # no instructions
