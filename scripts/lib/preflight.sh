# shellcheck shell=bash
# gpt-oss-fast.sh's offline answers, which start nothing: --version (the suite's version,
# the llama-server binary it would use and that binary's own version line) and
# --check-model (is the GGUF usable here: the Python core's `gguf check`).
# Sourced by gpt-oss-fast.sh after its knobs are read (find_server_binary, resolve_model).
# shellcheck disable=SC2154 # model and json are set by gpt-oss-fast.sh, which sources this

# llama_server_version BINARY → the binary's own "version: N (commit)" line, or nothing.
# Both dialects print it on stderr; some builds print device lines before it.
llama_server_version() {
  timeout 10 "$1" --version 2>&1 </dev/null | sed -n '/^version:/{p;q;}' || true
}

run_version() {
  local binary line
  print_version
  if ! binary=$(find_server_binary); then
    printf '%-14s%s\n' llama-server "none found"
    return 0
  fi
  line=$(llama_server_version "$binary")
  printf '%-14s%s\n' llama-server "$binary" "" "${line:-"no version line from $binary --version"}"
}

# run_check_model → checks `--check-model FILE`, else the model a start would serve
# (--model, GPT_OSS_GGUF_MODEL_PATH or the pick); a missing file is the check's to report.
run_check_model() {
  [[ -n "$model" ]] || resolve_model
  local -a args=(gguf check "$model")
  ((json)) && args+=(--json)
  gpt_oss_py "${args[@]}"
}
