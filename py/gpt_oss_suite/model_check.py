"""Is this GGUF model usable here? An offline check before a multi-gigabyte load.

`check_model(path)` reads the header of every split part (gguf_header.py) and answers:
readable, a GGUF file, its architecture and quant, every part present and complete
(the tensor table says how big a whole file is, so a download cut short is caught), and
whether the weights plausibly fit this machine's memory. `gpt-oss-fast.sh --check-model`
runs it through `gpt-oss-py gguf check`. Memory: the suite loads the whole model into RAM
(no mmap, the guide's first lesson), so the weights' bytes are compared with the machine's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

from .errors import EXIT_NO_MODEL, SuiteError
from .gguf_header import FILE_TYPES, GGUFError, Header, quant_of, read_header, split_parts

# A quant as model files name it (the same spellings scripts/lib/model_pick.sh ranks).
NAME_QUANT = re.compile(
    r"(?<![A-Z0-9])(IQ[1-4]_[A-Z0-9]+|Q[2-8]_[0-9A-Z](?:_[A-Z])?|MXFP4|BF16|F16|F32)(?![A-Z0-9])"
)


class ModelError(SuiteError):
    """The model file is missing, not GGUF, incomplete, or cannot fit this machine."""

    exit_code = EXIT_NO_MODEL


@dataclass(frozen=True)
class Memory:
    total_bytes: int | None
    available_bytes: int | None  # None where the OS does not say cheaply (macOS)


def system_memory() -> Memory:
    """Total and available RAM: /proc/meminfo on Linux, `sysctl hw.memsize` on macOS."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            fields = {}
            for line in handle:  # "MemTotal:       24683860 kB"
                key, _, rest = line.partition(":")
                value = rest.split()
                if value and value[0].isdigit():
                    fields[key] = int(value[0]) * 1024
        return Memory(fields.get("MemTotal"), fields.get("MemAvailable"))
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "hw.memsize"], capture_output=True, text=True, timeout=5
            ).stdout
            return Memory(int(out.strip()), None)
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    return Memory(None, None)


def _part_report(path: str) -> tuple[dict, Header | None]:
    part: dict = {"path": path, "present": os.path.exists(path), "bytes": None, "problem": None}
    if not part["present"]:
        part["problem"] = "no such file"
        return part, None
    try:
        header = read_header(path)
    except GGUFError as err:
        part["bytes"] = os.path.getsize(path)
        part["problem"] = str(err).split(": ", 1)[1]
        return part, None
    except OSError as err:
        part["problem"] = f"cannot read it: {err.strerror}"
        return part, None
    part["bytes"] = header.file_size
    expected = header.expected_size
    if expected is not None and header.file_size < expected:
        part["problem"] = (
            f"truncated: {header.file_size} bytes, its tensor table needs {expected} "
            "(a download cut short?)"
        )
    return part, header


def _memory_verdict(size: int, memory: Memory) -> str:
    if memory.total_bytes is None:
        return "unknown"
    if size > memory.total_bytes:
        return "too_big"
    limit = memory.available_bytes if memory.available_bytes is not None else memory.total_bytes
    return "tight" if size > limit else "fits"


