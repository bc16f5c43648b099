#!/usr/bin/env bash
# Usage: scripts/make/install.sh install|uninstall|install-service
# Summary: `make install`, `make uninstall`, `make install-service`: the suite on PATH.
#
# install          links every command (scripts/*.sh with a `# Usage:` header, and
#                  gpt-oss-py) into $PREFIX/bin; writes bash completion into
#                  $PREFIX/share/bash-completion/completions (one file per command) and
#                  zsh completion into $PREFIX/share/zsh/site-functions, both generated
#                  now from each command's `# Usage:` header (gpt-oss-py options
#                  completion), so they match this clone's --help. The links point into
#                  this clone: a command run through one finds its libraries and this
#                  clone's .venv (SUITE_ROOT), never the caller's python. Running it again
#                  replaces what it made; a file it did not make is never overwritten.
# uninstall        removes exactly what the manifest lists: a link while it still points
#                  here, a file while unchanged, a folder once empty; then the manifest.
# install-service  writes `gpt-oss-fast.sh --print-service` (run with this environment's
#                  GPT_OSS_* settings) as ~/.config/systemd/user/gpt-oss-fast.service
#                  (macOS: ~/Library/LaunchAgents/gpt-oss-suite.gpt-oss-fast.plist) and
#                  prints the command that enables it.
#
# What it made is listed in $PREFIX/share/gpt-oss-suite/install-manifest, one line per
# item: GROUP (install|service) TAB KIND (dir|link|file) TAB PATH TAB link target or the
# file's cksum. Each action prints one line per item on stdout.
# Environment: PREFIX (default ~/.local; PREFIX=/usr/local works as root).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"

