#!/usr/bin/env bash
# demo.sh BUILD_DIR — the README's main job: describe the bundled default model, whale-r1-tiny
# (a miniature DeepSeek-V3 trained here by SFT + GRPO on arithmetic, see
# models/whale-r1-tiny/README.md), and ask it a sample question with `whale run`.
set -euo pipefail
build="$1"
cd "$(dirname "$0")/.."
whale="$build/src/cli/whale"
model=models/whale-r1-tiny/whale-r1-tiny.gguf
if [ ! -f "$model" ]; then
  echo "demo: $model is missing (it is part of the repository; retrain with train/whale_r1_tiny/run_all.sh)" >&2
  exit 1
fi
echo "== whale info $model"
"$whale" info "$model"
echo
# Greedy (--temp 0): the model's own best answer. Without it whale samples at R1's recommended
# temperature 0.6, and then a wrong digit now and then.
echo "== whale run -m $model -p 'What is 387 + 456?' --temp 0"
"$whale" run -m "$model" -p "What is 387 + 456?" --temp 0
