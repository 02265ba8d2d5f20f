#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-abi.sh - check what a library of the tree exports against what it promises.
#
# Usage: check-abi.sh [-H HEADER] [-m MAP] [-s SYMBOLS] LIBRARY
#        check-abi.sh -l [-H HEADER] [LIBRARY]   (list the functions the header declares)
#
# LIBRARY's file name chooses what it promises: libwindivert.so* is checked
# against include/windivert.h, windivert/libwindivert.map and
# abi/libwindivert.symbols (its names: WinDivert* and the Windows calls it
# provides); any other library, and -l without one, against libipredir's
# include/ipredir.h, src/libipredir.map and abi/libipredir.symbols (ipr_*).
# Fails (exit 1, one line per problem) when a function declared in the public
# header is missing from the version script or is not exported; when the
# library exports a symbol the header does not declare, or one without a
# version node; when the map names a function the header does not declare; or
# when a published symbol (the symbols file: "NODE SYMBOL" per line) is gone
# or changed node. New symbols not yet published are listed, not failed:
# record them in the symbols file when their release is made. Exit 2 for bad
# usage.
set -eu

list=0
opt_header='' opt_map='' opt_symbols=''
while getopts lH:m:s: opt; do
	case $opt in
	l) list=1 ;;
	H) opt_header=$OPTARG ;;
	m) opt_map=$OPTARG ;;
	s) opt_symbols=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

# promises_of LIBRARY: set header, map, symbols, names (a basic regex of the
# exported function names) and unexported (the likely cause of a declared
# function the library does not export) for the library LIBRARY is.
promises_of() {
	case ${1##*/} in
	libwindivert.so*)
		header=include/windivert.h map=windivert/libwindivert.map
		symbols=abi/libwindivert.symbols
		names='WinDivert[A-Za-z0-9]*\|GetLastError\|SetLastError\|GetOverlappedResult'
		unexported='not defined in windivert/*.c?' ;;
	*)
		header=include/ipredir.h map=src/libipredir.map symbols=abi/libipredir.symbols
		names='ipr_[a-z0-9_]*' unexported='IPR_EXPORT missing?' ;;
	esac
	header=${opt_header:-$header} map=${opt_map:-$map} symbols=${opt_symbols:-$symbols}
}

# declared_functions: the function names the header declares, one a line, sorted.
# Preprocessed first, so names in comments do not count.
declared_functions() {
	${CC:-cc} -E -P -x c "$header" | grep -o "\\<\\($names\\)[[:space:]]*(" |
		sed 's/[[:space:](]//g' | sort -u
}

if [ "$list" -eq 1 ] && [ $# -le 1 ]; then
	promises_of "${1:-libipredir.so}"
	declared_functions
	exit
fi
if [ $# -ne 1 ] || [ ! -r "$1" ]; then
	echo "usage: check-abi.sh [-H HEADER] [-m MAP] [-s SYMBOLS] LIBRARY (a readable .so)" >&2
	exit 2
fi
lib=$1
promises_of "$lib"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
problems=0

declared_functions >"$tmp/declared"
sed -n "s/^[[:space:]]*\\($names\\);.*/\\1/p" "$map" | sort -u >"$tmp/mapped"
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
report "$tmp/x" "declared in $header but not exported by $lib ($unexported)"
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
