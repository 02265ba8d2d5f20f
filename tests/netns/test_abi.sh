#!/bin/bash
# The exported ABI of libipredir and libwindivert (scripts/check-abi.sh; no
#   network needed): each built library agrees with its header, version script
#   and published symbol list; and the check fails for each kind of drift: a
#   declaration with no export, a map entry with no declaration, a published
#   symbol that disappeared, a library linked without the version script; for
#   libwindivert, whose names are chosen by its file name, a function its map
#   lost and one that is exported without being declared.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=abi
. "$(dirname "$0")/lib.sh"
LIB=$BUILD/libipredir.so.$LIB_VERSION
WD_LIB=$BUILD/libwindivert.so.2.2.0
need_root_and abi "$LIB" "$WD_LIB"
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

check wd_agrees "check-abi failed on libwindivert" check_abi "$WD_LIB" || show "$WORK/abi.out"
lists_windivert() {
	sh scripts/check-abi.sh -l "$WD_LIB" >"$WORK/abi.out" &&
		has_line "$WORK/abi.out" '^WinDivertOpen$' && has_line "$WORK/abi.out" '^GetLastError$' &&
		! has_line "$WORK/abi.out" '^ipr_'
}
check wd_list "check-abi -l libwindivert.so does not list windivert.h's functions" lists_windivert

grep -v '^[[:space:]]*WinDivertSendEx;' windivert/libwindivert.map >"$WORK/wd.map"
refused wd_declared_not_mapped "WinDivertSendEx: declared .* missing from" -m "$WORK/wd.map" \
	"$WD_LIB"

# The header without one declaration: the library exports what it no longer declares.
grep -v '^WINDIVERTEXPORT void SetLastError' include/windivert.h >"$WORK/windivert.h"
refused wd_exported_not_declared "SetLastError: exported .* not declared" -H "$WORK/windivert.h" \
	"$WD_LIB"
finish
