# shellcheck shell=bash
# Pick a GGUF file the way the guide's tuning sprint ranks quants:
# Q4_0 first (best all-round), other Q4 variants, then Q5/Q6/Q8/MXFP4/F16,
# anything unrecognised, Q3 (Q3_K_S decodes fast but spikes), Q2_K last (slower there).

# quant_rank FILENAME → "RANK QUANT REASON" for one file name (QUANT as written in it).
quant_rank() {
  local name=${1##*/} tag=unknown
  name=${name^^}
  [[ "$name" =~ (IQ[1-4]_[A-Z0-9]+|Q[2-8]_[0-9A-Z](_[A-Z])?|MXFP4|BF16|F16|F32) ]] && tag=${BASH_REMATCH[1]}
  case "$tag" in
    Q4_0) echo "1 $tag the guide's best all-round quant" ;;
    Q4_* | IQ4_*) echo "2 $tag a 4-bit quant (Q4_0 preferred when present)" ;;
    Q5_*) echo "3 $tag larger than Q4; used when no Q4 file exists" ;;
    Q6_*) echo "4 $tag larger than Q4; used when no Q4/Q5 file exists" ;;
    Q8_*) echo "5 $tag large; used when no Q4-Q6 file exists" ;;
    MXFP4) echo "6 $tag the native gpt-oss format; used when no Q4-Q8 file exists" ;;
    BF16 | F16 | F32) echo "7 $tag full precision; slow, used when nothing smaller exists" ;;
    Q3_* | IQ3_*) echo "9 $tag faster decode but more paging spikes in the guide's sprint" ;;
    Q2_* | IQ2_* | IQ1_*) echo "10 $tag slower than Q4 in the guide's sprint; last resort" ;;
    *) echo "8 unknown no quant recognised in the file name" ;;
  esac
}

# is_model_candidate PATH → GGUF weights, first part of a split model, not a projector.
is_model_candidate() {
  local name=${1##*/}
  [[ "$name" == *.gguf && "${name,,}" != mmproj* ]] || return 1
  [[ ! "$name" =~ -([0-9]{5})-of-[0-9]{5}\.gguf$ || "${BASH_REMATCH[1]}" == 00001 ]]
}

# pick_model_in DIR → prints "PATH<TAB>QUANT<TAB>REASON" of the best file; fails if none.
pick_model_in() {
  local dir=$1 best="" best_rank=99 rank quant reason file
  local -a files=()
  [[ -d "$dir" ]] || return 1
  # Sorted so that ties resolve the same way on every machine.
  mapfile -t files < <(find "$dir" -maxdepth 2 -name '*.gguf' \( -type f -o -type l \) 2>/dev/null | LC_ALL=C sort)
  for file in "${files[@]}"; do
    is_model_candidate "$file" || continue
    read -r rank quant reason <<<"$(quant_rank "$file")"
    if ((rank < best_rank)); then
      best=$file best_rank=$rank
      printf -v best_line '%s\t%s\t%s' "$file" "$quant" "$reason"
    fi
  done
  [[ -n "$best" ]] || return 1
  printf '%s\n' "$best_line"
}
