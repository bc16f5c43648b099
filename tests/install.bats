#!/usr/bin/env bats
# make install / make uninstall / make install-service (issue 16): the commands on PATH
# through links into this clone, with completion; run from an unrelated directory they
# work against the stub llama-server and use the suite's own .venv, not the caller's
# python; uninstall leaves the PREFIX exactly as it was.

setup() {
  load helpers/test_helper
  common_setup
  PREFIX="$BATS_TEST_TMPDIR/prefix"
  ELSEWHERE="$BATS_TEST_TMPDIR/some-project"
  mkdir -p "$ELSEWHERE"
  printf '# some project\nIt counts sheep.\n' >"$ELSEWHERE/README.md"
  : >"$ELSEWHERE/sheep-counter.c"
}

teardown() {
  common_teardown
}

# install [ARGS] / uninstall → the make targets, run from the clone as a user would
install() { make -s -C "$SUITE_ROOT" install PREFIX="$PREFIX" "$@"; }
uninstall() { make -s -C "$SUITE_ROOT" uninstall PREFIX="$PREFIX"; }

# tree DIR → every path under DIR with its type (and a link's target), sorted
tree() {
  [[ -e "$1" ]] || { echo "(absent)"; return; }
  find "$1" -printf '%P %y %l\n' | LC_ALL=C sort
}

@test "make install links every command, writes bash and zsh completion, and prints the PATH and fpath lines" {
  run --separate-stderr install
  assert_success
  local script
  while read -r script; do
    assert_equal "$(readlink "$PREFIX/bin/${script##*/}")" "$script"
    assert_line "linked $PREFIX/bin/${script##*/} -> $script"
    [[ -f "$PREFIX/share/bash-completion/completions/${script##*/}" ]]
  done < <("$SUITE_ROOT/.venv/bin/gpt-oss-py" options list)
  assert_equal "$(readlink "$PREFIX/bin/gpt-oss-py")" "$SUITE_ROOT/.venv/bin/gpt-oss-py"
  [[ -f "$PREFIX/share/zsh/site-functions/_gpt-oss-suite" && -f "$PREFIX/share/zsh/site-functions/_gpt-oss-py" ]]
  assert_line "  export PATH=\"$PREFIX/bin:\$PATH\""
  assert_line "  fpath=($PREFIX/share/zsh/site-functions \$fpath)"
}

@test "with PREFIX/bin already on PATH, install says so instead of the export line" {
  mkdir -p "$PREFIX/bin"
  PATH="$PREFIX/bin:$PATH" run --separate-stderr install
  assert_success
  assert_line "PATH: $PREFIX/bin is on your PATH already"
  refute_line --partial "export PATH"
}

@test "every command works from an unrelated directory through the links, with the suite's own Python" {
  install >/dev/null
  GPT_OSS_PORT=$(free_port)
  # A caller whose python is not the suite's: any use of python/python3 from PATH is caught.
  local real_python fakes="$BATS_TEST_TMPDIR/fakes"
  real_python=$(command -v python3)
  mkdir -p "$fakes"
  for name in python python3; do
    printf '#!/bin/sh\necho "$0 $*" >>%q\nexit 97\n' "$BATS_TEST_TMPDIR/caller-python-used" >"$fakes/$name"
    chmod +x "$fakes/$name"
  done
  printf '#!/bin/sh\nexec %q %q "$@"\n' "$real_python" "$TEST_STUB_SERVER" >"$BATS_TEST_TMPDIR/llama-server"
  chmod +x "$BATS_TEST_TMPDIR/llama-server"
  # The stub answers the tool loop: list the workspace (this unrelated folder), then answer.
  "$real_python" -c 'import json, sys; json.dump(sys.argv[2:], open(sys.argv[1], "w"))' "$BATS_TEST_TMPDIR/replies.json" \
    '<|channel|>analysis<|message|>Look.<|end|><|start|>assistant<|channel|>commentary to=functions.list_files <|constrain|>json<|message|>{"depth": 1}' \
    '<|channel|>analysis<|message|>Seen.<|end|><|start|>assistant<|channel|>final<|message|>It counts sheep.' \
    '2'
  export PATH="$PREFIX/bin:$fakes:/usr/bin:/bin" LLAMA_SERVER="$BATS_TEST_TMPDIR/llama-server"
  export STUB_REPLIES_FILE="$BATS_TEST_TMPDIR/replies.json" GPT_OSS_PORT GPT_OSS_CTX=8192 GPT_OSS_PARALLEL=1
  export GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/gpt-oss-20b-Q4_0.gguf" GPT_OSS_KEEPALIVE_SECS=0
  : >"$GPT_OSS_GGUF_MODEL_PATH"
  cd "$ELSEWHERE"

  run --separate-stderr gpt-oss-fast.sh --no-warmup 3>&-
  assert_success
  assert_output "http://127.0.0.1:$GPT_OSS_PORT"
  run --separate-stderr local-infer.sh --tools "Summarize this repo"
  assert_success
  assert_output "It counts sheep."
  # The tool listed the caller's folder (the workspace is `.`), not the suite's clone.
  grep -lq 'sheep-counter.c' "$STUB_DIR"/body-*
  run --separate-stderr gpt-oss-query.sh "1+1="
  assert_success
  assert_output 2
  run --separate-stderr local-infer.sh --raw "1+1="
  assert_success
  run --separate-stderr gpt-oss-status.sh --no-probe --json
  assert_success
  assert_output --partial '"health":"ok"'
  run --separate-stderr gpt-oss-bench.sh 2 --json
  assert_success
  assert_output --partial '"runs": 2'
  run --separate-stderr gpt-oss-py --version
  assert_success
  run --separate-stderr gpt-oss-fast.sh stop
  assert_success
  [[ ! -e "$BATS_TEST_TMPDIR/caller-python-used" ]] || fail "the caller's python ran: $(cat "$BATS_TEST_TMPDIR/caller-python-used")"
}

@test "each command answers --help and --version through its link, from another directory" {
  install >/dev/null
  cd "$ELSEWHERE"
  local link version
  read -r version <"$SUITE_ROOT/VERSION"
  for link in "$PREFIX"/bin/*.sh; do
    run --separate-stderr "$link" --version
    assert_success
    assert_line --index 0 "${link##*/} (gpt-oss-suite) $version"
    run --separate-stderr "$link" --help
    assert_success
    assert_line --index 0 --partial "Usage: ${link##*/}"
  done
}

