#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz") and runs each for a bounded time over a copy of
# its seed corpus in fuzz/corpus/<target>/ (the committed corpus never grows by itself).
#
#   scripts/fuzz.sh                      # every target, 30 s each
#   scripts/fuzz.sh --seconds 600        # longer runs
#   scripts/fuzz.sh fuzz_record_codec    # only the named target(s)
#   scripts/fuzz.sh --seed 1             # explore from a fixed seed (what the test command does)
#
# Exits non-zero when a target crashes, hangs (-timeout), runs out of memory (-rss_limit_mb)
# or fails one of its checks; the input that did it is printed with the command that
# replays it. Work files go to build/fuzz-runs/<time>/ (override with FUZZ_WORK_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
seed=""  # empty: libFuzzer picks one, so every run by hand explores new inputs
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds wants a whole number" >&2; exit 2; }
[[ -z "$seed" || "$seed" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seed wants a whole number" >&2; exit 2; }
if ((${#targets[@]} == 0)); then
  for dir in fuzz/corpus/fuzz_*/; do targets+=("$(basename "$dir")"); done
fi

scripts/bootstrap.sh
jobs=${JOBS:-$(nproc)}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"

work=${FUZZ_WORK_DIR:-build/fuzz-runs/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
# Readable stack traces; harmless when the symbolizer is missing.
if [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=()
for target in "${targets[@]}"; do
  binary=build/fuzz/fuzz/$target
  [[ -x "$binary" ]] || { echo "fuzz.sh: no fuzz target $target" >&2; exit 2; }
  corpus="$work/$target/corpus"
  artifacts="$work/$target/artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  [[ -f fuzz/$target.dict ]] && args+=(-dict="fuzz/$target.dict")
  [[ -n "$seed" ]] && args+=(-seed="$seed")
  echo "fuzz.sh: $target for ${seconds}s ($(ls "$corpus" | wc -l) seed inputs; log $work/$target/log)"
  rc=0
  "$binary" "${args[@]}" "$corpus" >"$work/$target/log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$work/$target/log" \
    | sed 's/^/    /' || true
  if ((rc != 0)); then
    failed+=("$target")
    echo "fuzz.sh: $target FAILED (exit $rc); the end of its log:" >&2
    tail -n 60 "$work/$target/log" >&2
    for input in "$artifacts"/*; do
      [[ -e "$input" ]] || continue
      echo "fuzz.sh: input that reproduces it: $input" >&2
      echo "fuzz.sh: replay with: $binary $input" >&2
    done
  fi
done

if ((${#failed[@]})); then
  echo "fuzz.sh: failed: ${failed[*]} (work files in $work)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), ${seconds}s each: no crash, hang or failed check"
