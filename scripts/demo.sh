#!/usr/bin/env bash
# demo.sh BUILD_DIR — the README's main job: make the default model if needed, describe it,
# and run it on a sample question.
set -euo pipefail
build="$1"
cd "$(dirname "$0")/.."
whale="$build/src/cli/whale"
model=models/demo/whale-demo-random.gguf
if [ ! -f "$model" ]; then
  mkdir -p models/demo
  "$build/tools/whale-make-demo-model" "$model"
fi
echo "== whale info $model"
echo "   (random weights: a demonstration of the engine, not a trained model; its output is noise)"
"$whale" info "$model"
if "$whale" --help | grep -qE "^  run( |$)"; then
  echo "== whale run -m $model -p 'What is 387 + 456?'"
  "$whale" run -m "$model" -p "What is 387 + 456?" -n 48 --seed 1
else
  echo "== whale logits -m $model --tokens 256,87,104,97,108,101"
  "$whale" logits -m "$model" --tokens 256,87,104,97,108,101 -o /tmp/whale-demo-logits.npy
fi
