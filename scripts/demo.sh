#!/usr/bin/env bash
# demo.sh WHALE — the README's main job: describe the default model and run it.
set -euo pipefail
whale="$1"
cd "$(dirname "$0")/.."
model=models/demo/whale-demo-random.gguf
if [ ! -f "$model" ]; then
  mkdir -p models/demo
  "$whale" make-demo "$model"
fi
echo "== whale info $model   (random weights: a demo of the engine, not a trained model)"
"$whale" info "$model"
