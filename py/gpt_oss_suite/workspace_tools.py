"""Read-only workspace tools the model may call: list_files, read_file, grep.

Every tool works only inside one workspace directory (`local-infer.sh --workspace`):
paths are relative to it; `..`, absolute paths and symlinks that resolve outside it are
refused. Output is capped (lines and bytes) and ends with a truncation marker when cut;
binary files are refused. A refusal or a bad argument is not an exception for the
caller: `run_tool` returns it as an error result, which goes back to the model as the
tool's answer, so a confused model gets a chance to correct itself and never crashes
the client.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MAX_LINES = 200  # per tool result
MAX_BYTES = 8000  # per tool result (UTF-8)
MAX_LINE_CHARS = 300  # per grep match line
MAX_DEPTH = 8
MAX_GREP_FILE_BYTES = 1_000_000  # grep skips larger files
BINARY_SNIFF_BYTES = 8192
SKIPPED_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".tox"}

TOOL_SPECS: list[dict] = [
    {
        "type": "function",
        "function": {
            "name": "list_files",
            "description": "List workspace files matching a glob",
            "parameters": {
                "type": "object",
                "properties": {
                    "glob": {"type": "string", "default": "*"},
                    "depth": {"type": "integer", "default": 2},
                },
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read lines of a workspace file",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "start_line": {"type": "integer", "default": 1},
                    "end_line": {"type": "integer"},
                },
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "grep",
            "description": "Search workspace files for a regex",
            "parameters": {
                "type": "object",
                "properties": {
                    "pattern": {"type": "string"},
                    "path": {"type": "string", "default": "."},
                },
                "required": ["pattern"],
            },
        },
    },
]
TOOL_NAMES = tuple(spec["function"]["name"] for spec in TOOL_SPECS)


class ToolError(Exception):
    """A refusal or a bad argument; its message is what the model sees."""


@dataclass
class ToolResult:
    name: str
    ok: bool
    output: str

    def for_model(self) -> str:
        return self.output if self.ok else f"error: {self.output}"


class _Capped:
    """Collects output lines up to MAX_LINES / MAX_BYTES, then notes what was cut."""

    def __init__(self) -> None:
        self.max_lines, self.max_bytes = MAX_LINES, MAX_BYTES
        self.lines: list[str] = []
        self.size = 0
        self.full = False

    def add(self, line: str) -> bool:
        """Add a line; False once the cap is reached (the caller may stop)."""
        if self.full:
            return False
        size = len(line.encode("utf-8")) + 1
        if len(self.lines) >= self.max_lines or self.size + size > self.max_bytes:
            self.full = True
            return False
        self.lines.append(line)
        self.size += size
        return True

    def text(self, marker: str) -> str:
        body = "\n".join(self.lines)
        return f"{body}\n{marker}" if self.full else body


class Workspace:
    """The tools, confined to `root` (resolved once; symlinks in it are followed only
    when they resolve inside it)."""

    def __init__(self, root: str | os.PathLike) -> None:
        path = Path(root)
        if not path.is_dir():
            raise ValueError(f"workspace {str(root)!r} is not a directory")
        self.root = path.resolve()

    # ---- paths

    def resolve(self, rel: Any, what: str = "path") -> Path:
        """The real path of `rel` inside the workspace, or ToolError."""
        if not isinstance(rel, str):
            raise ToolError(f"{what} must be a string")
        rel = rel.strip() or "."
        if "\0" in rel:
            raise ToolError(f"{what} holds a NUL byte")
        if rel.startswith(("/", "\\", "~")) or os.path.isabs(rel) or re.match(r"^[A-Za-z]:", rel):
            raise ToolError(f"{what} {rel!r} is absolute; give a path relative to the workspace")
        if ".." in re.split(r"[/\\]", rel):
            raise ToolError(f"{what} {rel!r} uses '..'; paths must stay inside the workspace")
        real = Path(os.path.realpath(self.root / rel))
        if not self._inside(real):
            raise ToolError(f"{what} {rel!r} resolves outside the workspace (symlink)")
        return real

    def _inside(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def relative(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return rel or "."

    def _walk(self, top: Path, max_depth: int):
        """(path, is_dir, depth) under top, sorted; VCS/cache dirs and symlinks that leave
        the workspace are skipped; symlinked directories are listed, not entered."""
        stack = [(top, 0)]
        while stack:
            directory, depth = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            subdirs = []
            for entry in entries:
                path = Path(entry.path)
                if entry.is_symlink() and not self._inside(Path(os.path.realpath(path))):
                    continue
                is_dir = entry.is_dir()
                if is_dir and entry.name in SKIPPED_DIRS:
                    continue
                yield path, is_dir, depth + 1
                # Hidden directories are listed, not entered (name them to search them).
                hidden = entry.name.startswith(".")
                if is_dir and depth + 1 < max_depth and not entry.is_symlink() and not hidden:
                    subdirs.append((path, depth + 1))
            stack.extend(reversed(subdirs))

    # ---- tools

    def list_files(self, glob: Any = "*", depth: Any = 2) -> str:
        """Paths (relative, `/` after directories) matching `glob` within `depth` levels."""
        if glob is None:
            glob = "*"
        if not isinstance(glob, str):
            raise ToolError("glob must be a string")
        depth = _int_arg(depth, "depth", 2)
        if depth < 1:
            raise ToolError("depth must be 1 or more")
        depth = min(depth, MAX_DEPTH)
        glob = glob.strip() or "*"
        if glob.startswith(("/", "~")) or ".." in glob.split("/"):
            raise ToolError(f"glob {glob!r} must be relative to the workspace, without '..'")
        pattern = glob[:-1] if glob.endswith("/") and len(glob) > 1 else glob
        out = _Capped()
        total = 0
        for path, is_dir, _ in self._walk(self.root, depth):
            rel = self.relative(path)
            if not _glob_match(rel, pattern):
                continue
            total += 1
            out.add(rel + ("/" if is_dir else ""))
        if total == 0:
            return f"no files match {glob!r} within depth {depth}"
        return out.text(f"[truncated: {len(out.lines)} of {total} entries shown; narrow the glob]")

    def read_file(self, path: Any, start_line: Any = 1, end_line: Any = None) -> str:
        """Lines start_line..end_line (1-based, inclusive) of a text file."""
        real = self.resolve(path)
        if real.is_dir():
            raise ToolError(f"{path!r} is a directory; use list_files")
        if not real.is_file():
            raise ToolError(f"{path!r} does not exist")
        start = _int_arg(start_line, "start_line", 1)
        end = _int_arg(end_line, "end_line", None)
        if start < 1:
            raise ToolError("start_line must be 1 or more")
        if end is not None and end < start:
            raise ToolError("end_line must not be before start_line")
        text = _read_text(real, path)
        lines = text.splitlines()
        if not lines:
            return "(empty file)"
        if start > len(lines):
            raise ToolError(f"{path!r} has only {len(lines)} lines")
        last = len(lines) if end is None else min(end, len(lines))
        out = _Capped()
        shown = start - 1
        for line in lines[start - 1 : last]:
            if not out.add(line):
                break
            shown += 1
        marker = (
            f"[truncated: showing lines {start}-{shown} of {len(lines)}; "
            f"read on with start_line={shown + 1}]"
        )
        return out.text(marker)

    def grep(self, pattern: Any, path: Any = ".") -> str:
        """`file:line:text` for every line matching the regex `pattern`."""
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("pattern must be a non-empty string")
        try:
            regex = re.compile(pattern)
        except re.error as err:
            raise ToolError(f"pattern is not a valid regular expression: {err}") from None
        real = self.resolve("." if path is None else path)
        if not real.exists():
            raise ToolError(f"{path!r} does not exist")
        if real.is_file():
            files = [real]
        else:
            # Like `grep -r`: symlinks met on the way are not followed (no duplicates).
            walk = self._walk(real, MAX_DEPTH)
            files = [p for p, is_dir, _ in walk if not is_dir and not p.is_symlink()]
        out = _Capped()
        matches = 0
        for file in files:
            try:
                if file.stat().st_size > MAX_GREP_FILE_BYTES:
                    continue
                text = _read_text(file, self.relative(file))
            except (ToolError, OSError):
                if len(files) == 1:
                    raise
                continue  # binary or unreadable: skipped in a directory search
            for number, line in enumerate(text.splitlines(), 1):
                if regex.search(line):
                    matches += 1
                    if len(line) > MAX_LINE_CHARS:
                        line = line[:MAX_LINE_CHARS] + "…"
                    out.add(f"{self.relative(file)}:{number}:{line}")
        if matches == 0:
            return f"no match for {pattern!r}"
        return out.text(f"[truncated: {len(out.lines)} of {matches} matches shown]")


def _glob_match(rel: str, pattern: str) -> bool:
    """A glob without `/` matches the name at any depth (`*.py`); with `/` it matches
    the whole relative path (`src/*.py`, `**/x`)."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(PurePosixPath(rel).name, pattern)
    if fnmatch.fnmatchcase(rel, pattern):
        return True
    return pattern.startswith("**/") and fnmatch.fnmatchcase(rel, pattern[3:])


