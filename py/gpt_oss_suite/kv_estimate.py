"""How much memory a llama-server context takes for its KV cache, from the GGUF header.

`gpt-oss-fast.sh --kv-estimate` prints it for the model and context it would start, so a
16 GB-laptop user sees the real cost of a larger context before choosing one. The
numbers follow llama.cpp's allocation (src/llama-context.cpp, llama-kv-cache-iswa.cpp):

- per slot (sequence) the context is `n_ctx_seq` = n_ctx with unified KV (`-kvu`, one
  stream shared by every slot), else pad256(n_ctx / n_parallel) in each of n_parallel
  streams;
- full-attention layers hold n_ctx_seq cells per stream;
- sliding-window layers (gpt-oss: every other layer, window 128) hold
  pad256(min(n_ctx_seq, window x (n_parallel if unified else 1) + n_ubatch)) per stream;
- a cell of a layer is head_count_kv x (key_length + value_length) elements of the
  cache type (f16: 2 bytes; q8_0: 34 bytes per 32 elements, ...).
"""

from __future__ import annotations

import math

from .gguf_header import GGML_TYPES

# Bytes per element of each KV cache type llama-server accepts (-ctk/-ctv), from ggml's
# block sizes; the order is the one TUNED_KNOBS (scripts/lib/tuned.sh) lists them in.
KV_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
_BLOCK_BYTES = {name.lower(): size / block for name, block, size in GGML_TYPES.values()}
TYPE_BYTES = {kv_type: _BLOCK_BYTES[kv_type] for kv_type in KV_TYPES}
# Architectures whose sliding-window layers llama.cpp lays out by a fixed pattern: the
# layer `il` is a window layer when il % period < period - 1 (gpt-oss: even layers).
SWA_PERIOD = {"gpt-oss": 2}


def _pad256(n: int) -> int:
    return (n + 255) // 256 * 256


def estimate(
    metadata: dict,
    ctx: int,
    parallel: int,
    kv_type: str = "f16",
    unified: bool = False,
    ubatch: int = 256,
) -> dict:
    """The KV cache of one llama-server start: bytes, and the numbers behind them."""
    arch = metadata.get("general.architecture")
    if not isinstance(arch, str):
        raise ValueError("no general.architecture in the GGUF header")

    def field(name: str, default: int | None = None) -> int:
        value = metadata.get(f"{arch}.{name}", default)
        if not isinstance(value, int):
            raise ValueError(f"no {arch}.{name} in the GGUF header")
        return value

    layers = field("block_count")
    heads = field("attention.head_count")
    embd = field("embedding_length")
    heads_kv = metadata.get(f"{arch}.attention.head_count_kv", heads)
    if isinstance(heads_kv, list):  # per-layer counts: take the largest (an upper bound)
        heads_kv = max(v for v in heads_kv if isinstance(v, int))
    key_len = field("attention.key_length", embd // heads)
    value_len = field("attention.value_length", embd // heads)
    window = metadata.get(f"{arch}.attention.sliding_window")
    period = SWA_PERIOD.get(arch)
    swa_layers = 0
    if isinstance(window, int) and window > 0 and period:
        swa_layers = sum(1 for il in range(layers) if il % period < period - 1)
    full_layers = layers - swa_layers

    streams = 1 if unified else parallel
    n_ctx_seq = _pad256(ctx) if unified else _pad256(max(ctx // parallel, 1))
    swa_cells = 0
    if swa_layers:
        swa_cells = _pad256(min(n_ctx_seq, window * (parallel if unified else 1) + ubatch))
    per_cell_layer = heads_kv * (key_len + value_len) * TYPE_BYTES[kv_type]
    total = streams * per_cell_layer * (full_layers * n_ctx_seq + swa_layers * swa_cells)
    return {
        "architecture": arch,
        "ctx": ctx,
        "parallel": parallel,
        "unified": unified,
        "kv_type": kv_type,
        "streams": streams,
        "cells_per_stream": n_ctx_seq,
        "full_attention_layers": full_layers,
        "sliding_window_layers": swa_layers,
        "sliding_window_cells_per_stream": swa_cells,
        "bytes_per_token": int(math.ceil(per_cell_layer * full_layers)),
        "bytes": int(math.ceil(total)),
        "mib": round(total / 2**20, 1),
    }


def describe(report: dict) -> str:
    """One human line for the estimate."""
    layout = (
        f"one pool shared by {report['parallel']} slots"
        if report["unified"]
        else f"{report['parallel']} slots of {report['cells_per_stream']} tokens"
    )
    window = ""
    if report["sliding_window_layers"]:
        window = (
            f" + {report['sliding_window_layers']} sliding-window layers x "
            f"{report['sliding_window_cells_per_stream']}"
        )
    return (
        f"KV cache: {report['mib']} MiB for -c {report['ctx']} ({layout}, {report['kv_type']}): "
        f"{report['full_attention_layers']} full-attention layers x "
        f"{report['cells_per_stream']} cells{window} per stream; "
        f"{report['bytes_per_token'] / 1024:.1f} KiB per token of context"
    )
