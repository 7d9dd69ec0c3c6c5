#!/usr/bin/env bash
# Runs every test suite; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "build (native + wasm)"
bash scripts/build.sh all

step "core tests, native (ctest)"
ctest --test-dir build/native --output-on-failure -j"$(nproc)"

step "core tests under AddressSanitizer + UndefinedBehaviorSanitizer"
REKINDLE_SANITIZE=1 bash scripts/build.sh native
ctest --test-dir build/sanitize --output-on-failure -j"$(nproc)"

step "fuzzing (libFuzzer, ASan + UBSan, bounded)"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}" FUZZ_SEED="${FUZZ_SEED:-1}" bash scripts/fuzz.sh

step "core tests, compiled to wasm (node)"
node build/wasm/tests/core/rekindle_core_tests.cjs
# The module's own strtod and snprintf (wasm/) against the C library's.
node build/wasm/wasm/rekindle_libc_tests.cjs

step "type tests (tsc --noEmit)"
npx tsc -p tests/types/tsconfig.json

step "JS tests: wasm module, server, headless Chromium (node --test)"
node --test --test-concurrency=1 tests/wasm/ tests/server/ tests/e2e/
