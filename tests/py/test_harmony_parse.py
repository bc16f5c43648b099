"""Harmony reply parsing: raw completion text and OpenAI-shape replies."""

from __future__ import annotations

import json
import random

import pytest
from gpt_oss_suite.harmony import render_prompt
from gpt_oss_suite.harmony_parse import (
    parse_any,
    parse_completion,
    parse_completion_reply,
    parse_openai_chat,
)

ANALYSIS_THEN_FINAL = (
    "<|channel|>analysis<|message|>The user wants 2+2.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>4"
)
SHAPE = {"final", "analysis", "commentary", "tool_calls", "stop", "complete"}
SHAPE |= {"special_tokens_stripped", "warnings", "messages"}


def test_analysis_then_final():
    result = parse_completion(ANALYSIS_THEN_FINAL, "eos")
    assert set(result) == SHAPE
    assert (result["analysis"], result["final"]) == ("The user wants 2+2.", "4")
    assert (result["stop"], result["complete"], result["warnings"]) == ("return", True, [])


def test_explicit_return_token_completes_without_a_stop_type():
    result = parse_completion("<|channel|>final<|message|>done<|return|>")
    assert (result["final"], result["stop"], result["complete"]) == ("done", "return", True)


def test_cut_off_reply_keeps_its_text():
    result = parse_completion("<|channel|>analysis<|message|>partial thou", "limit")
    assert result["analysis"] == "partial thou"
    assert (result["stop"], result["complete"]) == ("limit", False)
    assert "cut off" in result["warnings"][0]


def test_unterminated_reply_without_stop_type_is_incomplete():
    result = parse_completion(ANALYSIS_THEN_FINAL)
    assert (result["final"], result["complete"], result["stop"]) == ("4", False, "incomplete")


def test_cut_inside_a_header():
    result = parse_completion(
        "<|channel|>analysis<|message|>x<|end|><|start|>assistant<|chan", "limit"
    )
    assert (result["analysis"], result["final"], result["complete"]) == ("x", "", False)


def test_commentary_preamble_then_tool_call_with_constrain():
    text = (
        "<|channel|>commentary<|message|>Checking the weather.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
        '<|message|>{"city": "Paris"}'
    )
    result = parse_completion(text, "eos")
    assert result["commentary"] == "Checking the weather."
    assert result["tool_calls"] == [
        {
            "name": "get_weather",
            "recipient": "functions.get_weather",
            "arguments": {"city": "Paris"},
            "raw": '{"city": "Paris"}',
            "valid": True,
            "content_type": "json",
        }
    ]
    assert (result["stop"], result["complete"], result["final"]) == ("call", True, "")


def test_tool_call_with_recipient_in_the_header_and_no_constrain():
    text = ' to=functions.read_file<|channel|>commentary json<|message|>{"path": "a"}<|call|>'
    result = parse_completion(text)
    call = result["tool_calls"][0]
    assert (call["name"], call["arguments"], call["content_type"]) == (
        "read_file",
        {"path": "a"},
        "json",
    )
    assert result["stop"] == "call"


def test_malformed_tool_json_is_kept_raw_and_flagged():
    text = "<|channel|>commentary to=functions.f<|message|>{not json"
    result = parse_completion(text, "eos")
    call = result["tool_calls"][0]
    assert (call["valid"], call["raw"], call["arguments"]) == (False, "{not json", None)
    assert "not valid JSON" in call["error"]
    assert any("'f'" in w for w in result["warnings"])


def test_text_before_any_header_is_the_final_answer():
    result = parse_completion("Plain answer.", "eos")
    assert (result["final"], result["complete"]) == ("Plain answer.", True)
    assert result["special_tokens_stripped"] is False


def test_stripped_special_tokens_are_reported():
    result = parse_completion("analysisNeed to add.assistantfinalIt is 4.", "eos")
    assert result["special_tokens_stripped"] is True
    assert (result["analysis"], result["final"]) == ("Need to add.", "It is 4.")
    assert "stripped" in result["warnings"][0]


def test_a_following_user_turn_is_ignored_with_a_warning():
    text = "<|channel|>final<|message|>ok<|end|><|start|>user<|message|>more"
    result = parse_completion(text)
    assert (result["final"], result["stop"], result["complete"]) == ("ok", "end", True)
    assert "user message" in result["warnings"][0]


def test_empty_reply():
    result = parse_completion("", "limit")
    assert (result["final"], result["complete"]) == ("", False)


def test_completion_json_reply():
    reply = {"content": ANALYSIS_THEN_FINAL, "stop_type": "eos", "timings": {}}
    assert parse_completion_reply(reply)["complete"] is True
    assert parse_any(json.dumps(reply))["final"] == "4"


def test_openai_text_completion_reply():
    reply = {"choices": [{"text": ANALYSIS_THEN_FINAL, "finish_reason": "length"}]}
    result = parse_any(json.dumps(reply))
    assert (result["final"], result["stop"], result["complete"]) == ("4", "limit", False)


def test_openai_chat_reply_with_reasoning_and_tool_calls():
    reply = {
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "Need the weather.",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        },
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "broken", "arguments": "{oops"},
                        },
                    ],
                },
            }
        ]
    }
    result = parse_openai_chat(reply)
    assert set(result) == SHAPE
    assert (result["analysis"], result["final"], result["stop"]) == (
        "Need the weather.",
        "",
        "call",
    )
    assert result["tool_calls"][0]["arguments"] == {"city": "Oslo"}
    assert result["tool_calls"][0]["id"] == "c1"
    assert result["tool_calls"][1]["valid"] is False
    assert parse_any(json.dumps(reply), openai=True)["tool_calls"][0]["name"] == "get_weather"


def test_openai_chat_final_answer():
    reply = {"choices": [{"finish_reason": "stop", "message": {"content": "Hi!"}}]}
    result = parse_openai_chat(reply)
    assert (result["final"], result["complete"], result["stop"]) == ("Hi!", True, "return")


def test_openai_flag_needs_json():
    with pytest.raises(ValueError):
        parse_any("<|channel|>final<|message|>x", openai=True)


def _random_text(rng: random.Random) -> str:
    alphabet = "abc XYZ 123 é☕\n{}\"'\\.,:"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))).strip() or "x"


def test_round_trip_of_rendered_assistant_turns():
    """Property-style: what the renderer writes for an assistant turn parses back."""
    rng = random.Random(5)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    for _ in range(50):
        analysis, final = _random_text(rng), _random_text(rng)
        arguments = {_random_text(rng): rng.choice([1, 2.5, True, None, _random_text(rng)])}
        messages = [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "reasoning_content": analysis,
                "tool_calls": [
                    {"type": "function", "function": {"name": "f", "arguments": arguments}}
                ],
            },
            {"role": "tool", "content": "r"},
        ]
        prompt = render_prompt(messages, tools, date="2026-01-01")
        turn = prompt[prompt.index("<|end|><|start|>user") :].split(
            "<|start|>user<|message|>q<|end|>"
        )[1]
        reply = turn[: turn.index("<|call|>") + len("<|call|>")]
        reply = reply[len("<|start|>assistant") :]
        parsed = parse_completion(reply)
        assert parsed["analysis"] == analysis
        assert parsed["tool_calls"][0]["arguments"] == arguments
        assert parsed["complete"] is True

        raw = (
            f"<|channel|>analysis<|message|>{analysis}<|end|>"
            f"<|start|>assistant<|channel|>final<|message|>{final}"
        )
        parsed = parse_completion(raw, "eos")
        assert (parsed["analysis"], parsed["final"]) == (analysis, final)
