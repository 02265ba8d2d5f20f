#!/bin/bash
# The man pages (no network needed):
#   ipredir(8) and libipredir(3) format without a single groff warning (groff
#   -ww and man -l; a broken page shows the check can fail), lexgrog finds their
#   NAME lines; libipredir(3) names, shows and describes every function that
#   include/ipredir.h declares; ipredir(8) has a section for every subcommand
#   `ipredir --help` lists, and every option `ipredir SUBCOMMAND --help` prints
#   appears in that section or under COMMON OPTIONS.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE="man"
. "$(dirname "$0")/lib.sh"
need_root_and man "$IPREDIR"
cd "$ROOT" || exit 1
. completion/ipredir.bash # _ipredir_commands, _ipredir_options: read from --help
for tool in groff man lexgrog; do
	command -v "$tool" >/dev/null || { skip pages "$tool is not installed (make deps)"; finish; }
done

# quiet_format PAGE: groff and man -l format PAGE, and neither says a word on stderr.
quiet_format() {
	groff -man -Tutf8 -ww -z "$1" 2>"$WORK/warnings" && [ ! -s "$WORK/warnings" ] &&
		MANWIDTH=80 man --warnings -l "$1" 2>"$WORK/warnings" >/dev/null &&
		[ ! -s "$WORK/warnings" ]
}

# broken_is_loud: a page with an undefined macro does not format quietly.
broken_is_loud() {
	printf '.TH BROKEN 1\n.SH NAME\nbroken \\- a test page\n.XX undefined\n' >"$WORK/broken.1"
	! quiet_format "$WORK/broken.1"
}

has_name_line() { lexgrog "$1" >/dev/null; }

# whatis_names PAGE: the names lexgrog reads from PAGE's NAME section.
whatis_names() { lexgrog "$1" | sed -n 's/^[^:]*: "\([^ ]*\) - .*/\1/p'; }

for page in man/ipredir.8 man/libipredir.3; do
	name=${page##*/}
	name=${name/./_}
	check "${name}_warnings" "groff warnings" quiet_format "$page" || show "$WORK/warnings"
	check "${name}_lexgrog" "lexgrog finds no NAME line" has_name_line "$page"
done
check broken_page_warns "a page with an undefined macro formatted quietly" broken_is_loud

# plain PAGE: troff source with \- as - and font escapes removed, for searching.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1"; }

# section PAGE HEADING: the plain lines of section ".SH HEADING" or ".SS HEADING".
section() {
	plain "$1" | awk -v h="$2" '/^\.S[SH] / { on = (substr($0, 5) == h); next } on'
}

# mentions TEXTFILE WORD: WORD stands in TEXTFILE on its own (not inside a longer name).
mentions() { grep -Eq -- "(^|[^a-z0-9_-])$2([^a-z0-9_-]|$)" "$1"; }

# options_in FILE...: every -x and --word that stands in the files, sorted.
options_in() {
	cat "$@" | grep -oE -- '(^|[^a-z0-9-])--?[a-z0-9][a-z0-9-]*' | sed 's/^[^-]*//' | sort -u
}

# missing_functions: the declared functions libipredir(3) does not name in
# NAME, in the SYNOPSIS (as "name(") and in the DESCRIPTION.
missing_functions() {
	local f
	whatis_names man/libipredir.3 >"$WORK/names"
	section man/libipredir.3 SYNOPSIS >"$WORK/synopsis"
	plain man/libipredir.3 | sed -n '/^\.SH DESCRIPTION/,$p' >"$WORK/description"
	for f in $(sh scripts/check-abi.sh -l); do
		grep -qx "$f" "$WORK/names" && grep -q "[ *]$f(" "$WORK/synopsis" &&
			mentions "$WORK/description" "$f" || echo "$f"
	done
}
missing_functions >"$WORK/missing"
if [ -s "$WORK/missing" ] || [ "$(sh scripts/check-abi.sh -l | wc -l)" -lt 30 ]; then
	fail libipredir_3_functions "not documented: $(tr '\n' ' ' <"$WORK/missing")"
else
	pass libipredir_3_functions
fi

section man/ipredir.8 "COMMON OPTIONS" >"$WORK/common"
commands=$(_ipredir_commands "$IPREDIR")
[ -n "$commands" ] || fail subcommands "ipredir --help lists no subcommand"
for cmd in $commands; do
	section man/ipredir.8 "$cmd" >"$WORK/section"
	if [ ! -s "$WORK/section" ]; then
		fail "ipredir_8_$cmd" "no .SS $cmd section"
		continue
	fi
	missing=$(comm -23 <(_ipredir_options "$IPREDIR" "$cmd") \
		<(options_in "$WORK/section" "$WORK/common") | tr '\n' ' ')
	check "ipredir_8_$cmd" "options not documented: $missing" [ -z "$missing" ]
done
finish
