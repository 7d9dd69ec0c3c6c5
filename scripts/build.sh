#!/usr/bin/env bash
# Builds what is missing or stale: the native build (library, tests) and the
# WebAssembly build (module + the core tests compiled to wasm). Both reuse
# their build trees, so a second run only rebuilds what changed.
#   scripts/build.sh            both
#   scripts/build.sh native     native only (REKINDLE_SANITIZE=1 for ASan+UBSan)
#   scripts/build.sh wasm       wasm only
#   scripts/build.sh module     only the wasm module the page loads (npm start)
# The wasm steps end with scripts/build-web.mjs: the script-tag build
# web/dist/rekindle.global.js (esbuild), with its size raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
jobs="$(nproc)"

build_native() {
  local dir=build/native type=RelWithDebInfo extra=()
  if [ "${REKINDLE_SANITIZE:-0}" = 1 ]; then
    dir=build/sanitize; type=Debug; extra=(-DREKINDLE_SANITIZE=ON)
  fi
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" "${extra[@]}" >/dev/null
  fi
  cmake --build "$dir" -j"$jobs"
}

build_wasm() {
  local targets=()
  if [ "${1:-}" = module ]; then targets=(--target rekindle_wasm); fi
  # emcc's JS optimizer needs acorn from Debian's node modules.
  export NODE_PATH=/usr/share/nodejs
  if [ ! -f build/wasm/CMakeCache.txt ]; then
    emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/wasm -j"$jobs" "${targets[@]}"
  mkdir -p web/dist
  # rekindle.symbols (the wasm's function names) is not shipped: the benchmark
  # reads it to tell what the module's bytes are.
  for f in rekindle.mjs rekindle.wasm rekindle.symbols; do
    cmp -s "build/wasm/wasm/$f" "web/dist/$f" || cp "build/wasm/wasm/$f" "web/dist/$f"
  done
  # The script-tag build (web/dist/rekindle.global.js) from the module just copied.
  node scripts/build-web.mjs
}

case "$what" in
  native) build_native ;;
  wasm) build_wasm ;;
  module) build_wasm module ;;
  all) build_native; build_wasm ;;
  *) echo "usage: $0 [native|wasm|module|all]" >&2; exit 2 ;;
esac
