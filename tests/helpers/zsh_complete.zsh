#!/usr/bin/env zsh
# Usage: zsh_complete.zsh FPATH_DIR COMMAND_LINE
# Prints the matches zsh's completion system offers at the end of COMMAND_LINE, one per
# line, with FPATH_DIR first on fpath (tests/completion.bats). It drives a real
# interactive zsh in a pseudo-terminal (zsh/zpty), presses Tab, and records every match
# the completion functions add (compadd wrapped), the technique of zsh-capture-completion.
# The markers are written split ("<mat""ch>") so that the echoed input never matches.
zmodload zsh/zpty || exit 1
zmodload zsh/datetime
fpath_dir=$1 line=$2
dump=$(mktemp -d)/zcompdump
trap 'rm -rf "${dump:h}"' EXIT

# read_until MARKER → reads the terminal into $output until MARKER shows up (10 s at most)
read_until() {
  local chunk deadline=$(( EPOCHREALTIME + 10 ))
  while [[ $output != *"$1"* ]]; do
    if zpty -r -t z chunk; then
      output+=$chunk
    elif (( EPOCHREALTIME > deadline )); then
      print -u2 "zsh_complete.zsh: no $1 from zsh; it printed: $output"
      exit 1
    else
      sleep 0.02
    fi
  done
}

# complete_once → the matches of one fresh zsh, one per line (none: an empty result)
complete_once() {
  output=""
  zpty z zsh -f -i
  # -D: no dump file. Never name /dev/null as the dump (-d): compinit may replace the
  # file it is given, and as root that turns /dev/null into a regular file.
  zpty -w z "fpath=(${(q)fpath_dir} \$fpath); autoload -Uz compinit; compinit -u -D -d ${(q)dump}"
  zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" menu no'
  zpty -w z 'compadd() {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
    local -a __hits; builtin compadd -A __hits "$@"
    (( $#__hits )) && print -rl -- "<mat""ch>"${^__hits}
    builtin compadd "$@"
  }'
  zpty -w z 'finish() { print -r -- "<do""ne>"; exit }; zle -N finish; bindkey "^Y" finish'
  zpty -w z 'bindkey "^I" complete-word; PS1="<prom""pt>"; print -r -- "<rea""dy>"'
  read_until "<ready>"
  # Type only once the line editor shows its prompt (typeahead before it may be lost).
  read_until "<prompt>"
  output=""
  zpty -n -w z "$line"$'\t'
  zpty -n -w z $'\C-y'
  read_until "<done>"
  zpty -d z
  print -r -- "$output" | tr -d '\r' | sed -n 's/^.*<match>//p' | sort -u
}

# Under heavy load a first completion now and then rings the bell with no matches (zle
# timing in the pty, not the completion file): an empty result is tried twice more, so
# only a completion that offers nothing three times running is reported as nothing.
for attempt in 1 2 3; do
  matches=$(complete_once)
  [[ -n $matches ]] && break
done
[[ -z $matches ]] || print -r -- "$matches"
