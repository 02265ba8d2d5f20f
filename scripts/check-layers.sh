#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check-layers.sh - check that the library's files call each other in layers.
#
# Usage: check-layers.sh OBJ...   (the library's objects, one per file of src/)
#
# File A depends on file B when A's object references (nm: U) a global symbol
# that B's object defines (T, D, B, R, W or V); a file's references to itself
# do not count. Prints the graph, one line per file ("a -> b c"), in the order
# the objects are given. Fails (exit 1) when the graph has a cycle (a -> b -> a,
# or longer), naming the files of each cycle and, for every edge among them,
# the symbols that make it. Exit 2 for bad usage or an object nm cannot read.
set -eu

if [ $# -eq 0 ]; then
	echo "usage: check-layers.sh OBJ... (the library's object files)" >&2
	exit 2
fi

# symbols OBJ...: "FILE TYPE SYMBOL" for every symbol of every object, FILE
# being the object's name without directory and .o.
symbols() {
	for obj; do
		table=$(nm -P "$obj") || {
			echo "check-layers: $obj: nm cannot read it (an object file?)" >&2
			return 2
		}
		printf '%s\n' "$table" | awk -v file="$(basename "$obj" .o)" 'NF >= 2 { print file, $2, $1 }'
	done
}

# edges: "A B SYMBOL" for every symbol A references and B defines, A != B.
edges() {
	awk '
	$2 ~ /^[TDBRWV]$/ { owner[$3] = $1; next }
	$2 == "U" { n++; from[n] = $1; sym[n] = $3 }
	END {
		for (i = 1; i <= n; i++)
			if ((sym[i] in owner) && owner[sym[i]] != from[i])
				print from[i], owner[sym[i]], sym[i]
	}'
}

# report NAMES: print the graph of the sorted edges read, then every cycle;
# exit 1 if there is one.
report() {
	awk -v names="$1" '
	BEGIN { n = split(names, file, " "); for (i = 1; i <= n; i++) index_of[file[i]] = i }
	{
		if (!(($1, $2) in edge)) { edge[$1, $2] = 1; out[$1] = out[$1] " " $2 }
		why[$1, $2] = why[$1, $2] " " $3
	}
	END {
		for (i = 1; i <= n; i++)
			print file[i], "->" out[file[i]]
		# reach[i, j]: file j can be reached from file i (transitive closure).
		for (i = 1; i <= n; i++)
			for (j = 1; j <= n; j++)
				reach[i, j] = ((file[i], file[j]) in edge)
		for (k = 1; k <= n; k++)
			for (i = 1; i <= n; i++)
				if (reach[i, k])
					for (j = 1; j <= n; j++)
						if (reach[k, j])
							reach[i, j] = 1
		# Files that reach each other form one cycle (a strongly connected component).
		cycles = 0
		for (i = 1; i <= n; i++) {
			if (!reach[i, i] || (i in seen))
				continue
			cycles++
			members = ""
			for (j = i; j <= n; j++)
				if (reach[i, j] && reach[j, i]) {
					seen[j] = 1
					members = members " " file[j]
				}
			print "check-layers: cycle among" members ":"
			m = split(substr(members, 2), part, " ")
			for (a = 1; a <= m; a++)
				for (b = 1; b <= m; b++)
					if ((part[a], part[b]) in edge)
						print "  " part[a] " -> " part[b] ":" why[part[a], part[b]]
		}
		if (cycles > 0) {
			print "check-layers: " cycles " cycle(s): each file should only call files below it"
			exit 1
		}
		print "check-layers: " n " files, no cycle"
	}'
}

names=""
for obj; do
	names="$names $(basename "$obj" .o)"
done
# In a variable first: a pipeline would hide nm failing.
table=$(symbols "$@") || exit 2
printf '%s\n' "$table" | edges | LC_ALL=C sort -u | report "$names"