@test "the installed bash completion loads and completes a flag" {
  install >/dev/null
  run bash --norc --noprofile -c '
    source "$1/share/bash-completion/completions/local-infer.sh"
    COMP_WORDS=(local-infer.sh --back); COMP_CWORD=1
    _local_infer_sh local-infer.sh --back local-infer.sh
    printf "%s\n" "${COMPREPLY[@]}"' _ "$PREFIX"
  assert_success
  assert_output --backend
  # gpt-oss-py's own (click's) completion, through the installed link.
  PATH="$PREFIX/bin:$PATH" run bash --norc --noprofile -c '
    source "$1/share/bash-completion/completions/gpt-oss-py"
    COMP_WORDS=(gpt-oss-py gg); COMP_CWORD=1
    _gpt_oss_py_completion gpt-oss-py
    printf "%s\n" "${COMPREPLY[@]}"' _ "$PREFIX"
  assert_output gguf
}

@test "re-running install is harmless: same files, same manifest entries" {
  install >/dev/null
  local before
  before=$(tree "$PREFIX")
  cp "$PREFIX/share/gpt-oss-suite/install-manifest" "$BATS_TEST_TMPDIR/manifest-1"
  run --separate-stderr install
  assert_success
  assert_equal "$(tree "$PREFIX")" "$before"
  assert_equal "$(sort "$PREFIX/share/gpt-oss-suite/install-manifest")" "$(sort "$BATS_TEST_TMPDIR/manifest-1")"
}

@test "install never overwrites a file it did not make" {
  mkdir -p "$PREFIX/bin"
  echo 'my own tool' >"$PREFIX/bin/gpt-oss-query.sh"
  run --separate-stderr install
  assert_failure
  assert_equal "${stderr%%$'\n'*}" "install.sh: not overwriting what an earlier install did not make: $PREFIX/bin/gpt-oss-query.sh (remove it, or choose another PREFIX)"
  assert_equal "$(cat "$PREFIX/bin/gpt-oss-query.sh")" 'my own tool'
  [[ ! -e "$PREFIX/bin/gpt-oss-fast.sh" ]] # nothing half-done
}

