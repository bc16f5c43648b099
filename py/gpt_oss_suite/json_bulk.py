"""Big prompts and big replies for the Bash request paths, in linear time.

Bash's string passes are not linear, so from BULK_PROMPT_BYTES of prompt and BULK_BYTES
of reply on, scripts/lib/request.sh (which says why, with its measurements) hands the
JSON work to this module: Python's C JSON codec escapes and reads in one linear pass, and
output is written in pieces, so memory stays a small multiple of the input.
Standard library only; typing and argparse are not imported (they would double the
start-up, ~10 ms without site-packages, that decides where the threshold lies).

It gives what json.sh gives, byte for byte:
- escaping: `\\"`, `\\\\`, the short escapes `\\b \\t \\n \\f \\r`, `\\u00xx` (lower case) for
  the other bytes below 0x20; everything else as is, invalid UTF-8 included (the server
  decides); NUL bytes are dropped (Bash cannot hold them);
- reading: a string's text as UTF-8, `\\u0000` dropped, a lone surrogate as U+FFFD; of
  duplicate keys the first wins.

Commands (the Bash side is scripts/lib/request.sh):
  escape [--head-fd N] [--prefix P] [--suffix S] [--keep-newline]
      stdout = P + the JSON string body of the prompt + S. The prompt is the bytes on fd N
      (a here-string: its last newline is not part of them) followed by stdin, with one
      trailing newline dropped (the scripts' rule for stdin) unless --keep-newline. Exit
      2, printing nothing, when the prompt is empty; 3 when it is not UTF-8, its output
      then to be thrown away (the suite refuses such prompts; escape() passes any bytes).
  reply [--head-fd N] [--text-key KEY] [--print-fd N] [--raw-fd N] [--json-text-file F]
      Reads what curl wrote for `-w '\\n%{http_code} %{errormsg}'` (head, then stdin):
      the body, a newline, the status line. stdout: the status line, then `text` or
      `no-text` (is KEY's string there), then the body as a small JSON object with that
      string and every other string over 64 KB emptied (the body's first 64 KB when it
      is not a JSON object). KEY is `content` or `choices.0.text`. Only when the status
      is 200 (and curl reported no error): --print-fd gets the text, plus a newline
      unless it ends with one; --raw-fd gets the body as received plus a newline; F gets
      the text JSON-escaped.
  sse [--text-key KEY] [--print-fd N] [--json-text-file F]
      Reads the rest of a server-sent-event stream on stdin (`data: {...}` lines). Each
      event's text goes to --print-fd as soon as it is read; F gets all of it
      JSON-escaped. stdout: the last event that ends a stream (FINAL_MARKS; or an
      empty line); `newline`, `text` or `none` (how the last text piece ended: was there
      one); then the lines that were not events (at most 64 KB of them, but every line
      starting with byte 0x1f, the caller's own markers) as they came.
"""

from __future__ import annotations

import codecs
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, BinaryIO

KEEP = 65536  # strings longer than this leave the skeleton the Bash side reads
CHUNK = 1 << 20  # characters per output step: big texts are written in pieces
# json (and re, which it imports) cost ~10 ms of start-up, a third of the whole: escaping
# needs neither, reading imports them when it starts (_reading()).
json = re = None
_LONE_SURROGATE = _NOT_ESCAPED_BYTE = None


def _reading() -> None:
    global json, re, _LONE_SURROGATE, _NOT_ESCAPED_BYTE
    import json
    import re

    _LONE_SURROGATE = re.compile("[\ud800-\udfff]")
    _NOT_ESCAPED_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


# ------------------------------------------------------------------ escaping


def escape(data: bytes | bytearray) -> bytes:
    """The JSON string body (no quotes) of `data`, as json.sh's json_escape_to writes it:
    the C encoder behind json.dumps(ensure_ascii=False) escapes exactly `"`, `\\` and
    U+0000-U+001F as json.sh does (~20 ms for 4 MB; bytes.replace passes take twice that).
    Bytes that are not UTF-8 travel as lone surrogates U+DC80-U+DCFF and come back as is."""
    if b"\0" in data:
        data = data.replace(b"\0", b"")
    text = data.decode("utf-8", "surrogateescape")
    return _encode_basestring()(text)[1:-1].encode("utf-8", "surrogateescape")


