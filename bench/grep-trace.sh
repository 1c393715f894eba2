#!/bin/sh
# The grep way: lines naming the address, their queue ids, then every line of those ids.
# $1 address, $2 file, $3 grep or zgrep (not passed as GREP: zgrep reads that variable).
f=$2; g=${3:-grep}
ids=$($g -F "$1" "$f" | grep -oE ' [0-9A-Za-z]{10,15}: ' | tr -d ' :' | sort -u | paste -sd'|')
[ -n "$ids" ] && $g -E "$ids" "$f"
