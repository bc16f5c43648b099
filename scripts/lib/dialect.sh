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

# pick_flags KEY HELP NOTICE REGEX FLAGS [REGEX FLAGS]... → "KEY=FLAGS" for the first
# REGEX the help text matches; when none does, "KEY=" and, if given, "notice=NOTICE".
pick_flags() {
  local key=$1 help=$2 notice=$3
  shift 3
  while (($# >= 2)); do
    if [[ "$help" =~ $1 ]]; then
      echo "$key=$2"
      return 0
    fi
    shift 2
  done
  echo "$key="
  [[ -z "$notice" ]] || echo "notice=$notice"
}

# detect_dialect BINARY → prints key=value lines:
#   no_mmap=<flags>  flash_attn=<flags>  jinja=<flags>  rpc=yes|  kvu=<flag>
#   kvu_per_slot=<flag>  notice=<text>
detect_dialect() {
  local help
  help=$("$1" --help 2>&1) || true
  pick_flags no_mmap "$help" \
    "this llama-server has neither --load-mode nor --no-mmap; it keeps its default model loading" \
    '--load-mode' '-lm none' '--no-mmap' '--no-mmap'
  # The 2026 flag takes a value ([on|off|auto]); the Aug-2025 one is a bare switch.
  pick_flags flash_attn "$help" "this llama-server has no --flash-attn; starting without flash attention" \
    '--flash-attn[[:space:]]+(\[on\|off\|auto\]|FA|\{on,off,auto\})' '-fa on' '--flash-attn' '--flash-attn'
  # A server that lists --no-jinja has jinja on by default; one with only --jinja needs it.
  pick_flags jinja "$help" "" '--no-jinja' '' '--jinja' '--jinja'
  pick_flags rpc "$help" "" '--rpc' yes
  # Both dialects list -kvu; whether the server then shares the pool shows only in /props
  # after a start (dialect_fact kvu_shared). The per-slot cap is newer (Nov-2026).
  pick_flags kvu "$help" "" '--kv-unified' '-kvu'
  pick_flags kvu_per_slot "$help" "" '--kv-unified-per-slot' '--kv-unified-per-slot'
}

# dialect_fact BINARY NAME [VALUE] → prints what was learnt about this binary by running
# it (e.g. kvu_shared=yes|no), or with VALUE records it. Kept next to the dialect cache,
# keyed the same way, so a rebuilt binary is asked again.
dialect_fact() {
  local file
  file="$(_dialect_cache_file "$1").$2"
  if (($# >= 3)); then
    printf '%s\n' "$3" >"$file.$$" && mv -f "$file.$$" "$file"
  elif [[ -f "$file" ]]; then
    cat "$file"
  fi
}

# dialect_for BINARY → like detect_dialect, from the cache when the binary is unchanged.
_dialect_cache_file() { # _dialect_cache_file BINARY → the cache file's path (dir created)
  local bin=$1 stamp key
  stamp=$(file_stamp "$bin")
  key="${bin//[^A-Za-z0-9._-]/_}@${stamp// /_}" # readable, and no hashing process to fork
  mkdir -p "$(cache_dir)/dialect"
  # v2: the probe learnt -kvu and --kv-unified-per-slot; older entries lack them.
  printf '%s\n' "$(cache_dir)/dialect/v2-$key"
}

dialect_for() {
  local bin=$1 cache
  cache=$(_dialect_cache_file "$bin")
  if [[ -f "$cache" ]]; then
    cat "$cache"
    return 0
  fi
  mkdir -p "${cache%/*}"
  detect_dialect "$bin" >"$cache.$$"
  mv -f "$cache.$$" "$cache"
  cat "$cache"
}

# flash_attn_off FLAGS → the spelling that turns flash attention off, given the spelling
# that turns it on: `-fa off` on 2026 builds; nothing on Aug-2025 ones (off by default).
flash_attn_off() {
  [[ "$1" == "-fa on" ]] && printf '%s\n' "-fa off"
  return 0
}
