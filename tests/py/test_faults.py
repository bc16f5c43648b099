"""Issue 13 items 8, 15, 16 in the Python core: the tools count against the total
--timeout, replies of the wrong shape are ValueError/ServerError (never a crash), and a
stream is complete only with its final event."""

from __future__ import annotations

import time

import pytest
from gpt_oss_suite import chat, harmony_parse, workspace_tools
from gpt_oss_suite.errors import EXIT_TIMEOUT, ServerError, SuiteError
from gpt_oss_suite.http_client import Deadline, Reply, is_final_event


def test_tool_time_counts_against_the_total_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def slow_call(workspace, call, deadline=None):  # noqa: ANN001, ANN202 - run_call's shape
        seen.append(deadline - time.monotonic())
        time.sleep(0.3)
        return workspace_tools.ToolResult(call["name"], True, "done")

    monkeypatch.setattr(workspace_tools, "run_call", slow_call)
    budget = workspace_tools.ToolBudget()
    result = chat.ChatResult("gpt-oss", "harmony")
    calls = [{"name": "grep", "arguments": {}, "valid": True, "raw": "{}"}]
    with pytest.raises(SuiteError) as caught:
        chat._run_reply_calls(budget, None, calls, 1, result, chat.Sink(), Deadline(0.2))
    assert caught.value.exit_code == EXIT_TIMEOUT
    assert "while the workspace tools ran" in caught.value.message
    assert seen[0] <= 0.2  # the tool itself was given only what was left


@pytest.mark.parametrize(
    "message",
    [
        "a string",
        {"content": 5},
        {"content": None, "tool_calls": "x"},
        {"content": None, "tool_calls": ["x"]},
        {"content": None, "tool_calls": [{"function": "f"}]},
        {"content": None, "tool_calls": [{"function": {"name": 3}}]},
        {"content": "hi", "reasoning_content": {"a": 1}},
    ],
)
def test_openai_replies_of_the_wrong_shape_are_value_errors(message: object) -> None:
    with pytest.raises(ValueError):
        harmony_parse.parse_openai_chat(
            {"choices": [{"message": message, "finish_reason": "stop"}]}
        )


def test_deeply_nested_arguments_are_a_flagged_call_or_a_value_error() -> None:
    call = harmony_parse.tool_call_from_text("grep", "[" * 100000)
    assert call["valid"] is False and "nested too deeply" in call["error"]
    deep: list = []
    for _ in range(100000):
        deep = [deep]
    reply = {
        "choices": [{"message": {"tool_calls": [{"function": {"name": "g", "arguments": deep}}]}}]
    }
    with pytest.raises(ValueError):
        harmony_parse.parse_openai_chat(reply)
    with pytest.raises(ValueError):
        Reply(200, {}, b"[" * 100000).json()


@pytest.mark.parametrize("index", [30000000, -3, "a", 1.5, True])
def test_a_streamed_tool_call_index_out_of_line_is_a_server_error(index: object) -> None:
    assembled: dict = {"content": "", "reasoning_content": "", "tool_calls": []}
    event = {"choices": [{"delta": {"tool_calls": [{"index": index, "function": {}}]}}]}
    with pytest.raises(ServerError):
        chat._merge_delta(assembled, [None], event)
    assert assembled["tool_calls"] == []


def test_streamed_tool_calls_in_order_assemble() -> None:
    assembled: dict = {"content": "", "reasoning_content": "", "tool_calls": []}
    for part in (
        {"index": 0, "id": "a", "function": {"name": "grep"}},
        {"index": 0, "function": {"arguments": "{}"}},
        {"function": {"name": "read_file", "arguments": "{}"}},
    ):
        chat._merge_delta(assembled, [None], {"choices": [{"delta": {"tool_calls": [part]}}]})
    names = [c["function"]["name"] for c in assembled["tool_calls"]]
    assert names == ["grep", "read_file"]


def test_final_events() -> None:
    assert is_final_event({"content": "", "stop": True})
    assert is_final_event({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    assert not is_final_event({"content": "Par", "stop": False})
    assert not is_final_event({"choices": [{"delta": {"content": "x"}, "finish_reason": None}]})
    assert not is_final_event([1])
