#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) into build/fuzz and runs
# each for FUZZ_SECONDS (default 30) on a copy of its seed corpus, so the
# repository stays clean; fails on any crash, leak, timeout or sanitizer report.
#   scripts/fuzz.sh                      every target
#   scripts/fuzz.sh event template       only these
#   FUZZ_SECONDS=600 scripts/fuzz.sh     the long run
#   FUZZ_SEED=7 scripts/fuzz.sh          a fixed seed (npm test uses one, so that
#                                        a run is repeatable; unset, each run differs)
# Targets: event artifact snapshot template fragment (see fuzz/CMakeLists.txt).
# A finding is written to build/fuzz/findings/<target>/; replay it with
#   build/fuzz/fuzz/fuzz_<target> <file>
set -euo pipefail
cd "$(dirname "$0")/.."

all=(event artifact snapshot template fragment)
targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
  if [ ! -d "fuzz/corpus/$t" ]; then
    echo "fuzz: unknown target '$t' (known: ${all[*]})" >&2
    exit 2
  fi
done
seconds="${FUZZ_SECONDS:-30}"
seed="${FUZZ_SEED:-0}"  # 0: libFuzzer picks one

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: clang++-14 is missing; run scripts/setup.sh" >&2
  exit 1
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -DREKINDLE_FUZZ=ON -DREKINDLE_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build build/fuzz -j"$(nproc)" "${build_targets[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)}"
[ -n "$ASAN_SYMBOLIZER_PATH" ] || unset ASAN_SYMBOLIZER_PATH

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="build/fuzz/corpus/$t" findings="build/fuzz/findings/$t" log="build/fuzz/logs/$t.log"
  # The working corpus keeps what earlier runs found; the seeds are added again.
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  cp -rn "fuzz/corpus/$t/." "$corpus/"
  printf '\n-- fuzz_%s for %ss\n' "$t" "$seconds"
  status=0
  "build/fuzz/fuzz/fuzz_$t" "$corpus" -dict=fuzz/rekindle.dict -max_total_time="$seconds" -seed="$seed" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  files=$(find "$corpus" -type f | wc -l)
  summary+=("$(printf '%-9s %10s runs %8s exec/s %6s corpus files  %s' "$t" "${runs:-?}" "${rate:-?}" "$files" \
    "$([ "$status" = 0 ] && echo ok || echo "FAILED (exit $status)")")")
  if [ "$status" != 0 ]; then
    failed+=("$t")
    # The report: libFuzzer's, the sanitizer's or the violated property.
    grep -v '^#[0-9]' "$log" | tail -n 60 >&2
    echo "fuzz: fuzz_$t failed; full log $log, input in $findings/" >&2
  else
    grep -E '^(#[0-9]+ +DONE|Done )' "$log" || true
  fi
done

printf '\n-- summary (%ss per target)\n' "$seconds"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
