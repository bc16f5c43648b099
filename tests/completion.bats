#!/usr/bin/env bats
# Shell completion (issue 16), generated from each command's `# Usage:` header by
# `gpt-oss-py options completion` (what `make install` runs). bash is tested for real:
# the file is loaded into bash and its function called with COMP_WORDS/COMP_CWORD, as
# bash does on Tab. zsh is driven through a pseudo-terminal where zsh is installed (a
# user's shell is not something `make setup` installs: the one allowed skip).

setup() {
  load helpers/test_helper
  common_setup
  PY="$SUITE_ROOT/.venv/bin/gpt-oss-py"
  COMP="$BATS_TEST_TMPDIR/completions"
  "$PY" options completion bash --out "$COMP/bash" >/dev/null
  "$PY" options completion zsh --out "$COMP/zsh" >/dev/null
  WORK="$BATS_TEST_TMPDIR/work"
  mkdir -p "$WORK/models" "$WORK/sub"
  : >"$WORK/a.gguf"
  : >"$WORK/notes.txt"
  cd "$WORK"
}

teardown() {
  common_teardown
}

# complete_bash WORD... → what bash offers for the last WORD (one per line, sorted); the
# command's completion file is loaded into a fresh bash, as bash-completion would.
complete_bash() {
  local command=$1
  bash --norc --noprofile -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    func=$(complete -p "$1" | sed -E "s/.*-F ([^ ]+) .*/\1/")
    "$func" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$COMP/bash/$command" "$@"
}

@test "bash: every command gets a completion file, and each is shellcheck-clean" {
  local script name
  while read -r script; do
    name=${script##*/}
    [[ -f "$COMP/bash/$name" ]] || fail "no bash completion for $name"
  done < <("$PY" options list)
  run "$SUITE_ROOT/.venv/bin/shellcheck" -s bash "$COMP"/bash/*.sh # gpt-oss-py's is click's
  assert_success
}

@test "bash: a flag prefix completes to the command's flags" {
  run complete_bash gpt-oss-fast.sh --mo
  assert_output $'--model\n--model-dir'
  run complete_bash gpt-oss-query.sh --t
  assert_output $'--temperature\n--timeout'
}

@test "bash: every long flag each --help lists is offered" {
  local script name flag
  while read -r script; do
    name=${script##*/}
    run complete_bash "$name" -
    # The --help lines that start with flags, read independently of the spec parser.
    while read -r flag; do
      assert_line "$flag"
    done < <("$script" --help | grep -oE '^ {1,8}(-[a-z]+, )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+$')
  done < <("$PY" options list)
}

@test "bash: known values complete: --backend, --reasoning, --kv-unified, --print-service" {
  run complete_bash local-infer.sh --backend ''
  assert_output $'gpt-oss\nopenai'
  run complete_bash local-infer.sh --reasoning h
  assert_output high
  run complete_bash gpt-oss-fast.sh --print-service ''
  assert_output $'launchd\nsystemd'
  run complete_bash gpt-oss-fast.sh --kv-unified ''
  assert_output $'0\n1\nauto'
}

@test "bash: the subcommands complete first, and not later" {
  run complete_bash gpt-oss-fast.sh st
  assert_output $'start\nstop'
  run complete_bash gpt-oss-fast.sh --json st
  assert_output ''
}

@test "bash: --model offers GGUF files and folders, not other files" {
  run complete_bash gpt-oss-fast.sh --model ''
  assert_output $'a.gguf\nmodels\nsub'
  run complete_bash gpt-oss-fast.sh -m a
  assert_output a.gguf
  # --check-model's FILE is optional: a flag may come instead.
  run complete_bash gpt-oss-fast.sh --check-model ''
  assert_output $'a.gguf\nmodels\nsub'
  run complete_bash gpt-oss-fast.sh --check-model --js
  assert_output --json
  run complete_bash local-infer.sh --workspace ''
  assert_output $'models\nsub'
}

@test "bash: a value nobody can guess offers nothing rather than flags" {
  run complete_bash gpt-oss-fast.sh --ctx ''
  assert_output ''
  run complete_bash gpt-oss-query.sh --url ''
  assert_output ''
}

@test "completion follows the header: a new option line is completed without other edits" {
  mkdir -p "$BATS_TEST_TMPDIR/scripts"
  sed 's/^#   -h, --help .*/#       --shiny MODE       bright or dim (default: dim)\n&/' \
    "$SUITE_ROOT/scripts/gpt-oss-query.sh" >"$BATS_TEST_TMPDIR/scripts/gpt-oss-query.sh"
  "$PY" options completion bash --out "$COMP/bash" "$BATS_TEST_TMPDIR/scripts/gpt-oss-query.sh" >/dev/null
  run complete_bash gpt-oss-query.sh --sh
  assert_output --shiny
  run complete_bash gpt-oss-query.sh --shiny ''
  assert_output $'bright\ndim'
}

# complete_zsh LINE → the matches zsh offers at the end of LINE
complete_zsh() {
  zsh "$SUITE_ROOT/tests/helpers/zsh_complete.zsh" "$COMP/zsh" "$1"
}

@test "zsh: the file loads for every command and completes flags, values, GGUF files" {
  command -v zsh >/dev/null || skip "zsh is not installed (a user's shell; make setup does not install it)"
  run zsh -n "$COMP/zsh/_gpt-oss-suite"
  assert_success
  run head -n 1 "$COMP/zsh/_gpt-oss-suite"
  assert_output "#compdef $("$PY" options list | sed 's#.*/##' | paste -sd ' ')"
  run complete_zsh "local-infer.sh --reasoning "
  assert_output $'high\nlow\nmedium'
  run complete_zsh "gpt-oss-fast.sh --mod"
  assert_output $'--model\n--model-dir'
  run complete_zsh "gpt-oss-fast.sh --model "
  assert_output $'a.gguf\nmodels\nsub'
  run complete_zsh "gpt-oss-fast.sh st"
  assert_output $'start\nstop'
  run complete_zsh "gpt-oss-bench.sh --prompt-f"
  assert_output --prompt-file
  [[ -c /dev/null ]] || fail "/dev/null is no longer a device after zsh ran compinit"
}
