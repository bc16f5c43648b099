# shellcheck shell=bash
# Which spelling of the guide's flags this llama-server understands.
# The Aug-2025 server takes `--no-mmap` and a bare `--flash-attn`, and needs `--jinja`
# for the model's own (Harmony) chat template; the 2026 server rejects the first two
# (`-lm none`, `-fa on` instead) and uses jinja by default. We read `--help` once per
# binary (path + mtime + size) and cache the answer, so later starts skip it.

# file_stamp PATH → "mtime size", on GNU and BSD stat alike.
file_stamp() {
  stat -c '%Y %s' "$1" 2>/dev/null || stat -f '%m %z' "$1"
}

# detect_dialect BINARY → prints key=value lines:
#   no_mmap=<flags>  flash_attn=<flags>  jinja=<flags>  rpc=yes|no  notice=<text>
detect_dialect() {
  local bin=$1 help
  help=$("$bin" --help 2>&1) || true
  if [[ "$help" == *--load-mode* ]]; then
    echo "no_mmap=-lm none"
  elif [[ "$help" == *--no-mmap* ]]; then
    echo "no_mmap=--no-mmap"
  else
    echo "no_mmap="
    echo "notice=this llama-server has neither --load-mode nor --no-mmap; it keeps its default model loading"
  fi
  if [[ "$help" =~ --flash-attn[[:space:]]+(\[on\|off\|auto\]|FA|\{on,off,auto\}) ]]; then
    echo "flash_attn=-fa on"
  elif [[ "$help" == *--flash-attn* ]]; then
    echo "flash_attn=--flash-attn"
  else
    echo "flash_attn="
    echo "notice=this llama-server has no --flash-attn; starting without flash attention"
  fi
  # A server that lists --no-jinja has jinja on by default; one with only --jinja needs it.
  if [[ "$help" == *--no-jinja* ]]; then
    echo "jinja="
  elif [[ "$help" == *--jinja* ]]; then
    echo "jinja=--jinja"
  else
    echo "jinja="
  fi
  if [[ "$help" == *--rpc* ]]; then echo "rpc=yes"; else echo "rpc=no"; fi
}

# dialect_for BINARY → like detect_dialect, from the cache when the binary is unchanged.
dialect_for() {
  local bin=$1 stamp key cache
  stamp=$(file_stamp "$bin")
  key="${bin//[^A-Za-z0-9._-]/_}@${stamp// /_}" # readable, and no hashing process to fork
  cache="$(cache_dir)/dialect/$key"
  if [[ -f "$cache" ]]; then
    cat "$cache"
    return 0
  fi
  mkdir -p "${cache%/*}"
  detect_dialect "$bin" >"$cache.$$"
  mv -f "$cache.$$" "$cache"
  cat "$cache"
}