@test "uninstall leaves the PREFIX exactly as it was, the user's own files included" {
  mkdir -p "$PREFIX/bin" "$PREFIX/share/man"
  echo 'mine' >"$PREFIX/bin/mytool"
  local before
  before=$(tree "$PREFIX")
  install >/dev/null
  echo 'also mine' >"$PREFIX/share/bash-completion/completions/mytool" # after install, in its folder
  run --separate-stderr uninstall
  assert_success
  assert_line "kept $PREFIX/share/bash-completion/completions/ (not empty)"
  rm "$PREFIX/share/bash-completion/completions/mytool"
  rmdir "$PREFIX/share/bash-completion/completions" "$PREFIX/share/bash-completion"
  assert_equal "$(tree "$PREFIX")" "$before"
}

@test "uninstall into a PREFIX that did not exist removes it again; a second uninstall has nothing to do" {
  install >/dev/null
  run --separate-stderr uninstall
  assert_success
  [[ ! -e "$PREFIX" ]]
  run --separate-stderr uninstall
  assert_success
  assert_equal "$stderr" "install.sh: nothing to remove: no manifest at $PREFIX/share/gpt-oss-suite/install-manifest"
}

@test "uninstall leaves a link that was changed to point elsewhere, and says so" {
  install >/dev/null
  ln -sfn /bin/true "$PREFIX/bin/gpt-oss-query.sh"
  run --separate-stderr uninstall
  assert_success
  [[ "$(readlink "$PREFIX/bin/gpt-oss-query.sh")" == /bin/true ]]
  assert_equal "$(grep -c 'left ' <<<"$stderr")" 1
}

@test "make install-service writes the unit where systemd looks; uninstall removes it" {
  export LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server"
  export GPT_OSS_GGUF_MODEL_PATH="$BATS_TEST_TMPDIR/gpt-oss-20b-Q4_0.gguf"
  : >"$GPT_OSS_GGUF_MODEL_PATH"
  install >/dev/null
  run --separate-stderr make -s -C "$SUITE_ROOT" install-service PREFIX="$PREFIX"
  assert_success
  local unit="$XDG_CONFIG_HOME/systemd/user/gpt-oss-fast.service"
  assert_line "wrote $unit"
  assert_line "enable and start it with: systemctl --user daemon-reload && systemctl --user enable --now gpt-oss-fast.service"
  grep -q "^ExecStart=.*gpt-oss-fast.sh --foreground .*--model $GPT_OSS_GGUF_MODEL_PATH" "$unit"
  run --separate-stderr uninstall
  assert_success
  [[ ! -e "$unit" && ! -e "$XDG_CONFIG_HOME/systemd" && ! -e "$PREFIX" ]]
}

@test "on a fresh clone without .venv, make install makes the Python core and the commands work elsewhere" {
  # A copy of the working tree as a clone has it (tracked and new files, no .venv).
  local clone="$BATS_TEST_TMPDIR/clone" real_home
  mkdir -p "$clone"
  (cd "$SUITE_ROOT" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$clone")
  [[ ! -e "$clone/.venv" ]]
  # pip keeps its cache in the real home (the test's HOME is empty).
  real_home=$(getent passwd "$(id -u)" | cut -d: -f6)
  PIP_CACHE_DIR="$real_home/.cache/pip" run --separate-stderr make -s -C "$clone" install PREFIX="$PREFIX"
  assert_success
  assert_line "linked $PREFIX/bin/gpt-oss-py -> $clone/.venv/bin/gpt-oss-py"
  [[ "$stderr" == *"install.sh: creating .venv with the Python core"* ]]
  cd "$ELSEWHERE"
  run --separate-stderr "$PREFIX/bin/gpt-oss-py" --version
  assert_success
  echo '{"messages": [{"role": "user", "content": "hi"}], "date": "2026-01-01"}' >conversation.json
  run --separate-stderr "$PREFIX/bin/gpt-oss-py" harmony render conversation.json
  assert_success
  assert_output --partial '<|start|>user<|message|>hi<|end|><|start|>assistant'
}
