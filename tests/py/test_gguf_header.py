"""The pure-Python GGUF header reader (gpt_oss_suite.gguf_header) and the model check.

Real files: the bundled SmolLM2 and tiny gpt-oss GGUFs, cross-checked with the `gguf`
package (a dev dependency only; the reader itself must not need it). Broken and split
files are written here byte by byte with `gguf_bytes`.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import gguf
import pytest
from click.testing import CliRunner
from gpt_oss_suite.cli import cli
from gpt_oss_suite.gguf_header import (
    GGML_TYPES,
    MAX_ARRAY_ITEMS,
    ArraySummary,
    GGUFError,
    read_header,
    read_metadata,
    split_parts,
)
from gpt_oss_suite.model_check import Memory, check_model, format_report

GB = 10**9
PLENTY = Memory(64 * GB, 48 * GB)


def gguf_bytes(
    metadata: list[tuple[str, str, object]],
    tensors: list[tuple[str, tuple[int, ...], int]] = (),
    order: str = "<",
    version: int = 3,
) -> bytes:
    """A complete GGUF file: metadata as (key, kind, value) with kind "str", "u32",
    "f32", "str[]" or "i32[]"; tensors as (name, shape, ggml type), zero-filled."""

    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack(order + "Q", len(raw)) + raw

    out = bytearray(b"GGUF" + struct.pack(order + "IQQ", version, len(tensors), len(metadata)))
    for key, kind, value in metadata:
        out += string(key)
        if kind == "str":
            out += struct.pack(order + "I", 8) + string(value)
        elif kind == "u32":
            out += struct.pack(order + "II", 4, value)
        elif kind == "f32":
            out += struct.pack(order + "If", 6, value)
        elif kind == "str[]":
            out += struct.pack(order + "IIQ", 9, 8, len(value))
            out += b"".join(string(v) for v in value)
        elif kind == "i32[]":
            out += struct.pack(order + "IIQ", 9, 5, len(value))
            out += b"".join(struct.pack(order + "i", v) for v in value)
    offset, sizes = 0, []
    for name, shape, ggml_type in tensors:
        _, block, size = GGML_TYPES[ggml_type]
        n_bytes = (shape[0] * (shape[1] if len(shape) > 1 else 1)) // block * size
        out += string(name) + struct.pack(order + "I", len(shape))
        out += b"".join(struct.pack(order + "Q", d) for d in shape)
        out += struct.pack(order + "IQ", ggml_type, offset)
        sizes.append(n_bytes)
        offset += -(-n_bytes // 32) * 32
    out += b"\0" * (-len(out) % 32)
    out += b"\0" * offset
    return bytes(out)


GPT_OSS_META = [
    ("general.architecture", "str", "gpt-oss"),
    ("general.name", "str", "made-up gpt-oss"),
    ("general.file_type", "u32", 2),
    ("gpt-oss.block_count", "u32", 24),
]
TENSORS = [("token_embd.weight", (64, 8), 2), ("output_norm.weight", (64,), 0)]


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# --- the bundled models ---


def test_reads_the_gpt_oss_keys_the_kv_estimate_needs(tiny_gpt_oss_model):
    meta = read_metadata(tiny_gpt_oss_model)
    assert meta["general.architecture"] == "gpt-oss"
    assert meta["GGUF.tensor_count"] == 41
    expected = {
        "gpt-oss.block_count": 2,
        "gpt-oss.attention.head_count_kv": 1,
        "gpt-oss.embedding_length": 64,
        "gpt-oss.attention.key_length": 16,
        "gpt-oss.attention.value_length": 16,
        "gpt-oss.attention.sliding_window": 128,
        "gpt-oss.context_length": 131072,
    }
    assert {k: meta[k] for k in expected} == expected


def test_agrees_with_the_gguf_package_on_every_key(tiny_gpt_oss_model):
    # (The gguf package takes ~9 s to read SmolLM2's 49k-token vocabulary: the tiny model
    # has every value kind too.)
    for path in (tiny_gpt_oss_model,):
        ours = read_metadata(path)
        reader = gguf.GGUFReader(path)
        for name, fld in reader.fields.items():
            if name.startswith("GGUF.") and name != "GGUF.tensor_count":
                continue
            value = fld.contents()
            if fld.types[0] == gguf.GGUFValueType.ARRAY and len(fld.data) > MAX_ARRAY_ITEMS:
                value = ArraySummary(ours[name].item_type, len(fld.data))
            expected = pytest.approx(value) if isinstance(value, float) else value
            assert ours[name] == expected, name
        header = read_header(path)
        assert [t.name for t in header.tensors] == [t.name for t in reader.tensors]
        assert header.data_offset == reader.data_offset


def test_the_ggml_block_table_matches_the_gguf_package():
    for type_id, (name, block, size) in GGML_TYPES.items():
        quant = gguf.GGMLQuantizationType(type_id)
        assert (quant.name, gguf.GGML_QUANT_SIZES[quant]) == (name, (block, size))


def test_a_complete_file_is_exactly_as_long_as_its_tensor_table_says(smollm2_model):
    header = read_header(smollm2_model)
    assert header.expected_size == header.file_size == Path(smollm2_model).stat().st_size


def test_long_arrays_are_summarized_short_ones_kept(smollm2_model):
    meta = read_metadata(smollm2_model)
    assert meta["tokenizer.ggml.tokens"] == ArraySummary("string", 49152)
    assert meta["general.languages"] == ["en"]


def test_check_model_accepts_both_bundled_models(tiny_gpt_oss_model, smollm2_model):
    tiny = check_model(tiny_gpt_oss_model, PLENTY)
    assert tiny["ok"] and tiny["problems"] == [] and tiny["warnings"] == []
    assert (tiny["architecture"], tiny["quant"], tiny["tensor_count"]) == ("gpt-oss", "F32", 41)
    assert tiny["memory"]["verdict"] == "fits"
    smol = check_model(smollm2_model, PLENTY)
    assert smol["ok"] and smol["quant"] == "Q4_1" and smol["architecture"] == "llama"
    assert smol["warnings"] == [
        "architecture llama, not gpt-oss: the raw path works, Harmony prompts and tools "
        "expect a gpt-oss model"
    ]


# --- broken files ---


def test_wrong_magic_is_not_a_gguf_file(tmp_path):
    path = write(tmp_path / "model.gguf", b"GGML" + gguf_bytes(GPT_OSS_META)[4:])
    with pytest.raises(GGUFError, match=r"not a GGUF file: it starts with b'GGML'"):
        read_header(path)
    report = check_model(path, PLENTY)
    assert not report["ok"]
    assert "not a GGUF file" in report["problems"][0]


def test_an_html_error_page_saved_as_gguf_is_caught(tmp_path):
    path = write(tmp_path / "model.gguf", b"<!DOCTYPE html><html>Not found</html>\n")
    assert "not a GGUF file: it starts with b'<!DO'" in check_model(path, PLENTY)["problems"][0]


def test_a_file_cut_inside_the_header_is_truncated(tmp_path):
    data = gguf_bytes(GPT_OSS_META, TENSORS)
    path = write(tmp_path / "model.gguf", data[:60])
    with pytest.raises(GGUFError, match="truncated: the header needs more than its 60 bytes"):
        read_header(path)


def test_a_file_cut_inside_the_tensor_data_is_truncated(tmp_path):
    data = gguf_bytes(GPT_OSS_META, TENSORS)
    path = write(tmp_path / "model.gguf", data[:-10])
    report = check_model(path, PLENTY)
    assert not report["ok"]
    assert report["problems"] == [
        f"{path}: truncated: {len(data) - 10} bytes, its tensor table needs {len(data)} "
        "(a download cut short?)"
    ]
    assert report["architecture"] == "gpt-oss"  # the header itself was still readable


def test_version_1_and_unknown_versions_are_refused(tmp_path):
    with pytest.raises(GGUFError, match="version 1 is too old"):
        read_header(write(tmp_path / "a.gguf", gguf_bytes(GPT_OSS_META, version=1)))
    with pytest.raises(GGUFError, match="unsupported GGUF version 7"):
        read_header(write(tmp_path / "b.gguf", gguf_bytes(GPT_OSS_META, version=7)))


def test_an_empty_file_and_a_missing_file(tmp_path):
    empty = write(tmp_path / "empty.gguf", b"")
    assert check_model(empty, PLENTY)["problems"] == [f"{empty}: not a GGUF file: only 0 bytes"]
    missing = str(tmp_path / "nope.gguf")
    assert check_model(missing, PLENTY)["problems"] == [f"{missing}: no such file"]


def test_a_big_endian_file_reads_the_same(tmp_path):
    path = write(tmp_path / "be.gguf", gguf_bytes(GPT_OSS_META, TENSORS, order=">"))
    header = read_header(path)
    assert header.byte_order == "big"
    assert header.metadata["gpt-oss.block_count"] == 24
    assert header.expected_size == header.file_size


def test_arrays_longer_than_the_limit_are_skipped_not_kept(tmp_path):
    tokens = [f"t{i}" for i in range(MAX_ARRAY_ITEMS + 1)]
    meta = [*GPT_OSS_META, ("tokenizer.ggml.tokens", "str[]", tokens), ("x", "i32[]", [1, 2])]
    header = read_header(write(tmp_path / "m.gguf", gguf_bytes(meta, TENSORS)))
    assert header.metadata["tokenizer.ggml.tokens"] == ArraySummary("string", len(tokens))
    assert header.metadata["x"] == [1, 2]
    assert [t.name for t in header.tensors] == ["token_embd.weight", "output_norm.weight"]


# --- split models ---


def test_split_parts_are_named_like_gguf_split():
    assert split_parts("/m/gpt-oss-120b-mxfp4-00002-of-00003.gguf") == [
        f"/m/gpt-oss-120b-mxfp4-0000{n}-of-00003.gguf" for n in (1, 2, 3)
    ]
    assert split_parts("/m/gpt-oss-20b-Q4_0.gguf") == ["/m/gpt-oss-20b-Q4_0.gguf"]


def split_model(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for n in range(1, count + 1):
        meta = [("split.no", "u32", n - 1), ("split.count", "u32", count)]
        if n == 1:
            meta = GPT_OSS_META + meta
        name = f"gpt-oss-20b-Q4_0-{n:05d}-of-{count:05d}.gguf"
        paths.append(write(tmp_path / name, gguf_bytes(meta, [(f"t{n}", (64, 8), 2)])))
    return paths


def test_a_complete_split_model_is_ok_and_counts_every_part(tmp_path):
    paths = split_model(tmp_path, 3)
    report = check_model(paths[0], PLENTY)
    assert report["ok"], report["problems"]
    assert report["tensor_count"] == 3
    assert [p["path"] for p in report["parts"]] == paths
    assert report["size_bytes"] == sum(Path(p).stat().st_size for p in paths)
    # Any part names the whole model.
    assert check_model(paths[2], PLENTY)["architecture"] == "gpt-oss"


def test_a_missing_split_part_is_named(tmp_path):
    paths = split_model(tmp_path, 3)
    Path(paths[1]).unlink()
    report = check_model(paths[0], PLENTY)
    assert not report["ok"]
    assert report["problems"] == [f"{paths[1]}: no such file"]
    assert "parts        2 of 3 present" in format_report(report)


def test_a_split_header_under_a_plain_name_cannot_find_its_parts(tmp_path):
    first = split_model(tmp_path, 2)[0]
    renamed = shutil.copy(first, tmp_path / "renamed.gguf")
    report = check_model(str(renamed), PLENTY)
    assert "the header says 2 split parts" in report["problems"][0]


# --- memory and names ---


def test_memory_verdicts(tmp_path):
    path = write(tmp_path / "m.gguf", gguf_bytes(GPT_OSS_META, TENSORS))
    size = Path(path).stat().st_size
    assert check_model(path, Memory(size * 4, size * 2))["memory"]["verdict"] == "fits"
    tight = check_model(path, Memory(size * 4, size // 2))
    assert tight["ok"] and tight["memory"]["verdict"] == "tight"
    assert "more than the" in tight["warnings"][0]
    too_big = check_model(path, Memory(size // 2, size // 4))
    assert not too_big["ok"] and too_big["memory"]["verdict"] == "too_big"
    assert "cannot fit in this machine's" in too_big["problems"][0]
    unknown = check_model(path, Memory(None, None))
    assert unknown["ok"] and unknown["memory"]["verdict"] == "unknown"
    # macOS: the total only; compared with the total.
    assert check_model(path, Memory(size * 4, None))["memory"]["verdict"] == "fits"


def test_a_file_named_for_another_quant_is_flagged(tmp_path):
    data = gguf_bytes(GPT_OSS_META, TENSORS)  # general.file_type 2 = Q4_0
    misnamed = check_model(write(tmp_path / "gpt-oss-20b-Q2_K.gguf", data), PLENTY)
    assert misnamed["ok"]
    assert misnamed["warnings"] == [
        "the file name says Q2_K but the header says Q4_0: the picker ranks files by their name"
    ]
    assert check_model(write(tmp_path / "gpt-oss-20b-Q4_0.gguf", data), PLENTY)["warnings"] == []


# --- the CLI ---


def test_cli_check_prints_the_report_and_exits_7_when_unusable(tmp_path, tiny_gpt_oss_model):
    runner = CliRunner()
    good = runner.invoke(cli, ["gguf", "check", str(tiny_gpt_oss_model)])
    assert good.exit_code == 0
    assert "architecture gpt-oss" in good.output and "verdict      ok" in good.output
    bad = write(tmp_path / "bad.gguf", b"nope" * 10)
    result = runner.invoke(cli, ["gguf", "check", "--json", bad])
    assert result.exit_code == 7
    report = json.loads(result.stdout.splitlines()[0])
    assert report["ok"] is False and report["parts"][0]["present"] is True


def test_cli_info_prints_the_metadata_as_json(tiny_gpt_oss_model):
    result = CliRunner().invoke(cli, ["gguf", "info", str(tiny_gpt_oss_model)])
    assert result.exit_code == 0
    meta = json.loads(result.output)
    assert meta["gpt-oss.attention.sliding_window"] == 128
    assert meta["GGUF.tensor_count"] == 41