def _encode_basestring() -> Callable[[str], str]:
    """The C encoder behind json.dumps (a quoted JSON string), without importing json."""
    try:
        from _json import encode_basestring
    except ImportError:  # not CPython
        from json.encoder import py_encode_basestring as encode_basestring
    return encode_basestring


# ------------------------------------------------------------------ reading


def _first_key_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        obj.setdefault(key, value)
    return obj


class Decoded:
    """A JSON document read from bytes, with the way back to bytes that json.sh uses.

    A bytearray given to it is emptied: a 50 MB reply must not be held three times."""

    def __init__(self, raw: bytes | bytearray) -> None:
        if json is None:
            _reading()
        if b"\0" in raw:
            raw = raw.replace(b"\0", b"")
        try:
            text = raw.decode("utf-8")
            self.raw_bytes_inside = False
        except UnicodeDecodeError:
            # Invalid UTF-8 from the server: those bytes travel as lone surrogates
            # U+DC80-U+DCFF (then a `\udc80` escape in the same reply reads as byte 0x80,
            # not U+FFFD: the one place where the two readers may differ).
            text = raw.decode("utf-8", "surrogateescape")
            self.raw_bytes_inside = True
        if isinstance(raw, bytearray):
            raw.clear()
        self.value: Any = json.loads(text, strict=False, object_pairs_hook=_first_key_wins)

    def to_bytes(self, text: str) -> bytes:
        """`text` (from this document) as the bytes json_unescape_to gives."""
        if "\0" in text:
            text = text.replace("\0", "")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        if self.raw_bytes_inside:
            return _NOT_ESCAPED_BYTE.sub("\ufffd", text).encode("utf-8", "surrogateescape")
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")

    def text_pieces(self, text: str) -> Iterator[bytes]:
        """to_bytes(text), in pieces (it works per character)."""
        for start in range(0, len(text), CHUNK):
            yield self.to_bytes(text[start : start + CHUNK])


def find_text(value: Any, key: str) -> str | None:
    """The string at `key` (dotted; digits index lists) in `value`, or None."""
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value if isinstance(value, str) else None


def skeleton(value: Any, key: str) -> Any:
    """`value` with the string at `key` and every string over KEEP characters emptied."""
    parts = key.split(".")

    def walk(node: Any, path: list[str]) -> Any:
        if isinstance(node, str):
            return "" if path == parts or len(node) > KEEP else node
        if isinstance(node, dict):
            return {k: walk(v, [*path, k]) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, [*path, str(i)]) for i, v in enumerate(node)]
        return node

    return walk(value, [])


def read_reply(body: bytearray, key: str, print_to, raw_to, json_text_file) -> bytes:
    """What `reply` prints on stdout; writes the text where asked (see the module doc).
    `body` is curl's output, emptied on the way."""
    cut = body.rfind(b"\n")  # the status line curl wrote last, cut off the body
    status = bytes(body[cut + 1 :])
    del body[max(cut, 0) :]
    code, _, error = status.partition(b" ")
    ok = code == b"200" and not error.strip()  # a reply cut by --max-time: `200 Operation...`
    if raw_to is not None and ok:
        raw_to.write(body)
        raw_to.write(b"\n")
        raw_to.flush()
    first = bytes(body[:KEEP])
    try:
        doc = Decoded(body)
    except ValueError:
        doc = None
    if doc is None or not isinstance(doc.value, dict):
        return status + b"\nno-text\n" + first
    text = find_text(doc.value, key)
    small = doc.to_bytes(
        json.dumps(skeleton(doc.value, key), ensure_ascii=False, separators=(",", ":"))
    )
    found = b"no-text"
    if text is not None:
        found = b"text"
        if ok and print_to is not None:
            last = b""
            for piece in doc.text_pieces(text):
                print_to.write(piece)
                last = piece[-1:] or last
            if last != b"\n":
                print_to.write(b"\n")
            print_to.flush()
        if ok and json_text_file:
            with open(json_text_file, "wb") as out:
                out.writelines(escape(piece) for piece in doc.text_pieces(text))
    return status + b"\n" + found + b"\n" + small


