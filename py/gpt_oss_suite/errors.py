"""Exceptions of the Python core, each carrying the suite's exit code.

The numbers match docs/development.md and scripts/lib/common.sh, so a script calling
`gpt-oss-py` can pass its exit status straight through.
"""

from __future__ import annotations

# No click here: the Harmony request path (local-infer.sh) imports this module and must
# not pay click's ~24 ms import. The click face (cli.py) turns a SuiteError into its
# message and exit code.

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


class SuiteError(Exception):
    """A user-facing error: one line on stderr (`PROG: message`), then `exit_code`."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def format_message(self) -> str:
        return self.message


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


class ContextOverflow(ContextError):
    """The request does not fit the per-slot context: found by the check before sending
    (`reason` "context"), told by the server (HTTP 400: "http_400") or noticed afterwards
    (an Aug-2025 server cut the prompt: "truncated"). The chat loop catches it to fall
    back to a raw prompt; uncaught it is a ContextError (exit 5)."""

    def __init__(
        self, reason: str, prompt_tokens: int | None, n_ctx: int | None, detail: str
    ) -> None:
        super().__init__(detail)
        self.reason, self.prompt_tokens, self.n_ctx, self.detail = (
            reason,
            prompt_tokens,
            n_ctx,
            detail,
        )
