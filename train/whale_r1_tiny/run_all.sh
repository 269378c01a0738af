#!/usr/bin/env bash
# run_all.sh [RUN_DIR] — the whole whale-r1-tiny recipe, end to end, deterministic from the
# seeds in the step scripts: held-out set + BPE vocabulary, SFT, evaluation, GRPO, evaluation,
# export (HF folder + GGUF + engine-check references) into models/whale-r1-tiny/, plots.
# About half an hour on 2 shared CPU cores with Debian's python3-torch and python3-matplotlib. It
# wants OpenBLAS (`apt-get install libopenblas0-openmp`), preloaded here for these processes only:
# with the reference BLAS matrix products are 10x slower. Not as the system default: with two
# OpenMP threads on two busy cores OpenBLAS spin-waits, and everyone's small numpy products get
# 100x slower. One thread (OMP_NUM_THREADS=1) for the same reason, and for determinism.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run="${1:-$here/../../build/whale-r1-tiny-run}"
mkdir -p "$run"
run="$(cd "$run" && pwd)"
export OMP_NUM_THREADS=1 PYTHONHASHSEED=0
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
if [ -f "$openblas" ]; then
  export LD_PRELOAD="$openblas${LD_PRELOAD:+:$LD_PRELOAD}"
else
  echo "run_all: $openblas not found; training will be about 10x slower" >&2
fi
py=/usr/bin/python3
cd "$here"
SFT_STEPS="${SFT_STEPS:-2200}"
GRPO_STEPS="${GRPO_STEPS:-100}"
models="$here/../../models/whale-r1-tiny"
# Each stage's wall time goes to RUN_DIR/stage_seconds.txt (the model card quotes it).
: > "$run/stage_seconds.txt"
stage() {
  local name="$1" t0=$SECONDS
  shift
  "$@"
  echo "$name $((SECONDS - t0))" | tee -a "$run/stage_seconds.txt"
}
stage prepare $py prepare.py "$run"
stage sft $py sft.py "$run" "$SFT_STEPS"
stage eval_sft $py evaluate.py "$run" sft.pt sft
stage grpo $py grpo.py "$run" "$GRPO_STEPS"
stage eval_grpo $py evaluate.py "$run" grpo.pt grpo
stage export $py export.py "$run" "$models"
stage plots $py plots.py "$run" "$models/training"
cp "$run/stage_seconds.txt" "$models/training/stage_seconds.txt"
echo "done: $run"
