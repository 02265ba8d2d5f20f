#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-abi.sh - check what libipredir exports against what it promises.
#
# Usage: check-abi.sh [-H HEADER] [-m MAP] [-s SYMBOLS] LIBRARY
#        check-abi.sh -l [-H HEADER]   (list the functions the header declares)
#
# Fails (exit 1, one line per problem) when a function declared in the public
# header (include/ipredir.h) is missing from the version script
# (src/libipredir.map) or is not exported; when the library exports a symbol
# the header does not declare, or one without a version node; when the map
# names a function the header does not declare; or when a published symbol
# (abi/libipredir.symbols: "NODE SYMBOL" per line) is gone or changed node.
# New symbols not yet published are listed, not failed: record them in the
# symbols file when their release is made. Exit 2 for bad usage.
set -eu

header=include/ipredir.h
map=src/libipredir.map
symbols=abi/libipredir.symbols
list=0
while getopts lH:m:s: opt; do
	case $opt in
	l) list=1 ;;
	H) header=$OPTARG ;;
	m) map=$OPTARG ;;
	s) symbols=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

# declared_functions: the function names the header declares, one a line, sorted.
# Preprocessed first, so names in comments do not count.
declared_functions() {
	${CC:-cc} -E -P -x c "$header" | grep -o '\<ipr_[a-z0-9_]*[[:space:]]*(' |
		sed 's/[[:space:](]//g' | sort -u
}

if [ "$list" -eq 1 ]; then
	declared_functions
	exit
fi
if [ $# -ne 1 ] || [ ! -r "$1" ]; then
	echo "usage: check-abi.sh [-H HEADER] [-m MAP] [-s SYMBOLS] LIBRARY (a readable .so)" >&2
	exit 2
fi
lib=$1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
problems=0

declared_functions >"$tmp/declared"
sed -n 's/^[[:space:]]*\(ipr_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u >"$tmp/mapped"
# "NODE SYMBOL" of every defined dynamic symbol; version definitions ("A") excluded.
nm -D --defined-only --with-symbol-versions "$lib" | awk '$2 != "A" {
	n = split($3, part, "@"); print (n > 1 ? part[n] : "-"), part[1] }' | sort -u >"$tmp/exported"
awk '{ print $2 }' "$tmp/exported" | sort -u >"$tmp/exported_names"
grep -v '^[[:space:]]*\(#\|$\)' "$symbols" | awk '{ print $1, $2 }' | sort -u >"$tmp/published"

# report FILE MESSAGE: one line per name in FILE, counted as a problem.
report() {
	while read -r name; do
		echo "check-abi: $name: $2"
		problems=$((problems + 1))
	done <"$1"
}

comm -23 "$tmp/declared" "$tmp/mapped" >"$tmp/x"
report "$tmp/x" "declared in $header but missing from $map"
comm -23 "$tmp/declared" "$tmp/exported_names" >"$tmp/x"
report "$tmp/x" "declared in $header but not exported by $lib (IPR_EXPORT missing?)"
comm -13 "$tmp/declared" "$tmp/exported_names" >"$tmp/x"
report "$tmp/x" "exported by $lib but not declared in $header"
comm -13 "$tmp/declared" "$tmp/mapped" >"$tmp/x"
report "$tmp/x" "listed in $map but not declared in $header"
awk '$1 == "-" { print $2 }' "$tmp/exported" >"$tmp/x"
report "$tmp/x" "exported without a version node (was $lib linked with $map?)"
comm -23 "$tmp/published" "$tmp/exported" | awk '{ print $2 "@" $1 }' >"$tmp/x"
report "$tmp/x" "published in $symbols but no longer exported with that version: an ABI break"

comm -13 "$tmp/published" "$tmp/exported" | awk '$1 != "-" { print $2 "@" $1 }' >"$tmp/x"
while read -r name; do
	echo "check-abi: note: $name is new; add it to $symbols when it is released"
done <"$tmp/x"

if [ "$problems" -gt 0 ]; then
	echo "check-abi: $problems problem(s)"
	exit 1
fi
echo "check-abi: $(wc -l <"$tmp/exported_names") exported symbols agree with $header, $map and $symbols"
