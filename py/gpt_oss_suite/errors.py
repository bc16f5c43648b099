"""Exceptions of the Python core, each carrying the suite's exit code.

The numbers match docs/development.md and scripts/lib/common.sh, so a script calling
`gpt-oss-py` can pass its exit status straight through.
"""

from __future__ import annotations

import click

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_LOADING = 4
EXIT_CONTEXT = 5
EXIT_SERVER = 6
EXIT_NO_MODEL = 7
EXIT_PORT_BUSY = 8
EXIT_START_FAILED = 9
EXIT_TIMEOUT = 10
EXIT_TOOL_TURNS = 11


class SuiteError(click.ClickException):
    """A user-facing error: one line on stderr (`gpt-oss-py: message`), then `exit_code`."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"gpt-oss-py: {self.format_message()}", err=True, file=file)


class InputError(SuiteError):
    """Bad input: unreadable JSON, an invalid tool definition, an impossible conversation."""

    exit_code = EXIT_USAGE


class UnreachableError(SuiteError):
    """Nothing answers at the server URL."""

    exit_code = EXIT_UNREACHABLE


class LoadingError(SuiteError):
    """The server answered 503: the model is still loading."""

    exit_code = EXIT_LOADING


class ContextError(SuiteError):
    """The prompt plus the reserved reply does not fit the per-slot context."""

    exit_code = EXIT_CONTEXT


class ServerError(SuiteError):
    """The server answered an error or a reply we cannot read."""

    exit_code = EXIT_SERVER
