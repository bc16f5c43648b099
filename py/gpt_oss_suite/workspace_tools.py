"""Read-only workspace tools the model may call: list_files, read_file, grep.

Every tool works only inside one workspace directory (`local-infer.sh --workspace`), with
capped output; docs/local-infer.md lists the rules for an untidy workspace and the limits.
A refusal or a bad argument is not an exception: `run_tool` returns it as an error result,
which goes back to the model as the tool's answer, so a confused model can correct itself
and never crashes the client. Every result passes through harmony_guard: it is untrusted
text on its way into a prompt.
"""

from __future__ import annotations

import codecs
import errno
import fnmatch
import itertools
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, NamedTuple

from .harmony_guard import LONE_SURROGATE, has_lone_surrogate, neutralize_specials

MAX_LINES = 200  # per tool result
MAX_BYTES = 8000  # per tool result (UTF-8)
MAX_LINE_CHARS = 300  # per grep match line
MAX_DEPTH = 8
MAX_GREP_FILE_BYTES = 1_000_000  # grep skips larger files
BINARY_SNIFF_BYTES = 8192  # the first block: a NUL byte in it means binary
COUNT_AHEAD_BYTES = 1_000_000  # read_file reads this far past its output to count lines
MAX_SKIPS_NAMED = 5  # skipped entries named in the [skipped ...] line
REGEX_SECONDS = 1.0  # regex matching time one grep call may spend, all lines together
MAX_TOOL_CALLS_PER_REPLY = 8  # calls of one model reply that run; the rest: "not run"
MAX_TOOL_SECONDS = 30.0  # tool time of one run (all replies); then every call: "not run"
SKIPPED_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".tox"}


