"""gpt-oss fast-path suite: the Python core behind the shell scripts."""

from __future__ import annotations

import os


def suite_version() -> str:
    """The suite's version from its one place, the VERSION file at the top of the source
    tree (pyproject.toml and the Bash scripts read the same file); from the installed
    package's metadata when there is no source tree (a wheel install)."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(top, "VERSION"), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        from importlib.metadata import version

        return version("gpt-oss-suite")


def __getattr__(name: str) -> str:
    # `__version__` is read on first use only: most imports of the package never need it.
    if name == "__version__":
        return suite_version()
    raise AttributeError(name)
