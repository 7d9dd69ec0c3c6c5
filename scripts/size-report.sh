#!/usr/bin/env bash
# Prints the size of what a page downloads: the wasm module and its JS glue,
# raw, gzip -9 and (when the `brotli` command exists) brotli -q 11, and the
# total of the two.
#   scripts/size-report.sh            web/dist (what scripts/build.sh copied)
#   scripts/size-report.sh DIR        rekindle.wasm and rekindle.mjs in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-web/dist}"
files=("$dir/rekindle.wasm" "$dir/rekindle.mjs")
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "size-report: $f is missing; run \`bash scripts/build.sh module\` first" >&2; exit 1; }
done
have_brotli=0
command -v brotli >/dev/null 2>&1 && have_brotli=1

raw_total=0 gz_total=0 br_total=0
header="%-28s %10s %10s"
[ "$have_brotli" = 1 ] && header+=" %10s"
# shellcheck disable=SC2059
printf "$header\n" file raw gzip-9 $([ "$have_brotli" = 1 ] && echo brotli)
for f in "${files[@]}"; do
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  raw_total=$((raw_total + raw)); gz_total=$((gz_total + gz))
  if [ "$have_brotli" = 1 ]; then
    br=$(brotli -q 11 -c "$f" | wc -c)
    br_total=$((br_total + br))
    printf "$header\n" "$f" "$raw" "$gz" "$br"
  else
    printf "$header\n" "$f" "$raw" "$gz"
  fi
done
if [ "$have_brotli" = 1 ]; then
  printf "$header\n" total "$raw_total" "$gz_total" "$br_total"
else
  printf "$header\n" total "$raw_total" "$gz_total"
  echo "(brotli: the brotli command is not installed)"
fi