def check_model(path: str, memory: Memory | None = None) -> dict:
    """The verdict on one model file (any part of a split model names the whole model):
    the report `gguf check --json` prints (docs/reference.md); `ok` is false when there is
    a problem."""
    memory = memory or system_memory()
    parts, headers = [], []
    for part_path in split_parts(path):
        part, header = _part_report(part_path)
        parts.append(part)
        headers.append(header)
    first = headers[0]
    meta = first.metadata if first else {}
    report: dict = {
        "path": path,
        "ok": False,
        "problems": [f"{p['path']}: {p['problem']}" for p in parts if p["problem"]],
        "warnings": [],
        "gguf_version": first.version if first else None,
        "architecture": meta.get("general.architecture"),
        "name": meta.get("general.name"),
        "quant": quant_of(first) if first else None,
        "file_type": meta.get("general.file_type"),
        "tensor_count": sum(len(h.tensors) for h in headers) if all(headers) else None,
        "parts": parts,
        "size_bytes": sum(p["bytes"] or 0 for p in parts),
        "memory": {
            "total_bytes": memory.total_bytes,
            "available_bytes": memory.available_bytes,
            "verdict": "unknown",
        },
    }
    if first is not None and not isinstance(report["architecture"], str):
        report["problems"].append(f"{path}: no general.architecture: not a model file")
    count = meta.get("split.count")
    if isinstance(count, int) and count > 1 and len(parts) != count:
        report["problems"].append(
            f"{path}: the header says {count} split parts, but the file name is not "
            "NAME-00001-of-NNNNN.gguf, so the other parts cannot be found"
        )
    _compare_name_and_header(report)  # nothing to compare without a header (no quant)
    if report["architecture"] not in (None, "gpt-oss"):
        report["warnings"].append(
            f"architecture {report['architecture']}, not gpt-oss: the raw path works, "
            "Harmony prompts and tools expect a gpt-oss model"
        )
    if not report["problems"]:
        verdict = _memory_verdict(report["size_bytes"], memory)
        report["memory"]["verdict"] = verdict
        size, total, free = report["size_bytes"], memory.total_bytes, memory.available_bytes
        if verdict == "too_big":
            report["problems"].append(
                f"{_gb(size)} of weights cannot fit in this machine's {_gb(total)} of memory "
                "(the suite loads the whole model: no mmap); pick a smaller model"
            )
        elif verdict == "tight":
            report["warnings"].append(
                f"{_gb(size)} of weights is more than the {_gb(free)} of memory available "
                "now: other programs will be paged out, or the load will be slow"
            )
    report["ok"] = not report["problems"]
    return report


def _compare_name_and_header(report: dict) -> None:
    # The picker ranks files by the quant in their name; a misnamed file is ranked wrong.
    named = NAME_QUANT.search(os.path.basename(report["path"]).upper())
    quant = (report["quant"] or "").upper()
    agree = named and (quant.startswith(named[1]) or named[1].startswith(quant))
    if named and quant in FILE_TYPES.values() and not agree:
        report["warnings"].append(
            f"the file name says {named[1]} but the header says {report['quant']}: "
            "the picker ranks files by their name"
        )


def _gb(n: int | None) -> str:
    if n is None:
        return "? GB"
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def format_report(report: dict) -> str:
    """The human report: one `key  value` line each, like gpt-oss-status.sh."""
    parts = report["parts"]
    present = sum(1 for p in parts if p["present"])
    quant = report["quant"] or "unknown"
    if report["file_type"] is not None:
        quant += f"  (general.file_type {report['file_type']})"
    memory = report["memory"]
    mem_line = f"{_gb(report['size_bytes'])} of weights; {_gb(memory['total_bytes'])} total"
    if memory["available_bytes"] is not None:
        mem_line += f", {_gb(memory['available_bytes'])} available"
    verdict = memory["verdict"].replace("_", " ")
    mem_line += f": {verdict}" if report["ok"] or verdict != "unknown" else ": not checked"
    rows = [
        ("file", report["path"]),
        ("gguf", f"version {report['gguf_version']}" if report["gguf_version"] else "unreadable"),
        ("architecture", report["architecture"] or "unknown"),
        ("name", report["name"] or "unknown"),
        ("quant", quant),
        ("tensors", str(report["tensor_count"] or "unknown")),
        ("parts", f"{present} of {len(parts)} present"),
        ("memory", mem_line),
    ]
    lines = [f"{key:<13}{value}" for key, value in rows]
    lines += [f"{'problem':<13}{problem}" for problem in report["problems"]]
    lines += [f"{'warning':<13}{warning}" for warning in report["warnings"]]
    lines.append(f"{'verdict':<13}{'ok' if report['ok'] else 'not usable'}")
    return "\n".join(lines)


def require_usable(report: dict) -> None:
    """Raises ModelError (exit 7) naming the first problem, when there is one."""
    if report["problems"]:
        more = len(report["problems"]) - 1
        extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ModelError(f"{report['problems'][0]}{extra}")
