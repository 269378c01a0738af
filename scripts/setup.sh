#!/usr/bin/env bash
# setup.sh — one-step set-up for a fresh Debian 12 / Ubuntu machine.
#   scripts/setup.sh demo   install what is missing, build Release, run whale on the default model
#   scripts/setup.sh test   install what is missing, build, and pass the whole test suite
#                           (Release with -Werror, ASan+UBSan, bounded libFuzzer runs)
set -euo pipefail
mode="${1:-demo}"
cd "$(dirname "$0")/.."
root="$PWD"
jobs="$(nproc)"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

packages=(build-essential cmake ninja-build ccache pkg-config git
          libfmt-dev nlohmann-json3-dev libcli11-dev libpcre2-dev libicu-dev libedit-dev libcpp-httplib-dev
          python3 python3-numpy)
if [ "$mode" = "test" ]; then
  packages+=(googletest libgtest-dev libgmock-dev libbenchmark-dev python3-torch
             clang-14 libclang-rt-14-dev tmux
             chromium curl  # chromium: the web page's test; curl: raw SSE checks
             g++-aarch64-linux-gnu qemu-user)  # the NEON kernels' tests, cross-built, under qemu
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the reference tokenizers; a Node.js installed another way (NodeSource
# bundles npm, and its package conflicts with Debian's npm) is used as it is.
if [ "$mode" = "test" ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

case "$mode" in
  demo)
    cmake --preset release -G Ninja -DWHALE_BUILD_TESTS=OFF -DWHALE_BUILD_BENCH=OFF >/dev/null
    cmake --build build/release -j "$jobs"
    exec scripts/demo.sh build/release
    ;;
  test)
    exec scripts/test.sh
    ;;
  *)
    echo "usage: scripts/setup.sh demo|test" >&2
    exit 2
    ;;
esac
