"""Read a GGUF file's header without loading the model: metadata, tensor table, split parts.

Standard library only (no numpy, no `gguf` package), so `gpt-oss-fast.sh --check-model`
can look at a 12 GB download before a start, and the KV-cache estimate can read the
architecture's numbers. The file is memory-mapped; only the header pages are touched.

The layout (GGUF v2 and v3, little- or big-endian; llama.cpp no longer loads v1):

    "GGUF"  uint32 version  uint64 tensor_count  uint64 kv_count
    kv_count x   (string key, uint32 value_type, value)
    tensor_count x (string name, uint32 n_dims, uint64 dims[n_dims], uint32 ggml_type,
                    uint64 offset)
    padding to `general.alignment` (default 32), then the tensor data

A string is a uint64 length and UTF-8 bytes; an array is a uint32 item type, a uint64
count and the items. Each part of a split model (split_parts) is a GGUF file of its own.
"""

from __future__ import annotations

import math
import mmap
import os
import re
import struct
from dataclasses import dataclass, field

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# Arrays longer than this (the tokenizer's 200k tokens and merges) are not kept, only
# their item type and length: every caller needs the scalars, none the vocabulary.
MAX_ARRAY_ITEMS = 1024

# GGUF value types in id order (0-12): name and struct format (None: string, array).
_TYPE_NAMES = "uint8 int8 uint16 int16 uint32 int32 float32 bool string array uint64 int64 float64"
_TYPE_FORMATS = ("B", "b", "H", "h", "I", "i", "f", "?", None, None, "Q", "q", "d")
_VALUE_TYPES = dict(enumerate(zip(_TYPE_NAMES.split(), _TYPE_FORMATS)))
_STRING, _ARRAY = 8, 9

# ggml tensor types: id -> (name, elements per block, bytes per block); ggml.h / ggml.c.
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

# `general.file_type` (llama.h's llama_ftype): the quant a file is named after.
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

SPLIT_NAME = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


class GGUFError(ValueError):
    """The file is not a GGUF file we can read: wrong magic, cut short, or corrupt."""


@dataclass(frozen=True)
class ArraySummary:
    """A long metadata array, not kept: its item type and length."""

    item_type: str
    length: int

    def to_json(self) -> dict:
        return {"array_of": self.item_type, "length": self.length}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section

    @property
    def type_name(self) -> str:
        return GGML_TYPES.get(self.ggml_type, (f"type {self.ggml_type}", 0, 0))[0]

    @property
    def n_bytes(self) -> int | None:
        """Bytes of the tensor's data; None for a ggml type this table does not know."""
        if self.ggml_type not in GGML_TYPES:
            return None
        _, block, size = GGML_TYPES[self.ggml_type]
        return math.prod(self.shape) // block * size


@dataclass
class Header:
    """Everything before the tensor data of one GGUF file."""

    path: str
    file_size: int
    version: int
    byte_order: str  # "little" or "big"
    metadata: dict = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0

    @property
    def expected_size(self) -> int | None:
        """The smallest file size that holds every tensor; None when a type is unknown."""
        end = self.data_offset
        for tensor in self.tensors:
            size = tensor.n_bytes
            if size is None:
                return None
            end = max(end, self.data_offset + tensor.offset + size)
        return end