def _lines(fd: int) -> Iterator[list[bytes]]:
    """The lines (without their newline) of what arrives on `fd`, in batches: whatever
    one read(2) brought, so that the caller can flush once per batch, not per line."""
    buf = bytearray()
    while data := os.read(fd, 1 << 16):
        start = len(buf)
        buf += data
        cut = buf.rfind(b"\n", start)  # a line longer than one read is only appended to
        if cut >= 0:
            lines = bytes(buf[:cut]).split(b"\n")
            del buf[: cut + 1]
            yield lines
    if buf:
        yield [bytes(buf)]


def _decode_events(chunks: list[bytes]) -> tuple[list[Any], bool]:
    """(each chunk's JSON value, or None where it is not JSON; raw bytes inside?) for the
    events of one batch: one parse of the whole batch as an array when it can, as a parse
    per event would cost most of the time. (Of duplicate keys in an event, the last
    wins here: first-wins would cost a Python call per event, and servers send none.)"""
    if not chunks:
        return [], False
    if json is None:
        _reading()
    joined = b"[" + b",".join(chunks) + b"]"
    raw_inside = False
    try:
        try:
            text = joined.decode("utf-8")
        except UnicodeDecodeError:
            text, raw_inside = joined.decode("utf-8", "surrogateescape"), True
        values = json.loads(text, strict=False)
        if isinstance(values, list) and len(values) == len(chunks):
            return values, raw_inside
    except ValueError:
        pass
    values = []
    for chunk in chunks:
        try:
            doc = Decoded(chunk)
        except ValueError:
            values.append(None)
        else:
            values.append(doc.value)
            raw_inside = raw_inside or doc.raw_bytes_inside
    return values, raw_inside


# The event that ends a stream: llama.cpp's last /completion event ("stop": true, and
# unless response_fields left them out "stop_type" and "timings"), or an OpenAI-style
# chunk with a finish_reason (other servers put a space after each colon).
FINAL_MARKS = (
    b'"timings"',
    b'"stop_type"',
    b'"stop":true',
    b'"stop": true',
    b'"finish_reason":"',
    b'"finish_reason": "',
)


def read_sse(batches: Iterator[list[bytes]], key: str, print_to, json_text_file) -> bytes:
    """What `sse` prints on stdout (see the module doc)."""
    final = b""
    last = b"none"
    other: list[bytes] = []
    other_size = 0
    out = open(json_text_file, "wb") if json_text_file else None  # noqa: SIM115
    converter = Decoded.__new__(Decoded)  # only for to_bytes
    plain_key = "." not in key
    try:
        for lines in batches:
            chunks = [line[6:] for line in lines if line[:6] == b"data: "]
            if b"[DONE]" in chunks:
                chunks = [chunk for chunk in chunks if chunk != b"[DONE]"]
            values, converter.raw_bytes_inside = _decode_events(chunks)
            if plain_key:
                pieces = [v.get(key) if type(v) is dict else None for v in values]
            else:
                pieces = [find_text(v, key) for v in values]
            pieces = [piece for piece in pieces if type(piece) is str and piece]
            for chunk in reversed(chunks):  # the last event with the stop reason counts
                if any(mark in chunk for mark in FINAL_MARKS):
                    final = chunk
                    break
            for line in lines:
                if not line or line[:6] == b"data: ":
                    continue
                if line.startswith(b"\x1f"):  # the caller's own markers (curl's status)
                    other.append(line)
                elif other_size < KEEP:
                    other.append(line[:KEEP])
                    other_size += len(line) + 1
            if pieces:
                # Per character, so one conversion of the batch's text is the same as one
                # per piece (two lone surrogates side by side stay two U+FFFD).
                text = converter.to_bytes("".join(pieces))
                if text:
                    last = b"newline" if text.endswith(b"\n") else b"text"
                if print_to is not None:
                    print_to.write(text)
                    print_to.flush()
                if out is not None:
                    out.write(escape(text))
    finally:
        if out is not None:
            out.close()
    return final + b"\n" + last + b"\n" + b"".join(line + b"\n" for line in other)


# ------------------------------------------------------------------ command line


