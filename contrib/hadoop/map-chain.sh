#!/bin/sh
# Hadoop streaming mapper: each input line names one chain (a folder holding a log and its
# rotations, or one file) on a Hadoop filesystem; fetch it and print bouncer's partial summary
# as one line. The reducer is `./bouncer merge --format json -`. See docs/scale-out.md.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
while IFS= read -r line; do
  path=${line##*	}            # the last tab-separated field (input formats may prefix a key)
  [ -n "$path" ] || continue
  i=$((i + 1))
  mkdir -p "$work/$i"
  hdfs dfs -get "$path" "$work/$i/"
done
[ "$i" -gt 0 ] || exit 0
./bouncer report --format jsonl -q "$work"
