"""The tuned-settings file gpt-oss-tune.sh writes and gpt-oss-fast.sh reads.

``$XDG_CONFIG_HOME/gpt-oss-suite/tuned.conf``, parsed here (never sourced: a hand edit
can do no harm beyond a clear error naming the file and line), holds one ``[tuned]``
section per model and llama-server binary; it applies only while both files are the ones
it names, path *and* stamp (size and mtime: sdist builds report no build number, so a
rebuilt binary or a re-downloaded model is a different machine setting)::

    [tuned]
    model = /home/me/models/gpt-oss-20b-Q4_0.gguf
    model_stamp = 1767139200 11536000000
    binary = /usr/local/bin/llama-server
    binary_stamp = 1767139000 15539800
    objective = latency
    tuned_at = 2026-11-24T10:00:00Z
    GPT_OSS_BATCH = 512
    GPT_OSS_THREADS = 8

Knob lines are gpt-oss-fast.sh's environment names (``GPT_OSS_...``); which names are
knobs and what each may hold is decided by scripts/lib/tuned.sh (TUNED_KNOBS) alone: this
module checks the layout. A section without knob lines: the defaults were measured best.

Standard library only (gpt-oss-fast.sh calls it through ``py_main``):

    python -m gpt_oss_suite.tune_config lookup FILE MODEL BINARY
        → ``NAME<TAB>VALUE<TAB>LINE`` for each knob of the matching section, nothing
          when the file or a matching section is absent; exit 2 with ``FILE:LINE: why``
          when the file is malformed.
    python -m gpt_oss_suite.tune_config write FILE MODEL BINARY OBJECTIVE [NAME=VALUE...]
        → replaces (or adds) the section of MODEL+BINARY, atomically (no NAME=VALUE:
          the defaults were measured best).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

KNOB_NAME = re.compile(r"GPT_OSS_[A-Z0-9_]+")  # its rules: scripts/lib/tuned.sh
REQUIRED_KEYS = ("model", "model_stamp", "binary", "binary_stamp")
META_KEYS = (*REQUIRED_KEYS, "objective", "tuned_at")
HEADER = """\
# Tuned llama-server settings: written by gpt-oss-tune.sh, read by gpt-oss-fast.sh for
# the model and binary each [tuned] section names (path, mtime and size must match).
# Precedence: flag > environment > this file > built-in default. Values may be edited
# by hand (they are checked on every start); gpt-oss-fast.sh --no-tuned ignores the file.
"""
LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*?)\s*$")


class ConfigError(Exception):
    """A malformed file: the message names the file and line."""


@dataclass
class Section:
    line: int  # of its [tuned] header
    meta: dict[str, str] = field(default_factory=dict)
    knobs: dict[str, tuple[str, int]] = field(default_factory=dict)  # name → (value, line)


def stamp(path: str | os.PathLike) -> str:
    """``"MTIME SIZE"`` of a file, as scripts/lib/dialect.sh's file_stamp prints it."""
    info = os.stat(path)
    return f"{int(info.st_mtime)} {info.st_size}"


def parse(text: str, name: str) -> list[Section]:
    """The sections of a tuned.conf text; ConfigError("NAME:LINE: why") on anything else."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line or line.startswith("#"):
            continue
        if line == "[tuned]":
            sections.append(Section(number))
            continue
        if line.startswith("["):
            raise ConfigError(f"{where}: unknown section {line} (only [tuned])")
        match = LINE.match(line)
        if not match:
            raise ConfigError(f"{where}: expected 'NAME = value', got '{line}'")
        if not sections:
            raise ConfigError(f"{where}: '{match['key']}' before the first [tuned] line")
        key, value, section = match["key"], match["value"], sections[-1]
        if key in META_KEYS:
            section.meta[key] = value
        elif KNOB_NAME.fullmatch(key):
            if key in section.knobs:
                raise ConfigError(f"{where}: {key} is set twice in this section")
            section.knobs[key] = (value, number)
        else:
            known = ", ".join(META_KEYS)
            raise ConfigError(f"{where}: unknown setting '{key}' (known: {known}, GPT_OSS_...)")
    for section in sections:
        if missing := [k for k in REQUIRED_KEYS if k not in section.meta]:
            lacks = ", ".join(missing)
            raise ConfigError(f"{name}:{section.line}: this [tuned] section lacks {lacks}")
    return sections


def read(path: str | os.PathLike) -> list[Section]:
    """The sections of the file at PATH ([] when there is none)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it: {err}") from None
    return parse(text, str(path))


def _same(section: Section, model: str, binary: str) -> bool:
    return section.meta["model"] == model and section.meta["binary"] == binary


def lookup(path: str | os.PathLike, model: str, binary: str) -> Section | None:
    """The section for MODEL and BINARY as they are now (path and stamp), or None."""
    try:
        stamps = (stamp(model), stamp(binary))
    except OSError:
        return None
    for section in read(path):
        meta = section.meta
        if _same(section, model, binary) and (meta["model_stamp"], meta["binary_stamp"]) == stamps:
            return section
    return None


def render(section: Section) -> str:
    lines = ["[tuned]"]
    lines += [f"{key} = {section.meta[key]}" for key in META_KEYS if key in section.meta]
    lines += [f"{key} = {value}" for key, (value, _line) in section.knobs.items()]
    return "\n".join(lines) + "\n"


def write(
    path: str | os.PathLike, model: str, binary: str, objective: str, knobs: dict[str, str]
) -> None:
    """Replace (or add) the section of MODEL and BINARY; every other section is kept.
    The values were checked by the caller (gpt-oss-tune.sh, with tuned.sh's rules); no
    knobs records that the defaults were measured best."""
    for key, value in knobs.items():
        if not KNOB_NAME.fullmatch(key) or "\n" in value:
            raise ConfigError(f"not a knob line: {key} = {value!r}")
    keep = [s for s in read(path) if not _same(s, model, binary)]
    new = Section(0)
    new.meta = {
        "model": model,
        "model_stamp": stamp(model),
        "binary": binary,
        "binary_stamp": stamp(binary),
        "objective": objective,
        "tuned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    new.knobs = {key: (value, 0) for key, value in knobs.items()}
    # Atomically: a reader sees the old file or the new one, never half of it.
    text = HEADER + "".join("\n" + render(s) for s in [*keep, new])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tuned.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) == 4 and args[0] == "lookup":
            section = lookup(args[1], args[2], args[3])
            for key, (value, number) in section.knobs.items() if section else ():
                print(f"{key}\t{value}\t{number}")
            if section:
                print(f"section\t{section.meta.get('objective', '')}\t{section.line}")
            return 0
        if len(args) >= 5 and args[0] == "write":
            knobs = dict(a.split("=", 1) for a in args[5:])
            write(args[1], args[2], args[3], args[4], knobs)
            return 0
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{err.filename or ''}: {err.strerror}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