prefix=${PREFIX:-$HOME/.local}
[[ "$prefix" == /* ]] || prefix=$PWD/$prefix
prefix=${prefix%/}
manifest="$prefix/share/gpt-oss-suite/install-manifest"
py="$SUITE_ROOT/.venv/bin/gpt-oss-py"
declare -a old=() new=() # manifest lines before and after
tmp=""                    # scratch space, removed on exit
trap '[[ -z "$tmp" ]] || rm -rf "$tmp"' EXIT

checksum() { cksum <"$1"; }

load_manifest() { [[ ! -f "$manifest" ]] || mapfile -t old <"$manifest"; }

# listed PATH → PATH is in the old manifest
listed() {
  local line path
  for line in "${old[@]}"; do
    IFS=$'\t' read -r _ _ path _ <<<"$line"
    [[ "$path" == "$1" ]] && return 0
  done
  return 1
}

# make_dirs GROUP DIR → creates DIR and its missing parents, recording each one made
make_dirs() {
  local group=$1 dir=$2
  local -a missing=()
  while [[ ! -d "$dir" ]]; do
    missing=("$dir" "${missing[@]}")
    dir=${dir%/*}
  done
  for dir in "${missing[@]}"; do
    mkdir "$dir"
    new+=("$group"$'\t'dir$'\t'"$dir"$'\t')
  done
}

# refuse_foreign PATH... → exit 1 naming every PATH that exists but is not ours
refuse_foreign() {
  local path foreign=()
  for path; do
    if [[ -e "$path" || -L "$path" ]] && ! listed "$path"; then foreign+=("$path"); fi
  done
  ((${#foreign[@]} == 0)) ||
    die "$EXIT_ERROR" "not overwriting what an earlier install did not make: ${foreign[*]} (remove it, or choose another PREFIX)"
}

# remove_entries QUIET < LINES → removes the listed items, last made first; the folders
# that are still there (not empty) stay ours and are carried into the new manifest
remove_entries() {
  local quiet=$1 i group kind path data
  local -a lines kept=()
  mapfile -t lines
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    IFS=$'\t' read -r group kind path data <<<"${lines[i]}"
    case "$kind" in
      link)
        if [[ -L "$path" && "$(readlink "$path")" == "$data" ]]; then
          rm -f "$path"
          ((quiet)) || echo "removed $path"
        elif [[ -e "$path" || -L "$path" ]]; then
          warn "left $path: it no longer points at $data"
        fi
        ;;
      file)
        if [[ -f "$path" && "$(checksum "$path")" == "$data" ]]; then
          rm -f "$path"
          ((quiet)) || echo "removed $path"
        elif [[ -e "$path" ]]; then
          warn "left $path: it changed since it was installed"
        fi
        ;;
      dir)
        if rmdir "$path" 2>/dev/null; then
          ((quiet)) || echo "removed $path/"
        elif [[ -d "$path" ]]; then
          kept=("${lines[i]}" "${kept[@]}") # in the order they were made
          ((quiet)) || echo "kept $path/ (not empty)"
        fi
        ;;
    esac
  done
  new+=("${kept[@]}")
}

# entries_of GROUP → the old manifest's lines of GROUP; `others_of GROUP` the rest
entries_of() { local l; for l in "${old[@]}"; do [[ "$l" == "$1"$'\t'* ]] && printf '%s\n' "$l"; done; return 0; }
others_of() { local l; for l in "${old[@]}"; do [[ "$l" == "$1"$'\t'* ]] || printf '%s\n' "$l"; done; return 0; }

write_manifest() {
  local -a keep
  mapfile -t keep < <(others_of "$1")
  if ((${#keep[@]} + ${#new[@]} == 0)); then
    rm -f "$manifest"
    return 0
  fi
  make_dirs "$1" "${manifest%/*}"
  printf '%s\n' "${keep[@]}" "${new[@]}" | grep -v '^$' >"$manifest"
}

# place GROUP SOURCE DEST → copies a generated file into place, recorded with its cksum
place() {
  make_dirs "$1" "${3%/*}"
  cp "$2" "$3"
  chmod 644 "$3"
  new+=("$1"$'\t'file$'\t'"$3"$'\t'"$(checksum "$3")")
  echo "wrote $3"
}

# The Python core the commands call: this clone's .venv (make setup makes it with the
# dev tools; a user install needs only the package).
ensure_python_core() {
  [[ -x "$py" ]] && return 0
  say "creating .venv with the Python core (python3 -m venv; pip install -e .)"
  [[ -x "$SUITE_ROOT/.venv/bin/python" ]] || python3 -m venv "$SUITE_ROOT/.venv"
  "$SUITE_ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$SUITE_ROOT" >&2
  [[ -x "$py" ]] || die "$EXIT_ERROR" "the Python core did not install into $SUITE_ROOT/.venv"
}

do_install() {
  local script bindir="$prefix/bin" file
  local bash_dir="$prefix/share/bash-completion/completions" zsh_dir="$prefix/share/zsh/site-functions"
  local -a scripts links=() targets=() generated=() dests=()
  ensure_python_core
  mapfile -t scripts < <("$py" options list)
  ((${#scripts[@]})) || die "$EXIT_ERROR" "no commands found under $SUITE_ROOT/scripts"
  targets=("${scripts[@]}" "$py")
  for script in "${targets[@]}"; do
    links+=("$bindir/${script##*/}")
  done

  tmp=$(mktemp -d)
  "$py" options completion bash --out "$tmp/bash" >"$tmp/files"
  "$py" options completion zsh --out "$tmp/zsh" >>"$tmp/files"
  mapfile -t generated <"$tmp/files"
  for file in "${generated[@]}"; do
    if [[ "$file" == "$tmp/bash/"* ]]; then dests+=("$bash_dir/${file##*/}"); else dests+=("$zsh_dir/${file##*/}"); fi
  done

  load_manifest
  refuse_foreign "${links[@]}" "${dests[@]}"
  remove_entries 1 < <(entries_of install) # a re-install replaces what the last one made

  make_dirs install "$bindir"
  local i
  for i in "${!links[@]}"; do
    ln -s "${targets[i]}" "${links[i]}"
    new+=(install$'\t'link$'\t'"${links[i]}"$'\t'"${targets[i]}")
    echo "linked ${links[i]} -> ${targets[i]}"
  done
  for i in "${!generated[@]}"; do place install "${generated[i]}" "${dests[i]}"; done
  write_manifest install
  echo "manifest $manifest (make uninstall PREFIX=$prefix removes exactly these)"

  # The lines to paste name the home folder as $HOME, so they read the same for everyone.
  local home_bin=$bindir home_bash=$bash_dir home_zsh=$zsh_dir
  if [[ "$prefix" == "$HOME"/* ]]; then
    home_bin="\$HOME${bindir#"$HOME"}" home_bash="\$HOME${bash_dir#"$HOME"}" home_zsh="\$HOME${zsh_dir#"$HOME"}"
  fi
  echo
  if [[ ":$PATH:" == *":$bindir:"* ]]; then
    echo "PATH: $bindir is on your PATH already"
  else
    echo "PATH: $bindir is not on your PATH; add this line to ~/.bashrc or ~/.zshrc:"
    echo "  export PATH=\"$home_bin:\$PATH\""
  fi
  echo "bash: completion loads by itself with the bash-completion package; without it, add to ~/.bashrc:"
  echo "  for f in $home_bash/{gpt-oss-py,*.sh}; do source \"\$f\"; done"
  echo "zsh: add this line to ~/.zshrc before compinit:"
  echo "  fpath=($home_zsh \$fpath)"
}

do_uninstall() {
  load_manifest
  if ((${#old[@]} == 0)); then
    say "nothing to remove: no manifest at $manifest"
    return 0
  fi
  local unit wants="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/default.target.wants/gpt-oss-fast.service"
  unit=$(entries_of service | cut -f3 | grep '\.service$' || true)
  if [[ -n "$unit" && -L "$wants" ]]; then
    warn "the service is enabled; first run: systemctl --user disable --now gpt-oss-fast.service"
  fi
  rm -f "$manifest" # read already; its folder is one of the listed items
  remove_entries 0 < <(printf '%s\n' "${old[@]}")
}

do_install_service() {
  local dest kind=systemd enable
  if [[ "$(uname -s)" == Darwin ]]; then
    kind=launchd
    dest="$HOME/Library/LaunchAgents/gpt-oss-suite.gpt-oss-fast.plist"
    enable="launchctl load -w $dest"
  else
    dest="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/gpt-oss-fast.service"
    enable="systemctl --user daemon-reload && systemctl --user enable --now gpt-oss-fast.service"
  fi
  tmp=$(mktemp -d)
  "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --print-service "$kind" >"$tmp/service"
  load_manifest
  refuse_foreign "$dest"
  remove_entries 1 < <(entries_of service)
  place service "$tmp/service" "$dest"
  write_manifest service
  echo "enable and start it with: $enable"
}

case "${1:-}" in
  install) do_install ;;
  uninstall) do_uninstall ;;
  install-service) do_install_service ;;
  -h | --help) print_usage "$0" ;;
  *) usage_error "expected install, uninstall or install-service" ;;
esac
