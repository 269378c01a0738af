#!/usr/bin/env bash
# test.sh — the whole test suite: Release build with warnings as errors, the kernel tests
# cross-compiled for AArch64 and run under qemu, then the same tests under AddressSanitizer +
# UndefinedBehaviorSanitizer, then bounded libFuzzer runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
fuzz_seconds="${WHALE_FUZZ_SECONDS:-30}"
# Let ccache hit across checkouts in different folders (CI clones elsewhere).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

# Reference implementations from npm: Hugging Face tokenizers and jinja (tokenizer and chat
# template tests), Hugging Face's GGUF parser (writer cross-check), the OpenAI SDK and
# playwright-core (the server's real-client and web-page tests).
for dir in tests/tokenizer tests/gguf_js tests/server/js; do
  if [ -f "$dir/package.json" ]; then
    echo "== npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

echo "== Release build (-Werror)"
cmake --preset ci -G Ninja >/dev/null
cmake --build build/ci -j "$jobs"
echo "== tests (Release)"
ctest --test-dir build/ci -j "$jobs" --output-on-failure --timeout 600

echo "== aarch64 NEON kernels under qemu"
# The NEON kernels are compiled only for AArch64: cross-compile the kernels and their tests
# (the kernels-only build: fmt header-only, GoogleTest from /usr/src/googletest) and run them
# under qemu-aarch64, whose CPU has the dot-product extension, so both NEON tables are tested
# bit for bit against the scalar reference. Emulation says nothing about speed.
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "$tool missing: install g++-aarch64-linux-gnu qemu-user (scripts/setup.sh test)" >&2; exit 1; }
done
cmake --preset aarch64-kernels -G Ninja >/dev/null
cmake --build build/aarch64-kernels -j "$jobs"
ctest --test-dir build/aarch64-kernels -j "$jobs" --output-on-failure --timeout 600

echo "== ASan + UBSan build"
# Warnings are enforced by the Release build; GCC reports false maybe-uninitialized
# warnings under the sanitizers, so this build does not use -Werror.
cmake --preset asan-ubsan -G Ninja >/dev/null
cmake --build build/asan-ubsan -j "$jobs"
echo "== tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan-ubsan -j "$jobs" --output-on-failure --timeout 900 -LE slow

if [ -f tests/fuzz/run_fuzzers.sh ]; then
  echo "== libFuzzer (${fuzz_seconds}s per target)"
  cmake --preset fuzz -G Ninja >/dev/null
  cmake --build build/fuzz -j "$jobs"
  bash tests/fuzz/run_fuzzers.sh build/fuzz "$fuzz_seconds"
fi
echo "== all tests passed"
