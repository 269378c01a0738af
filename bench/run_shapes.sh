#!/usr/bin/env bash
# run_shapes.sh — end-to-end benchmark of the three benchmark shapes (PERFORMANCE.md): writes
# the random-weight models once (whale-make-shape-model), runs `whale bench --json` on each and
# prints one table. Slow (tens of GB of models); not part of the test suite.
#
# usage: bench/run_shapes.sh BUILD_DIR [whale bench options, default: -p 512 -n 128 -r 5]
# env:   WHALE_SHAPE_DIR  where the models live (default BUILD_DIR/shape-models)
#        WHALE_SHAPES     SHAPE:TYPE pairs to run (default: the 1.5B shape in q8_0 and q4_k,
#                         V2-Lite and the V3 slice in q4_k); sizes: 1.5B 1.9 GB (q8_0) / 1.1 GB
#                         (q4_k), V2-Lite ~9 GB (q4_k), V3 slice ~7 GB (q4_k, 2 layers)
#        WHALE_KEEP_MODELS=0  delete each model after measuring it (for small disks)
#        WHALE_V3_LAYERS  layers of the DeepSeek-V3 slice (default 2: one dense, one MoE)
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [whale bench options]" >&2
  exit 2
fi
build=$1
shift
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(-p 512 -n 128 -r 5)
dir=${WHALE_SHAPE_DIR:-$build/shape-models}
shapes=${WHALE_SHAPES:-r1-distill-qwen-1.5b:q8_0 r1-distill-qwen-1.5b:q4_k deepseek-v2-lite:q4_k deepseek-v3-slice:q4_k}
whale=$build/src/cli/whale
make=$build/tools/whale-make-shape-model
for bin in "$whale" "$make"; do
  [[ -x $bin ]] || { echo "$0: $bin not built (cmake --build $build --target whale whale-make-shape-model)" >&2; exit 1; }
done
mkdir -p "$dir"

results=()
for pair in $shapes; do
  shape=${pair%%:*}
  type=${pair#*:}
  [[ $type != "$pair" ]] || type=q8_0
  model=$dir/$shape-$type.gguf
  if [[ ! -f $model ]]; then
    extra=()
    [[ $shape == deepseek-v3-slice ]] && extra=(--layers "${WHALE_V3_LAYERS:-2}")
    echo "== writing $model" >&2
    "$make" "$shape" "$model" --type "$type" "${extra[@]}" >&2
  fi
  echo "== whale bench -m $model ${args[*]}" >&2
  out=$dir/$shape-$type.bench.json
  "$whale" bench -m "$model" --json "${args[@]}" > "$out"
  results+=("$shape=$out")
  [[ ${WHALE_KEEP_MODELS:-1} != 0 ]] || rm -f "$model"
done

python3 - "${results[@]}" <<'PY'
import json, sys
rows = []
for item in sys.argv[1:]:
    shape, path = item.split("=", 1)
    with open(path) as f:
        j = json.load(f)
    rows.append((shape, j))
head = ("shape", "type", "size", "prefill tok/s", "pp roof", "decode tok/s", "tg roof", "read GB/s", "int8 GOP/s", "logits")
table = []
for shape, j in rows:
    p, d, l = j["prefill"], j["decode"], j["limits"]
    table.append((
        shape, j["weight_type"], f'{j["file_bytes"] / 1e9:.2f} GB',
        f'{p["tokens_per_s"]:.2f} ({p["min"]:.2f}-{p["max"]:.2f})',
        f'{100 * p["roofline_fraction"]:.1f}% of {p["peak"]}',
        f'{d["tokens_per_s"]:.2f} ({d["min"]:.2f}-{d["max"]:.2f})',
        f'{100 * d["roofline_fraction"]:.1f}%',
        f'{l["read_bandwidth_gbs_before"]:.1f} / {l["read_bandwidth_gbs_after"]:.1f}',
        f'{l["int8_gops"]:.0f} ({l.get("int8_chain", "?")})',
        j["logits_hash"][:8]))
widths = [max(len(str(r[i])) for r in [head] + table) for i in range(len(head))]
line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
print(line(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in table:
    print(line(r))
if rows:
    j = rows[0][1]
    l = j["limits"]
    print(f'\n{j["threads"]} threads, {l["simd"]}; pp{j["prompt_tokens"]} tg{j["gen_tokens"]}, {j["repeats"]} repeats '
          f'(median, min-max); fp32 {l["fp32_gflops"]:.0f} GFLOP/s (first run); '
          'decode roofline = read bandwidth (higher of before/after) / bytes per token')
PY
