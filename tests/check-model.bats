#!/usr/bin/env bats
# gpt-oss-fast.sh --check-model [FILE] (issue 16): a GGUF checked offline before a start,
# on the bundled models (real SmolLM2 weights, the tiny gpt-oss GGUF) and on broken
# copies of them: cut short, wrong magic, a split model with a part missing.

setup_file() {
  # The provisioned models live in the real cache, resolved before HOME moves.
  TINY=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" tiny-gpt-oss)
  SMOLLM2=$("$BATS_TEST_DIRNAME/../scripts/provision/models.sh" smollm2)
  export TINY SMOLLM2
}

setup() {
  load helpers/test_helper
  common_setup
  FAST="$SUITE_ROOT/scripts/gpt-oss-fast.sh"
  export LLAMA_SERVER="$SUITE_ROOT/tests/helpers/bin/llama-server"
  DIR="$BATS_TEST_TMPDIR/models"
  mkdir -p "$DIR"
}

teardown() {
  common_teardown
}

# field KEY → the value of the report line "KEY  value" in $output
field() { sed -n "s/^$1 *//p" <<<"$output"; }

@test "the tiny gpt-oss GGUF checks out: architecture, quant, tensors, memory, verdict ok" {
  run --separate-stderr "$FAST" --check-model "$TINY"
  assert_success
  assert_equal "$(field file)" "$TINY"
  assert_equal "$(field gguf)" "version 3"
  assert_equal "$(field architecture)" gpt-oss
  assert_equal "$(field quant)" "F32  (general.file_type 0)"
  assert_equal "$(field tensors)" 41
  assert_equal "$(field parts)" "1 of 1 present"
  assert_output --regexp $'\nmemory +0\\.7 MB of weights; [0-9.]+ GB total, [0-9.]+ GB available: fits\n'
  assert_equal "$(field verdict)" ok
  assert_equal "$stderr" ""
}

@test "real SmolLM2 weights check out, with a note that it is not a gpt-oss model" {
  run --separate-stderr "$FAST" --check-model "$SMOLLM2"
  assert_success
  assert_equal "$(field architecture)" llama
  assert_equal "$(field quant)" "Q4_1  (general.file_type 3)"
  assert_equal "$(field tensors)" 272
  assert_line --partial "warning      architecture llama, not gpt-oss"
}

@test "without FILE it checks the model a start would serve (GPT_OSS_GGUF_MODEL_PATH, else the pick)" {
  GPT_OSS_GGUF_MODEL_PATH=$TINY run --separate-stderr "$FAST" --check-model
  assert_success
  assert_equal "$(field file)" "$TINY"
  cp "$TINY" "$DIR/gpt-oss-20b-F32.gguf"
  GPT_OSS_MODEL_DIR=$DIR run --separate-stderr "$FAST" --check-model --json
  assert_success
  assert_equal "$(output_json_of "$output" 'd["path"], d["ok"], d["architecture"]')" "$DIR/gpt-oss-20b-F32.gguf True gpt-oss"
  GPT_OSS_MODEL_DIR=$BATS_TEST_TMPDIR/empty run --separate-stderr "$FAST" --check-model
  assert_failure 7
  assert_output ""
}

@test "a download cut short is caught, in the header and in the tensor data" {
  head -c 300000 "$TINY" >"$DIR/cut-data.gguf"
  run --separate-stderr "$FAST" --check-model "$DIR/cut-data.gguf"
  assert_failure 7
  assert_line "problem      $DIR/cut-data.gguf: truncated: 300000 bytes, its tensor table needs $(stat -c %s "$TINY") (a download cut short?)"
  assert_equal "$(field verdict)" "not usable"
  assert_equal "$stderr" "gpt-oss-py: $DIR/cut-data.gguf: truncated: 300000 bytes, its tensor table needs $(stat -c %s "$TINY") (a download cut short?)"
  head -c 5000 "$TINY" >"$DIR/cut-header.gguf"
  run --separate-stderr "$FAST" --check-model "$DIR/cut-header.gguf"
  assert_failure 7
  assert_line --partial "problem      $DIR/cut-header.gguf: truncated: the header needs more than its 5000 bytes"
}

@test "a file that is not GGUF (wrong magic, an HTML error page) is refused" {
  { printf 'GGML'; tail -c +5 "$TINY"; } >"$DIR/wrong-magic.gguf"
  run --separate-stderr "$FAST" --check-model "$DIR/wrong-magic.gguf"
  assert_failure 7
  assert_line "problem      $DIR/wrong-magic.gguf: not a GGUF file: it starts with b'GGML', not b'GGUF'"
  printf '<!DOCTYPE html><html><body>Entry not found</body></html>\n' >"$DIR/page.gguf"
  run --separate-stderr "$FAST" --check-model "$DIR/page.gguf"
  assert_failure 7
  assert_line --partial "not a GGUF file: it starts with b'<!DO'"
}

@test "a split model checks every part; a missing part is named" {
  cp "$TINY" "$DIR/gpt-oss-20b-F32-00001-of-00003.gguf"
  cp "$TINY" "$DIR/gpt-oss-20b-F32-00002-of-00003.gguf"
  cp "$TINY" "$DIR/gpt-oss-20b-F32-00003-of-00003.gguf"
  run --separate-stderr "$FAST" --check-model "$DIR/gpt-oss-20b-F32-00001-of-00003.gguf"
  assert_success
  assert_equal "$(field parts)" "3 of 3 present"
  assert_equal "$(field tensors)" 123
  rm "$DIR/gpt-oss-20b-F32-00002-of-00003.gguf"
  run --separate-stderr "$FAST" --check-model "$DIR/gpt-oss-20b-F32-00001-of-00003.gguf"
  assert_failure 7
  assert_equal "$(field parts)" "2 of 3 present"
  assert_line "problem      $DIR/gpt-oss-20b-F32-00002-of-00003.gguf: no such file"
  # The picker takes part 1 of a split model; the check follows it to the others.
  GPT_OSS_MODEL_DIR=$DIR run --separate-stderr "$FAST" --check-model
  assert_failure 7
}

@test "--check-model --json is one JSON object with the documented keys" {
  run --separate-stderr "$FAST" --check-model "$TINY" --json
  assert_success
  assert_equal "$(output_json_of "$output" 'sorted(d)' | tr -d "[]',")" \
    "architecture file_type gguf_version memory name ok parts path problems quant size_bytes tensor_count warnings"
  assert_equal "$(output_json_of "$output" 'd["memory"]["verdict"], d["parts"][0]["present"]')" "fits True"
}

@test "--check-model starts nothing and asks no server" {
  start_stub
  run --separate-stderr "$FAST" --check-model "$TINY"
  assert_success
  assert_equal "$(stub_request_count)" 0
  [[ ! -e "$(server_state)/server.pid" ]]
}