def _tool_spec(name: str, description: str, properties: dict, *required: str) -> dict:
    parameters: dict = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = list(required)
    function = {"name": name, "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


TOOL_SPECS: list[dict] = [
    _tool_spec(
        "list_files",
        "List workspace files matching a glob",
        {"glob": {"type": "string", "default": "*"}, "depth": {"type": "integer", "default": 2}},
    ),
    _tool_spec(
        "read_file",
        "Read lines of a workspace file",
        {
            "path": {"type": "string"},
            "start_line": {"type": "integer", "default": 1},
            "end_line": {"type": "integer"},
        },
        "path",
    ),
    _tool_spec(
        "grep",
        "Search workspace files for a regex",
        {"pattern": {"type": "string"}, "path": {"type": "string", "default": "."}},
        "pattern",
    ),
]
TOOL_NAMES = tuple(spec["function"]["name"] for spec in TOOL_SPECS)


class ToolError(Exception):
    """A refusal or a bad argument; its message is what the model sees."""


class ToolResult:
    """One call's outcome. `skipped`: why it was not run (a ToolBudget limit), else None;
    `dropped`: left out of the conversation, kept in the --json transcript. A plain class:
    `dataclasses` costs start-up time."""

    def __init__(
        self, name: str, ok: bool, output: str, skipped: str | None = None, dropped: bool = False
    ) -> None:
        self.name, self.ok, self.output = name, ok, output
        self.skipped, self.dropped = skipped, dropped

    def __repr__(self) -> str:
        return f"ToolResult({self.name!r}, ok={self.ok}, output={self.output!r})"

    def for_model(self) -> str:
        return self.output if self.ok else f"error: {self.output}"


class _Capped:
    """Collects output lines up to MAX_LINES / MAX_BYTES, then notes what was cut."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.total = 0  # lines offered, shown or not
        self.full = False
        self.cut_line = False  # the one line shown was cut to fit

    def add(self, line: str, cut_to_fit: bool = False) -> bool:
        """Add a line; False once the cap is reached (the caller may stop). With
        `cut_to_fit`, a first line too long for the byte cap is shown cut."""
        self.total += 1
        if self.full:
            return False
        size = len(line.encode("utf-8")) + 1
        if len(self.lines) >= MAX_LINES or self.size + size > MAX_BYTES:
            self.full = True
            if cut_to_fit and not self.lines:
                room = max(MAX_BYTES - len("…".encode()) - 1, 0)
                self.lines.append(line.encode()[:room].decode("utf-8", "ignore") + "…")
                self.cut_line = True
                return True
            return False
        self.lines.append(line)
        self.size += size
        return True

    def text(self, marker: str) -> str:
        body = "\n".join(self.lines)
        return f"{body}\n{marker}" if self.full else body


class _Skips(list):
    """Entries a walk could not use, named in one line at the end of the answer."""

    def add(self, rel: str, reason: str) -> None:
        self.append(f"{_printable(rel)}: {reason}")

    def note(self) -> str | None:
        if not self:
            return None
        named = "; ".join(self[:MAX_SKIPS_NAMED])
        more = len(self) - MAX_SKIPS_NAMED
        tail = f"; and {more} more" if more > 0 else ""
        count = len(self)
        return f"[skipped {count} entr{'y' if count == 1 else 'ies'}: {named}{tail}]"


class _Entry(NamedTuple):
    path: Path
    is_dir: bool
    is_link: bool
    special: str | None  # what it (or its target) is when not a regular file or directory


STOPPED_MARKER = "[stopped: the tools' time budget ran out; the results above are partial]"


class Workspace:
    """The tools, confined to `root` (resolved once; symlinks in it are followed only
    when they resolve inside it)."""

    def __init__(self, root: str | os.PathLike) -> None:
        path = Path(root)
        if not path.is_dir():
            raise ValueError(f"workspace {str(root)!r} is not a directory")
        self.root = path.resolve()
        self.deadline: float | None = None  # time.monotonic() value; run_tool sets it
        self.stopped = False  # the deadline cut the last list or grep short

    def time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def out_of_time(self) -> bool:
        """The deadline has passed: what is running stops (and says so)."""
        if self.time_left() <= 0:
            self.stopped = True
        return self.stopped

    def resolve(self, rel: Any, what: str = "path") -> Path:
        """The real path of `rel` inside the workspace, or ToolError."""
        if not isinstance(rel, str):
            raise ToolError(f"{what} must be a string")
        rel = rel.strip() or "."
        if "\0" in rel:
            raise ToolError(f"{what} holds a NUL byte")
        if has_lone_surrogate(rel):
            raise ToolError(f"{what} {rel!r} holds a lone surrogate, which is not text")
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
        return path.relative_to(self.root).as_posix() or "."

    def _walk(self, top: Path, max_depth: int, skips: _Skips) -> Iterator[_Entry]:
        """Entries under top, sorted, depth first, without VCS/cache dirs and symlinks
        that leave the workspace; what it cannot use goes to `skips`. Stops early (no
        error) once the deadline has passed."""
        stack = [(top, 0)]
        while stack:
            if self.out_of_time():
                return
            directory, depth = stack.pop()
            try:
                with os.scandir(directory) as scan:
                    entries = sorted(scan, key=lambda e: e.name)
            except OSError as err:
                skips.add(self.relative(directory) + "/", f"unreadable: {err.strerror}")
                continue
            subdirs = []
            for entry in entries:
                path = Path(entry.path)
                if has_lone_surrogate(entry.name):  # scandir needed surrogateescape
                    skips.add(self.relative(path), "name is not UTF-8")
                    continue
                try:
                    is_link, is_dir, special = _entry_kind(entry)
                except OSError as err:
                    if err.errno == errno.ELOOP:
                        skips.add(self.relative(path), "symlink loop")
                    continue  # else it vanished while we looked
                if is_link and not self._inside(Path(os.path.realpath(path))):
                    continue
                if is_dir and entry.name in SKIPPED_DIRS:
                    continue
                yield _Entry(path, is_dir, is_link, special)
                # Hidden directories are listed, not entered (name them to search them).
                hidden = entry.name.startswith(".")
                if is_dir and depth + 1 < max_depth and not is_link and not hidden:
                    subdirs.append((path, depth + 1))
            stack.extend(reversed(subdirs))

    def list_files(self, glob: Any = "*", depth: Any = 2) -> str:
        """Paths (relative, `/` after directories) matching `glob` within `depth` levels."""
        glob = "*" if glob is None else glob
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
        skips = _Skips()
        for entry in self._walk(self.root, depth, skips):
            rel = self.relative(entry.path)
            if _glob_match(rel, pattern):
                out.add(rel + ("/" if entry.is_dir else ""))
        empty = f"no files match {glob!r} within depth {depth}"
        return self._answer(out, skips, empty, "entries shown; narrow the glob")

    def read_file(self, path: Any, start_line: Any = 1, end_line: Any = None) -> str:
        """Lines start_line..end_line (1-based, inclusive) of a text file."""
        real = self.resolve(path)
        start = _int_arg(start_line, "start_line", 1)
        end = _int_arg(end_line, "end_line", None)
        if start < 1:
            raise ToolError("start_line must be 1 or more")
        if end is not None and end < start:
            raise ToolError("end_line must not be before start_line")
        with _open_regular(real, path) as file:
            if b"\0" in file.read(BINARY_SNIFF_BYTES):
                raise ToolError(f"{path!r} is a binary file; only text files can be read")
            file.seek(0)
            out = _Capped()
            number = shown = 0
            cut = False
            for number, (raw, cut) in enumerate(_lines(file, MAX_BYTES, self.out_of_time), 1):
                if number < start:
                    if number % 4096 == 0 and self.out_of_time():
                        raise ToolError(f"the tools' time budget ran out before line {start}")
                    continue
                if not out.add(_decode(raw, cut, path), cut_to_fit=True):
                    break
                shown = number
                if out.full or (end is not None and number >= end):
                    break
            if number == 0:
                return "(empty file)"
            if shown == 0 and not out.full:
                raise ToolError(f"{path!r} has only {number} lines")
            if not out.full:
                return out.text("")
            total = _count_lines(file, number, mid_line=cut)
        of = f"of {total}" if total is not None else f"of more than {number}"
        note = f"; line {shown} is cut" if out.cut_line else ""
        return out.text(
            f"[truncated: showing lines {start}-{shown} {of}{note}; "
            f"read on with start_line={shown + 1}]"
        )

    def grep(self, pattern: Any, path: Any = ".") -> str:
        """`file:line:text` for every line matching the regex `pattern`."""
        from .time_limit import TimeLimit, TimeLimitExceeded

        compiled = _compile_pattern(pattern)
        real = self.resolve("." if path is None else path)
        skips = _Skips()
        is_dir = os.path.isdir(real)  # if it cannot be read, _open_regular below says why
        if is_dir:
            files = []
            # Like `grep -r`: symlinks met on the way are not followed (no duplicates).
            for entry in self._walk(real, MAX_DEPTH, skips):
                if entry.is_dir or entry.is_link:
                    continue
                if entry.special:
                    skips.add(self.relative(entry.path), entry.special)
                    continue
                files.append(entry.path)
        else:
            files = [real]
        out = _Capped()
        regex_left = REGEX_SECONDS
        for file in files:
            if self.out_of_time():
                break
            try:
                text = _read_small_text(file, self.relative(file))
            except ToolError:
                if not is_dir:
                    raise
                continue  # binary, too large or unreadable: skipped in a directory search
            hits: list[tuple[int, str]] = []
            number = 0
            started = time.monotonic()
            try:
                with TimeLimit(min(regex_left, self.time_left())):
                    for number, line in enumerate(_split_lines(text), 1):
                        if compiled.search(line):
                            hits.append((number, line))
            except TimeLimitExceeded:
                if not self.out_of_time():
                    raise ToolError(
                        f"the pattern {pattern!r} needed more than {REGEX_SECONDS:g} s of "
                        f"matching (stopped at {self.relative(file)}:{number}); simplify it "
                        "(nested repeats such as (a+)+ can backtrack for ever) or narrow "
                        "the path"
                    ) from None
            regex_left -= time.monotonic() - started
            for number, line in hits:
                shown = line[:MAX_LINE_CHARS] + "…" if len(line) > MAX_LINE_CHARS else line
                out.add(f"{self.relative(file)}:{number}:{shown}")
        return self._answer(out, skips, f"no match for {pattern!r}", "matches shown")

    def _answer(self, out: _Capped, skips: _Skips, empty: str, shown: str) -> str:
        """The lines of a list or grep (else `empty`), then the stopped and skipped notes."""
        text = out.text(f"[truncated: {len(out.lines)} of {out.total} {shown}]")
        notes = (STOPPED_MARKER if self.stopped else None, skips.note())
        return "\n".join([text if out.total else empty, *filter(None, notes)])


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


def _compile_pattern(pattern: Any) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise ToolError("pattern must be a non-empty string")
    if has_lone_surrogate(pattern):
        raise ToolError("pattern holds a lone surrogate, which is not text")
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as err:
        raise ToolError(f"pattern is not a valid regular expression: {err}") from None


# ---- names and files


def _printable(name: str) -> str:
    """A name the way the model can read it: undecodable bytes as \\xNN."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def _entry_kind(entry: os.DirEntry) -> tuple[bool, bool, str | None]:
    """(is_link, is_dir, special) of a directory entry; a symlink's target decides
    is_dir and special (OSError ELOOP for a loop). The entry's type comes from the
    directory listing: a stat only for symlinks and the rare special files."""
    if entry.is_symlink():
        try:
            mode = os.stat(entry.path).st_mode
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise
            return True, False, None  # dangling: listed, nothing to read
        special = None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else _kind(mode)
        return True, stat.S_ISDIR(mode), special
    if entry.is_dir(follow_symlinks=False):
        return False, True, None
    if entry.is_file(follow_symlinks=False):
        return False, False, None
    return False, False, _kind(entry.stat(follow_symlinks=False).st_mode)


_SPECIAL_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _kind(mode: int) -> str:
    return _SPECIAL_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _open_regular(real: Path, shown: Any) -> BinaryIO:
    """Open a regular file for reading; anything else is refused without opening it."""
    try:
        mode = os.stat(real).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ToolError(f"{shown!r} is a symlink loop") from None
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            raise ToolError(f"{shown!r} does not exist") from None
        raise ToolError(f"cannot read {shown!r}: {err.strerror}") from None
    if stat.S_ISDIR(mode):
        raise ToolError(f"{shown!r} is a directory; use list_files")
    if not stat.S_ISREG(mode):
        raise ToolError(f"{shown!r} is {_kind(mode)}; only regular files can be read")
    # O_NONBLOCK: should it have become a FIFO since the stat, opening does not block.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(real, flags)
    except OSError as err:
        raise ToolError(f"cannot read {shown!r}: {err.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ToolError(f"{shown!r} is {_kind(mode)}; only regular files can be read")
    return os.fdopen(fd, "rb")


def _read_small_text(real: Path, shown: Any) -> str:
    """A whole regular text file of at most MAX_GREP_FILE_BYTES (grep)."""
    with _open_regular(real, shown) as file:
        data = file.read(MAX_GREP_FILE_BYTES + 1)
    if len(data) > MAX_GREP_FILE_BYTES:
        raise ToolError(f"{shown!r} is larger than {MAX_GREP_FILE_BYTES} bytes")
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise ToolError(f"{shown!r} is a binary file; only text files can be read")
    return _decode(data, False, shown)


def _split_lines(text: str) -> list[str]:
    """Lines as read_file numbers them: split at \\n, a \\r before it dropped."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _lines(
    file: BinaryIO, keep: int, out_of_time: Callable[[], bool]
) -> Iterator[tuple[bytes, bool]]:
    """(line without its newline, cut) for each line of `file`, holding at most `keep`
    bytes of a line: a longer one is given cut, and its rest is read past (not kept)
    only when the caller asks for the next line, and only while there is time."""
    while True:
        line = file.readline(keep + 1)
        if not line:
            return
        if line.endswith(b"\n"):
            yield line[:-2] if line.endswith(b"\r\n") else line[:-1], False
        elif len(line) <= keep:
            yield line, False  # the last line, without a newline
            return
        else:
            yield line[:keep], True
            for block in itertools.count(1):
                rest = file.readline(BINARY_SNIFF_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
                if block % 128 == 0 and out_of_time():
                    raise ToolError("the tools' time budget ran out inside one long line")


def _decode(raw: bytes, cut: bool, shown: Any) -> str:
    try:
        # A cut line may end inside a character: that tail is dropped, not an error.
        return codecs.getincrementaldecoder("utf-8")().decode(raw, final=not cut)
    except UnicodeDecodeError:
        raise ToolError(f"{shown!r} is not UTF-8 text (binary?)") from None


def _count_lines(file: BinaryIO, known: int, mid_line: bool) -> int | None:
    """`known` lines were read (the last one `mid_line` cut); count the rest while it
    is within COUNT_AHEAD_BYTES, else None."""
    rest = file.read(COUNT_AHEAD_BYTES + 1)
    if len(rest) > COUNT_AHEAD_BYTES:
        return None
    more = rest.count(b"\n") + (1 if rest and not rest.endswith(b"\n") else 0)
    if mid_line and rest:
        more -= 1  # the cut line's own rest
    return known + more


# ---- running calls


def run_tool(
    workspace: Workspace | None, name: Any, arguments: Any, deadline: float | None = None
) -> ToolResult:
    """Run one tool call; never raises for the model's mistakes. `name` may carry the
    `functions.` prefix (the old client's lookup bug); `arguments` should be the parsed
    JSON object; `deadline` (a time.monotonic() value) stops a long list or grep."""
    result = _run_tool(workspace, name, arguments, deadline)
    result.name = neutralize_specials(result.name)
    result.output = neutralize_specials(result.output)
    return result


def _run_tool(
    workspace: Workspace | None, name: Any, arguments: Any, deadline: float | None
) -> ToolResult:
    shown = str(name)
    bare = shown.removeprefix("functions.")
    if workspace is None:
        return ToolResult(bare, False, "no tools are enabled in this session")
    if bare not in TOOL_NAMES:
        return ToolResult(
            bare, False, f"unknown tool {shown!r}; available: {', '.join(TOOL_NAMES)}"
        )
    arguments = {} if arguments is None else arguments
    if not isinstance(arguments, dict):
        return ToolResult(bare, False, "arguments must be a JSON object")
    surrogate = _first_lone_surrogate(arguments)
    if surrogate is not None:
        return ToolResult(
            bare,
            False,
            f"arguments hold a lone surrogate ({surrogate}), which is not text; send valid Unicode",
        )
    method = getattr(workspace, bare)
    workspace.deadline, workspace.stopped = deadline, False
    try:
        return ToolResult(bare, True, method(**arguments))
    except TypeError as err:
        return ToolResult(bare, False, f"bad arguments for {bare}: {_type_error(err)}")
    except ValueError as err:  # e.g. a number of more digits than int() takes
        return ToolResult(bare, False, f"bad arguments for {bare}: {err}")
    except ToolError as err:
        return ToolResult(bare, False, str(err))
    except OSError as err:
        return ToolResult(bare, False, f"{bare} failed: {err.strerror or err}")
    finally:
        workspace.deadline = None


def _first_lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in a JSON value's strings and keys, as `\\udXXX`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            item = "".join(key for key in item if isinstance(key, str))
        elif isinstance(item, list):
            stack.extend(item)
        found = LONE_SURROGATE.search(item) if isinstance(item, str) else None
        if found:
            return f"\\u{ord(found.group()):04x}"
    return None


def _type_error(err: TypeError) -> str:
    # "Workspace.read_file() got an unexpected keyword argument 'x'" → without the class.
    return re.sub(r"^\w+\.(\w+\(\))", r"\1", str(err))


def run_call(workspace: Workspace | None, call: dict, deadline: float | None = None) -> ToolResult:
    """Run one parsed tool call ({name, arguments, valid, raw, error?}, as
    harmony_parse gives it): a call whose arguments are not JSON is an error result."""
    if not call.get("valid", True):
        name = neutralize_specials(str(call["name"]).removeprefix("functions."))
        error = call.get("error") or "arguments are not valid JSON"
        return ToolResult(name, False, neutralize_specials(error))
    return run_tool(workspace, call["name"], call.get("arguments"), deadline)


class ToolBudget:
    """The limits on tool use in one run (docs/local-infer.md). A call past either is not
    run; its result tells the model why. Of the calls past the per-reply cap, only the
    first goes back into the conversation (its note speaks for the rest)."""

    def __init__(self, max_seconds: float | None = None) -> None:
        self.max_calls_per_reply = MAX_TOOL_CALLS_PER_REPLY
        self.max_seconds = MAX_TOOL_SECONDS if max_seconds is None else max_seconds
        self.used = 0.0  # seconds the tools took so far

    def run_reply(self, workspace: Workspace | None, calls: list[dict]) -> list[ToolResult]:
        """One result per call of one reply, in order."""
        results = []
        cap = self.max_calls_per_reply
        for index, call in enumerate(calls):
            if index >= cap:
                skipped = "calls_per_reply"
                why = (
                    f"at most {cap} tool calls run per reply and this reply made "
                    f"{len(calls)}; ask for the other {len(calls) - cap} in your next reply"
                )
            elif self.used >= self.max_seconds:
                skipped = "tool_seconds"
                why = (
                    f"the tools' time budget of {self.max_seconds:g} s for this run is "
                    "used up; answer with what you have"
                )
            else:
                started = time.monotonic()
                results.append(run_call(workspace, call, started + self.max_seconds - self.used))
                self.used += time.monotonic() - started
                continue
            name = _call_name(call)
            results.append(ToolResult(name, False, f"not run: {why}", skipped, index > cap))
        return results

    def notice(self, results: list[ToolResult]) -> str | None:
        """One line for stderr when calls of a reply were not run."""
        skipped = [r.skipped for r in results if r.skipped]
        if not skipped:
            return None
        why = {
            "calls_per_reply": f"at most {self.max_calls_per_reply} run per reply",
            "tool_seconds": "the tools' time budget is used up",
        }
        reasons = ", ".join(why.get(s, s) for s in dict.fromkeys(skipped))
        return f"note: {len(skipped)} tool call(s) of this reply not run ({reasons})"


def _call_name(call: dict) -> str:
    name = str(call.get("name") or "unnamed")
    return neutralize_specials(name.removeprefix("functions."))
