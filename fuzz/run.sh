#!/bin/sh
# Build the fuzz targets with libFuzzer's coverage instrumentation on the stable toolchain (the
# flags cargo-fuzz passes, without the nightly-only sanitizer), seed each from fixtures/, and run
# each for SECONDS (default 600). Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Corpora and crashes go to ${FUZZ_DIR:-/tmp/bouncer-fuzz}/<target>/; a summary line per target
# (executions, coverage, time, crashes) is printed at the end.
set -eu
cd "$(dirname "$0")"
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-postfix exchange dsn mailbox classify explain}
work=${FUZZ_DIR:-/tmp/bouncer-fuzz}
tdir=${CARGO_TARGET_DIR:-$work/target}
triple=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing" \
  cargo build --release --target "$triple" --target-dir "$tdir"
seeds() {
  case $1 in
    postfix) find ../fixtures/postfix ../fixtures/trace -name '*.log*' -type f ;;
    exchange) find ../fixtures/exchange -type f ;;
    dsn|mailbox) find ../fixtures/dsn -type f ;;
    classify) find ../fixtures -name '*.log' -type f ;;
    explain) find ../fixtures/postfix -name "*.log" -type f ;;
  esac
}
for t in $targets; do
  mkdir -p "$work/$t/corpus" "$work/$t/crashes"
  for f in $(seeds "$t"); do cp "$f" "$work/$t/corpus/seed-$(echo "$f" | tr / _)"; done
  "$tdir/$triple/release/$t" "$work/$t/corpus" -max_total_time="$secs" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$work/$t/crashes/" -print_final_stats=1 \
    > "$work/$t/log.txt" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log.txt")
  cov=$(grep -o 'cov: [0-9]*' "$work/$t/log.txt" | tail -1)
  crashes=$(ls "$work/$t/crashes" | wc -l)
  echo "$t: ${secs}s, ${execs:-?} executions, ${cov:-cov: ?}, corpus $(ls "$work/$t/corpus" | wc -l), crashes $crashes"
done
