# shellcheck shell=bash
# Which spelling of the guide's flags this llama-server understands.
# The Aug-2025 server takes `--no-mmap` and a bare `--flash-attn`, and needs `--jinja`
# for the model's own (Harmony) chat template; the 2026 server rejects the first two
# (`-lm none`, `-fa on` instead) and uses jinja by default. We read `--help` once per
# binary (path + mtime + size) and cache the answer, so later starts skip it.

# file_stamp PATH → "mtime size", on GNU and BSD stat alike.
file_stamp() { stat -c '%Y %s' "$1" 2>/dev/null || stat -f '%m %z' "$1"; }

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
#   kvu_per_slot=<flag>  quiet_log=<flags>  notice=<text>
# A binary whose --help fails (a missing shared library, a wrong architecture) cannot
# start either: exit 9 with its own error line.
detect_dialect() {
  local help status=0 line shown=""
  help=$("$1" --help 2>&1 </dev/null) || status=$?
  if ((status != 0)); then
    # Its error line: the first that says error, else its last line.
    while IFS= read -r line; do
      [[ -n "$line" ]] || continue
      shown=$line
      [[ "${line,,}" == *error* ]] && break
    done <<<"$help"
    die "$EXIT_START_FAILED" "$1 --help failed (exit $status), so it cannot start: ${shown:-no output}"
  fi
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
  # Quiet per-request logging: where -lv has levels (2026: "2: warning"), -lv 2 keeps
  # warnings and errors but drops the ~700 bytes of info lines every request writes,
  # so a 1 s keepalive does not fill the disk. The Aug-2025 -lv has no such level.
  pick_flags quiet_log "$help" "" '2: warning' '-lv 2'
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

_dialect_cache_file() { # _dialect_cache_file BINARY → the cache file's path (dir created)
  local bin=$1 stamp key
  stamp=$(file_stamp "$bin")
  key="${bin//[^A-Za-z0-9._-]/_}@${stamp// /_}" # readable, and no hashing process to fork
  mkdir -p "$(cache_dir)/dialect"
  # v3: the probe learnt -lv's levels (quiet_log); older entries lack it.
  printf '%s\n' "$(cache_dir)/dialect/v3-$key"
}

# dialect_for BINARY → like detect_dialect, from the cache when the binary is unchanged.
# Only a successful probe is cached: a binary that failed may work once its library is
# installed, without a change to the binary itself.
dialect_for() {
  local bin=$1 cache
  cache=$(_dialect_cache_file "$bin")
  if [[ -f "$cache" ]]; then
    cat "$cache"
    return 0
  fi
  if ! (detect_dialect "$bin") >"$cache.$$"; then
    rm -f "$cache.$$"
    exit "$EXIT_START_FAILED"
  fi
  mv -f "$cache.$$" "$cache"
  cat "$cache"
}

# flash_attn_off FLAGS → the spelling that turns flash attention off, given the spelling
# that turns it on: `-fa off` on 2026 builds; nothing on Aug-2025 ones (off by default).
flash_attn_off() { [[ "$1" != "-fa on" ]] || printf '%s\n' "-fa off"; }
