#!/usr/bin/env bash
# bouncer against the tools an admin would otherwise use, on the same inputs in one run.
#
#   bench/run.sh [SIZE] [BIG]      e.g. bench/run.sh 1G 5G   (defaults 1G and 5G)
#
# Needs Debian's pflogsumm, ripgrep, hyperfine, libsisimai-perl and time (bench/setup.sh
# installs them), and ../shared/tools/gen-maillog. Inputs go to $BENCH_DIR (default
# /tmp/bouncer-bench); the table is printed and written to $BENCH_DIR/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1G}
BIG=${2:-5G}
W=${BENCH_DIR:-/tmp/bouncer-bench}
SHARED=${BOUNCER_SHARED:-$(cd .. && pwd)/shared}
GEN="$SHARED/tools/gen-maillog"
RUNS=${RUNS:-3}
mkdir -p "$W"
B="$PWD/target/release/bouncer"
[ -n "${NO_BUILD:-}" ] || cargo build --release -q

log="$W/mail-$SIZE.log"
if [ ! -s "$log" ]; then
  echo "bench: generating $SIZE of log (seed 1)" >&2
  "$GEN" --size "$SIZE" --seed 1 -o "$log" --truth "$W/mail-$SIZE.truth.json" >&2
fi
if [ ! -s "$log.gz" ]; then
  echo "bench: gzip -1 copy" >&2
  gzip -1 -c "$log" > "$log.gz"
fi
big="$W/mail-$BIG.log"
if [ "$BIG" != "none" ] && [ ! -s "$big" ]; then
  echo "bench: generating $BIG of log (seed 2)" >&2
  "$GEN" --size "$BIG" --seed 2 -o "$big" --truth "$W/mail-$BIG.truth.json" >&2
fi

hf() { # name, runs, warmups, then commands; exports JSON to $W/<name>.json
  local name=$1 runs=$2 warm=$3; shift 3
  hyperfine --style none --warmup "$warm" --runs "$runs" --export-json "$W/$name.json" "$@" >&2
}

echo "bench: bouncer report vs pflogsumm" >&2
hf pflogsumm 1 0 \
  -n "bouncer report" "$B report --format json --year 2026 $log > /dev/null" \
  -n "pflogsumm" "pflogsumm --syslog-name=postfix-out $log > $W/pflogsumm.txt"
pflogsumm --syslog-name=postfix-out "$log" > "$W/pflogsumm.txt"
"$B" report --format json --year 2026 "$log" > "$W/bouncer.json"

echo "bench: bouncer vs ripgrep (the I/O ceiling)" >&2
hf ripgrep "$RUNS" 1 \
  -n "rg -c" "rg -c 'status=(bounced|deferred|expired)' $log" \
  -n "bouncer scan --format csv" "$B scan --format csv --year 2026 $log > /dev/null" \
  -n "bouncer report" "$B report --format json --year 2026 $log > /dev/null"

echo "bench: threads" >&2
hf threads "$RUNS" 1 \
  -n "bouncer report --threads 1" "$B report --format json --year 2026 --threads 1 $log > /dev/null" \
  -n "bouncer report --threads 2" "$B report --format json --year 2026 --threads 2 $log > /dev/null"

echo "bench: gzip input" >&2
hf gzip "$RUNS" 1 \
  -n "bouncer report (gz)" "$B report --format json --year 2026 $log.gz > /dev/null" \
  -n "zcat | rg -c" "zcat $log.gz | rg -c 'status=(bounced|deferred|expired)'"

if [ "$BIG" != "none" ]; then
  echo "bench: peak memory on $BIG" >&2
  /usr/bin/time -v "$B" report --format json --year 2026 "$big" 2> "$W/rss.txt" > /dev/null
fi

# Bounce emails: the shared corpus replicated to >= 10,000 messages.
dsn="$W/dsn"
if [ -d "$SHARED/corpus/dsn" ] && [ ! -d "$dsn" ]; then
  mkdir -p "$dsn"
  n=0
  while [ "$n" -lt 10000 ]; do
    for f in "$SHARED"/corpus/dsn/*.eml; do
      cp "$f" "$dsn/$n-$(basename "$f")"
      n=$((n + 1))
    done
  done
fi
if [ -d "$dsn" ]; then
  echo "bench: bounce emails vs Sisimai" >&2
  hf sisimai 3 1 \
    -n "bouncer scan (emails)" "$B scan --format jsonl $dsn > /dev/null" \
    -n "sisimai" "perl -MSisimai -e 'my \$v = Sisimai->make(\$ARGV[0]); print scalar(@{\$v // []}), qq(\n)' $dsn > $W/sisimai.count"
  # The same messages as one mbox (a bounce mailbox is often one file).
  mbox="$W/dsn.mbox"
  if [ ! -s "$mbox" ]; then
    for f in "$dsn"/*; do
      head -c 5 "$f" | grep -q '^From ' || echo "From MAILER-DAEMON Thu Jan  1 00:00:00 2026"
      sed 's/\r$//' "$f"
      echo
    done > "$mbox"
  fi
  hf sisimai-mbox 3 1 \
    -n "bouncer scan (mbox)" "$B scan --format jsonl $mbox > /dev/null" \
    -n "sisimai (mbox)" "perl -MSisimai -e 'my \$v = Sisimai->make(\$ARGV[0]); print scalar(@{\$v // []}), qq(\n)' $mbox > /dev/null"
fi

python3 bench/table.py "$W" "$log" "$BIG" | tee "$W/results.md"