class _Cursor:
    """Reads GGUF values from a buffer; running past its end raises GGUFError."""

    def __init__(self, buffer, order: str, path: str) -> None:
        self.buffer, self.pos, self.path = buffer, 0, path
        self.prefix = "<" if order == "little" else ">"
        self.size = len(buffer)

    def _need(self, n: int, what: str) -> None:
        if self.pos + n > self.size:
            raise GGUFError(
                f"{self.path}: truncated: the header needs more than its {self.size} bytes "
                f"(cut short while reading {what})"
            )

    def scalar(self, fmt: str, what: str):
        size = struct.calcsize(fmt)
        self._need(size, what)
        (value,) = struct.unpack_from(self.prefix + fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def string(self, what: str, keep: bool = True) -> str:
        length = self.scalar("Q", what)
        self._need(length, what)
        start = self.pos
        self.pos += length
        if not keep:
            return ""
        try:
            return bytes(self.buffer[start : self.pos]).decode("utf-8")
        except UnicodeDecodeError:
            raise GGUFError(f"{self.path}: corrupt: {what} is not UTF-8 text") from None

    def value(self, value_type: int, what: str, keep: bool = True):
        if value_type not in _VALUE_TYPES:
            raise GGUFError(f"{self.path}: corrupt: {what} has unknown value type {value_type}")
        if value_type == _STRING:
            return self.string(what, keep)
        if value_type == _ARRAY:
            item_type = self.scalar("I", what)
            count = self.scalar("Q", what)
            if item_type not in _VALUE_TYPES or count > self.size:
                raise GGUFError(f"{self.path}: corrupt: {what} is not a readable array")
            if count > MAX_ARRAY_ITEMS or not keep:
                fmt = _VALUE_TYPES[item_type][1]
                if fmt is not None:  # fixed-size items: skip them in one step
                    self._need(count * struct.calcsize(fmt), what)
                    self.pos += count * struct.calcsize(fmt)
                else:
                    for _ in range(count):
                        self.value(item_type, what, keep=False)
                return ArraySummary(_VALUE_TYPES[item_type][0], count)
            return [self.value(item_type, what) for _ in range(count)]
        return self.scalar(_VALUE_TYPES[value_type][1], what)


def _byte_order(head: bytes, path: str) -> tuple[str, int]:
    if len(head) < 8:
        raise GGUFError(f"{path}: not a GGUF file: only {len(head)} bytes")
    if head[:4] != MAGIC:
        raise GGUFError(f"{path}: not a GGUF file: it starts with {head[:4]!r}, not b'GGUF'")
    little = struct.unpack_from("<I", head, 4)[0]
    big = struct.unpack_from(">I", head, 4)[0]
    # A big-endian file's version reads as a huge number in little-endian order.
    order, version = ("little", little) if little <= 0xFFFF else ("big", big)
    if version == 1:
        raise GGUFError(f"{path}: GGUF version 1 is too old: llama.cpp no longer loads it")
    if version not in (2, 3):
        raise GGUFError(f"{path}: unsupported GGUF version {version}")
    return order, version


def read_header(path: str | os.PathLike, tensors: bool = True) -> Header:
    """The header of one GGUF file; with `tensors`, the tensor table too (needed for the
    data offset and the size a complete file has). Raises GGUFError, or OSError when
    the file cannot be opened."""
    name = os.fspath(path)
    with open(name, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 24:
            _byte_order(handle.read(8), name)  # the better message when the magic is wrong
            raise GGUFError(f"{name}: truncated: {size} bytes, less than a GGUF header")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            return _parse(buffer, name, size, tensors)


def _parse(buffer, name: str, size: int, with_tensors: bool) -> Header:
    order, version = _byte_order(buffer[:8], name)
    cursor = _Cursor(buffer, order, name)
    cursor.pos = 8
    tensor_count = cursor.scalar("Q", "the tensor count")
    kv_count = cursor.scalar("Q", "the metadata count")
    if tensor_count > size or kv_count > size:
        raise GGUFError(f"{name}: corrupt: {tensor_count} tensors, {kv_count} metadata keys")
    header = Header(name, size, version, order)
    for index in range(kv_count):
        key = cursor.string(f"metadata key {index + 1} of {kv_count}")
        value_type = cursor.scalar("I", f"the type of {key}")
        header.metadata[key] = cursor.value(value_type, key)
    header.metadata["GGUF.tensor_count"] = tensor_count
    if not with_tensors:
        return header
    for index in range(tensor_count):
        what = f"tensor {index + 1} of {tensor_count}"
        tensor_name = cursor.string(what)
        n_dims = cursor.scalar("I", what)
        if n_dims > 8:
            raise GGUFError(f"{name}: corrupt: {tensor_name} has {n_dims} dimensions")
        shape = tuple(cursor.scalar("Q", what) for _ in range(n_dims))
        ggml_type = cursor.scalar("I", what)
        offset = cursor.scalar("Q", what)
        header.tensors.append(TensorInfo(tensor_name, shape, ggml_type, offset))
    alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = DEFAULT_ALIGNMENT
    header.data_offset = -(-cursor.pos // alignment) * alignment
    return header


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata of a GGUF file as {key: value} (keys as written, e.g.
    gpt-oss.block_count), plus "GGUF.tensor_count"; arrays over MAX_ARRAY_ITEMS items as
    ArraySummary. Raises GGUFError (not GGUF, truncated, corrupt) or OSError (unreadable)."""
    return read_header(path, tensors=False).metadata


def split_parts(path: str | os.PathLike) -> list[str]:
    """Every part of the model `path` belongs to, in order: for `NAME-0000N-of-0000M.gguf`
    (gguf-split) the M names NAME-00001-of-0000M.gguf ... (present or not; the first holds
    the model's metadata); otherwise [path]."""
    name = os.fspath(path)
    directory, base = os.path.split(name)
    match = SPLIT_NAME.match(base)
    if not match or int(match["count"]) < 1:
        return [name]
    count = int(match["count"])
    return [
        os.path.join(directory, f"{match['prefix']}-{n:05d}-of-{count:05d}.gguf")
        for n in range(1, count + 1)
    ]


def quant_of(header: Header) -> str | None:
    """The quant a model file carries: `general.file_type` when set, else the ggml type
    holding most of the tensor bytes (None when neither tells)."""
    file_type = header.metadata.get("general.file_type")
    if isinstance(file_type, int):
        return FILE_TYPES.get(file_type, f"file type {file_type}")
    weight: dict[str, int] = {}
    for tensor in header.tensors:
        weight[tensor.type_name] = weight.get(tensor.type_name, 0) + (tensor.n_bytes or 0)
    return max(weight, key=weight.__getitem__) if weight else None


def json_safe(metadata: dict) -> dict:
    """The metadata with ArraySummary values as {"array_of", "length"}, for JSON."""
    return {
        key: value.to_json() if isinstance(value, ArraySummary) else value
        for key, value in metadata.items()
    }
