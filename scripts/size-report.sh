#!/usr/bin/env bash
# Prints the size of what a page downloads, raw, gzip -9 and (when the
# `brotli` command exists) brotli -q 11: the wasm module, its JS glue and the
# script-tag build (glue + page runtime, minified), then the two totals a page
# can download: the script-tag page (rekindle.global.js + rekindle.wasm, what
# bench/size-budget.json budgets) and the bare module (rekindle.mjs +
# rekindle.wasm, before a bundler adds and minifies the runtime).
#   scripts/size-report.sh            web/dist (what scripts/build.sh copied)
#   scripts/size-report.sh DIR        the same files in DIR (global.js optional)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-web/dist}"
for f in "$dir/rekindle.wasm" "$dir/rekindle.mjs"; do
  [ -f "$f" ] || { echo "size-report: $f is missing; run \`bash scripts/build.sh module\` first" >&2; exit 1; }
done
files=("$dir/rekindle.wasm" "$dir/rekindle.mjs")
[ -f "$dir/rekindle.global.js" ] && files+=("$dir/rekindle.global.js")
have_brotli=0
command -v brotli >/dev/null 2>&1 && have_brotli=1

declare -A raw gz br
header="%-34s %10s %10s"
[ "$have_brotli" = 1 ] && header+=" %10s"
row() {  # name raw gz [br]
  # shellcheck disable=SC2059
  if [ "$have_brotli" = 1 ]; then printf "$header\n" "$1" "$2" "$3" "$4"; else printf "$header\n" "$1" "$2" "$3"; fi
}
row file raw gzip-9 brotli
for f in "${files[@]}"; do
  raw[$f]=$(wc -c <"$f")
  gz[$f]=$(gzip -9 -c "$f" | wc -c)
  br[$f]=0
  [ "$have_brotli" = 1 ] && br[$f]=$(brotli -q 11 -c "$f" | wc -c)
  row "$f" "${raw[$f]}" "${gz[$f]}" "${br[$f]}"
done
total() {  # label file...
  local label=$1 r=0 g=0 b=0 f
  shift
  for f in "$@"; do r=$((r + raw[$f])); g=$((g + gz[$f])); b=$((b + br[$f])); done
  row "$label" "$r" "$g" "$b"
}
if [ -f "$dir/rekindle.global.js" ]; then
  total "page: global.js + wasm" "$dir/rekindle.global.js" "$dir/rekindle.wasm"
fi
total "module: mjs + wasm" "$dir/rekindle.mjs" "$dir/rekindle.wasm"
[ "$have_brotli" = 1 ] || echo "(brotli: the brotli command is not installed)"
