#!/usr/bin/env bash
# demo.sh BUILD_DIR — the README's main job: make the default model if needed, describe it,
# and ask it a sample question with `whale run`.
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
"$whale" info "$model"
echo
echo "== whale run -m $model -p 'What is 387 + 456?'"
echo "   (RANDOM-WEIGHT DEMO: the engine runs end to end, but this model was never trained,"
echo "    so its 'thinking' and 'answer' are random bytes. Point -m at a real R1 GGUF or HF folder.)"
"$whale" run -m "$model" -p "What is 387 + 456?" -n 48 --seed 1
