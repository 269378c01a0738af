#!/usr/bin/env bash
# run_fuzzers.sh — runs every whale libFuzzer target for SECONDS each, starting from a seed
# corpus generated now from valid and crafted files; exits non-zero if any target crashes.
# Usage: tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS   (BUILD_DIR from `cmake --preset fuzz`)
set -euo pipefail

build=${1:?usage: run_fuzzers.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run_fuzzers.sh BUILD_DIR SECONDS}
bin_dir="$build/tests/fuzz"
work=$(mktemp -d "${TMPDIR:-/tmp}/whale-fuzz.XXXXXX")
echo "run_fuzzers: work folder $work"

"$bin_dir/fuzz_seed_corpus" "$work/seeds"

# UBSan findings must stop the run (they are compiled non-recoverable too).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for target in gguf safetensors hf_config; do
  exe="$bin_dir/fuzz_$target"
  corpus="$work/corpus_$target"
  artifacts="$work/crashes_$target/"
  mkdir -p "$corpus" "$artifacts"
  log="$work/fuzz_$target.log"
  # -rss_limit_mb / -malloc_limit_mb turn a huge allocation into a failure; -timeout a hang.
  if "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" \
      "$corpus" "$work/seeds/$target" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz_$target: ok, $runs runs in ${seconds}s, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "fuzz_$target: FAILED (log $log, inputs in $artifacts)"
    tail -n 60 "$log"
    status=1
  fi
done
exit $status
