"""`gpt-oss-py options list|show|completion`: the entrypoints' option specs (option_spec.py)
as data; `make install` (scripts/make/install.sh) uses `list` and `completion`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .errors import InputError


@click.group()
def options() -> None:
    """The commands' option specs, read from their # Usage: headers."""


def _specs(scripts: tuple[str, ...]):
    from .option_spec import entrypoints, read_spec

    paths = [Path(s) for s in scripts] or entrypoints()
    for path in paths:
        if not path.is_file():
            raise InputError(f"no such script: {path}")
    return [read_spec(path) for path in paths]


@options.command("list")
def options_list() -> None:
    """Print the path of every command of the suite, one per line."""
    from .option_spec import entrypoints

    for path in entrypoints():
        click.echo(str(path))


@options.command("show")
@click.argument("scripts", nargs=-1, metavar="[SCRIPT...]")
def options_show(scripts: tuple[str, ...]) -> None:
    """Print each command's spec as JSON: name, usage, summary, subcommands, options
    (flags, metavar, value_optional, description, env, default, choices, spec,
    value_kind). Default: every command of the suite."""
    for spec in _specs(scripts):
        click.echo(json.dumps(spec.to_json()))


@options.command("completion")
@click.argument("shell", type=click.Choice(("bash", "zsh")))
@click.option("--out", "out_dir", required=True, metavar="DIR", help="Write the files here.")
@click.argument("scripts", nargs=-1, metavar="[SCRIPT...]")
def options_completion(shell: str, out_dir: str, scripts: tuple[str, ...]) -> None:
    """Write the completion files for SHELL into DIR and print their paths: bash, one
    file per command named as the command; zsh, one file `_gpt-oss-suite`. Without
    SCRIPT, also gpt-oss-py's own (from click, which knows its commands): `gpt-oss-py`
    for bash, `_gpt-oss-py` for zsh."""
    from click.shell_completion import get_completion_class

    from .cli import cli
    from .completion import bash_completion, zsh_completion

    specs = _specs(scripts)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = (
        {spec.name: bash_completion(spec) for spec in specs}
        if shell == "bash"
        else {"_gpt-oss-suite": zsh_completion(specs)}
    )
    if not scripts:
        prog = "gpt-oss-py"
        complete_var = f"_{prog.replace('-', '_').upper()}_COMPLETE"  # as click names it
        source = get_completion_class(shell)(cli, {}, prog, complete_var).source()
        files[prog if shell == "bash" else f"_{prog}"] = source
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        click.echo(str(out / name))