def _fd_out(fd: str) -> BinaryIO:
    return os.fdopen(int(fd), "wb", closefd=False)


def _bytes(arg: str) -> bytes:  # an argument's bytes as Bash passed them
    return arg.encode("utf-8", "surrogateescape")


_TEXT_OPTIONS = {"--text-key": str, "--print-fd": _fd_out, "--json-text-file": str}
_OPTIONS = {
    "escape": {"--head-fd": int, "--prefix": _bytes, "--suffix": _bytes, "--keep-newline": bool},
    "reply": {"--head-fd": int, "--raw-fd": _fd_out, **_TEXT_OPTIONS},
    "sse": _TEXT_OPTIONS,
}


def parse_args(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """(command, {option name without dashes: value}); SystemExit on a bad call."""
    if not argv or argv[0] not in _OPTIONS:
        raise SystemExit(f"json_bulk: usage: json_bulk {{{','.join(_OPTIONS)}}} [options]")
    command, known = argv[0], _OPTIONS[argv[0]]
    values: dict[str, Any] = {"text_key": "content", "prefix": b"", "suffix": b""}
    rest = argv[1:]
    while rest:
        name = rest.pop(0)
        kind = known.get(name)
        if kind is None or (kind is not bool and not rest):
            raise SystemExit(f"json_bulk {command}: bad option {name!r}")
        values[name[2:].replace("-", "_")] = True if kind is bool else kind(rest.pop(0))
    return command, values


PIECE = 1 << 16  # bytes per escaping step: small enough that its buffers are reused


def _input_pieces(head_fd: int | None) -> Iterator[bytes]:
    """The bytes on fd `head_fd` (a here-string: its last newline is not theirs), whole,
    then stdin's in pieces of at most PIECE bytes."""
    if head_fd is not None:
        with os.fdopen(head_fd, "rb") as stream:
            head = stream.read()
        yield head[:-1] if head.endswith(b"\n") else head
    fd = sys.stdin.fileno()
    while piece := os.read(fd, PIECE):
        yield piece


def escape_stream(
    pieces: Iterable[bytes], out: BinaryIO, prefix: bytes, suffix: bytes, keep_newline: bool
) -> int:
    """The `escape` command (see the module doc; NUL bytes dropped), a piece at a time: a
    4 MB prompt read whole, decoded, escaped, sliced and encoded was five 4 MB buffers,
    each page of them a fault, and half the time this takes. The incremental decoder
    joins a UTF-8 sequence cut between two pieces. Returns the exit status."""
    decoder = codecs.getincrementaldecoder("utf-8")()  # strict: the suite refuses other bytes
    encode = _encode_basestring()
    started = False
    held = b""  # a last newline, written only when more follows

    def write(data: bytes, final: bool = False) -> None:
        nonlocal started
        if b"\0" in data:
            data = data.replace(b"\0", b"")
        text = decoder.decode(data, final)
        if text:
            if not started:
                out.write(prefix)
                started = True
            out.write(memoryview(encode(text).encode("utf-8"))[1:-1])  # no quotes

    try:
        for piece in pieces:  # only the head may be empty, and it comes first
            if held:
                write(held)
                held = b""
            if not keep_newline and piece.endswith(b"\n"):
                held, piece = b"\n", piece[:-1]
            write(piece)
        write(b"", final=True)
    except UnicodeDecodeError:
        return 3
    if not started:
        return 2
    out.write(suffix)
    return 0


def main(argv: list[str] | None = None) -> int:
    command, opts = parse_args(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout.buffer
    key, print_to, text_file = opts["text_key"], opts.get("print_fd"), opts.get("json_text_file")
    if command == "escape":
        pieces = _input_pieces(opts.get("head_fd"))
        keep_newline = opts.get("keep_newline", False)
        status = escape_stream(pieces, stdout, opts["prefix"], opts["suffix"], keep_newline)
        if status:
            return status
    elif command == "reply":
        body = bytearray()  # grows without a second copy
        for piece in _input_pieces(opts.get("head_fd")):
            body += piece
        stdout.write(read_reply(body, key, print_to, opts.get("raw_fd"), text_file))
    else:
        stdout.write(read_sse(_lines(sys.stdin.fileno()), key, print_to, text_file))
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