def _int_arg(value: Any, name: str, default: int | None) -> Any:
    if value is None:
        return default
    if isinstance(value, bool):
        raise ToolError(f"{name} must be a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if not isinstance(value, int):
        raise ToolError(f"{name} must be a whole number, got {value!r}")
    return value


def _read_text(real: Path, shown: Any) -> str:
    try:
        with open(real, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ToolError(f"cannot read {shown!r}: {err.strerror}") from None
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise ToolError(f"{shown!r} is a binary file; only text files can be read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{shown!r} is not UTF-8 text (binary?)") from None


def run_tool(workspace: Workspace | None, name: Any, arguments: Any) -> ToolResult:
    """Run one tool call; never raises for the model's mistakes.

    `name` may carry the `functions.` prefix (the old client's lookup bug); `arguments`
    is the parsed JSON (a dict), or anything else, which is reported back as an error.
    """
    shown = str(name)
    bare = shown[len("functions.") :] if shown.startswith("functions.") else shown
    if workspace is None:
        return ToolResult(bare, False, "no tools are enabled in this session")
    if bare not in TOOL_NAMES:
        return ToolResult(
            bare, False, f"unknown tool {shown!r}; available: {', '.join(TOOL_NAMES)}"
        )
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return ToolResult(bare, False, "arguments must be a JSON object")
    method = getattr(workspace, bare)
    try:
        return ToolResult(bare, True, method(**arguments))
    except TypeError as err:
        return ToolResult(bare, False, f"bad arguments for {bare}: {_type_error(err)}")
    except ToolError as err:
        return ToolResult(bare, False, str(err))
    except OSError as err:
        return ToolResult(bare, False, f"{bare} failed: {err.strerror or err}")


def _type_error(err: TypeError) -> str:
    # "Workspace.read_file() got an unexpected keyword argument 'x'" → without the class.
    return re.sub(r"^\w+\.(\w+\(\))", r"\1", str(err))
