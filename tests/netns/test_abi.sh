#!/bin/bash
# The exported ABI of libipredir (scripts/check-abi.sh; no network needed):
#   the built library agrees with ipredir.h, the version script and the
#   published symbol list; and the check fails for each kind of drift: a
#   declaration with no export, a map entry with no declaration, a published
#   symbol that disappeared, a library linked without the version script.
# shellcheck source-path=SCRIPTDIR disable=SC2034 # SUITE is read by lib.sh
SUITE=abi
. "$(dirname "$0")/lib.sh"
LIB=$BUILD/libipredir.so.0.1.0
need_root_and abi "$LIB"
cd "$ROOT" || exit 1

# check_abi ARGS...: run the check, output in $WORK/abi.out.
check_abi() { sh scripts/check-abi.sh "$@" >"$WORK/abi.out" 2>&1; }

# refused NAME REGEX ARGS...: the check fails and says REGEX.
refused() {
	local name=$1 re=$2
	shift 2
	if check_abi "$@"; then
		fail "$name" "check-abi passed"
	else
		check "$name" "no line matching \"$re\"" has_line "$WORK/abi.out" "$re" || show "$WORK/abi.out"
	fi
}

check agrees "check-abi failed" check_abi "$LIB" || show "$WORK/abi.out"

sed 's/^\(int ipr_open(\)/int ipr_bogus(int x);\n&/' include/ipredir.h >"$WORK/ipredir.h"
refused declared_not_exported "ipr_bogus: declared .* not exported" -H "$WORK/ipredir.h" "$LIB"
refused declared_not_mapped "ipr_bogus: declared .* missing from" -H "$WORK/ipredir.h" "$LIB"

sed 's/^\([[:space:]]*\)ipr_open;/&\n\1ipr_private_helper;/' src/libipredir.map >"$WORK/map"
refused mapped_not_declared "ipr_private_helper: listed in .* not declared" -m "$WORK/map" "$LIB"

{ cat abi/libipredir.symbols; echo "IPREDIR_0.1 ipr_gone"; } >"$WORK/symbols"
refused published_gone "ipr_gone@IPREDIR_0.1: published .* ABI break" -s "$WORK/symbols" "$LIB"

# The same objects linked without the version script: exported, but unversioned.
read -ra pkg_libs <<<"$(pkg-config --libs libnftnl libmnl libpcap)"
if cc -shared -o "$WORK/libunversioned.so" "$BUILD"/obj/lib/*.o "${pkg_libs[@]}"; then
	refused unversioned "ipr_open: exported without a version node" "$WORK/libunversioned.so"
else
	fail unversioned "could not link the objects of $BUILD"
fi
finish
