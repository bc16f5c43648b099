"""Exceptions of the Python core, each carrying the suite's exit code from exit_codes.sh
(the one table, which scripts/lib/common.sh sources too)."""

from __future__ import annotations

import os

# No click here: the Harmony path (local-infer.sh) imports this module and must not pay
# click's ~24 ms import; cli.py turns a SuiteError into its message and exit code.

TABLE_FILE = os.path.join(os.path.dirname(__file__), "exit_codes.sh")


def read_table(path: str = TABLE_FILE) -> dict[str, int]:
    """exit_codes.sh's assignments, NAME=NUMBER or NAME=$NAME (a comment may follow)."""
    table: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            name, equals, value = line.partition("#")[0].strip().partition("=")
            if equals:
                table[name] = table[value[1:]] if value.startswith("$") else int(value)
    return table


TABLE = read_table()
# EXIT_ERROR, EXIT_USAGE, ... and FAIL_TIMEOUT, ... (the code of each kind of failed
# request, decided by http_client.py) are this module's names, as they are Bash's.
globals().update(TABLE)


class SuiteError(Exception):
    """A user-facing error: one line on stderr (`PROG: message`), then `exit_code`."""

    exit_code = TABLE["EXIT_ERROR"]

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def format_message(self) -> str:
        return self.message


class InputError(SuiteError):
    """Bad input: unreadable JSON, an invalid tool definition, an impossible conversation."""

    exit_code = TABLE["EXIT_USAGE"]


def ipv6_refused(name: str, host: str) -> InputError:
    """The suite is IPv4 by design (curl -4): the words of common.sh's `ipv6_refused`."""
    return InputError(
        f"{name} is an IPv6 address ('{host}'); the suite speaks IPv4 only: use 127.0.0.1"
        " (this machine) or 0.0.0.0 (every interface)"
    )


class UnreachableError(SuiteError):
    """Nothing answers at the server URL."""

    exit_code = TABLE["FAIL_UNREACHABLE"]


class LoadingError(SuiteError):
    """The server answered 503: the model is still loading."""

    exit_code = TABLE["FAIL_LOADING"]


class ContextError(SuiteError):
    """The prompt plus the reserved reply does not fit the per-slot context."""

    exit_code = TABLE["EXIT_CONTEXT"]


class ServerError(SuiteError):
    """The server answered an error or a reply we cannot read."""

    exit_code = TABLE["EXIT_SERVER"]


class ContextOverflow(ContextError):
    """The request does not fit the per-slot context: found by the check before sending
    (`reason` "context"), told by the server (HTTP 400: "http_400") or noticed afterwards
    (an Aug-2025 server cut the prompt: "truncated"). The chat loop catches it to fall
    back to a raw prompt; uncaught it is a ContextError (exit 5)."""

    def __init__(
        self, reason: str, prompt_tokens: int | None, n_ctx: int | None, detail: str
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx
        self.detail = detail
