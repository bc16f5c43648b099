"""kv_estimate.py against llama.cpp's allocation, and the byte bound of context.py."""

from __future__ import annotations

from gpt_oss_suite.context import token_upper_bound
from gpt_oss_suite.kv_estimate import describe, estimate

# gpt-oss-20b's header numbers: 24 layers (every other one a 128-token window), 64 query
# heads, 8 KV heads of 64.
GPT_OSS_20B = {
    "general.architecture": "gpt-oss",
    "gpt-oss.block_count": 24,
    "gpt-oss.embedding_length": 2880,
    "gpt-oss.attention.head_count": 64,
    "gpt-oss.attention.head_count_kv": 8,
    "gpt-oss.attention.key_length": 64,
    "gpt-oss.attention.value_length": 64,
    "gpt-oss.attention.sliding_window": 128,
}


def test_gpt_oss_20b_unified_pool() -> None:
    report = estimate(GPT_OSS_20B, 25600, 4, "f16", unified=True)
    # 12 full layers x 25600 cells + 12 window layers x pad256(128*4 + 256) = 768 cells,
    # 8 heads x (64 + 64) x 2 bytes = 2 KiB per cell and layer.
    assert (report["full_attention_layers"], report["sliding_window_layers"]) == (12, 12)
    assert report["sliding_window_cells_per_stream"] == 768
    assert report["bytes"] == 2048 * (12 * 25600 + 12 * 768)
    assert report["bytes_per_token"] == 24 * 1024
    assert "KV cache: 618.0 MiB for -c 25600 (one pool shared by 4 slots, f16)" in describe(report)


def test_divided_slots_and_quantised_cache() -> None:
    report = estimate(GPT_OSS_20B, 384, 4, "q8_0")
    # 4 streams of pad256(384 / 4) = 256 cells; window layers min(256, 128 + 256) = 256.
    assert (report["streams"], report["cells_per_stream"]) == (4, 256)
    assert report["bytes"] == round(4 * 8 * 128 * 34 / 32 * (12 * 256 + 12 * 256))


def test_a_model_without_sliding_window() -> None:
    llama = {
        "general.architecture": "llama",
        "llama.block_count": 30,
        "llama.embedding_length": 576,
        "llama.attention.head_count": 9,
        "llama.attention.head_count_kv": 3,
    }
    report = estimate(llama, 16384, 4, unified=True)
    assert report["sliding_window_layers"] == 0
    assert report["bytes"] == 30 * 16384 * 3 * 128 * 2  # head size 576 / 9 = 64, K + V


def test_the_byte_bound_is_never_below_the_token_count() -> None:
    # Every token covers at least one byte; special tokens cover many.
    text = "<|start|>user<|message|>héllo 🎉<|end|>"
    assert token_upper_bound(text) >= len(text.encode()) >= 0
    assert token_upper_bound("") == 4
