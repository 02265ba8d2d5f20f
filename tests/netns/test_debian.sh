#!/bin/bash
# The Debian packages (no network needed): a copy of the tracked tree, made in
# a scratch directory so nothing is written next to the source, builds with
# `dpkg-buildpackage -us -uc -b` (DEB_BUILD_OPTIONS=nocheck: the unit tests run
# in make check anyway) into libipredir0, libipredir-dev, libwindivert2,
# libwindivert-dev, ipredir and python3-ipredir, each holding its files, each dev package
# requiring the exact library version (libwindivert-dev libipredir-dev too)
# and libwindivert2 libipredir0; unpacked into a scratch root, ipredir
# --version runs from there, and a program built against each unpacked dev
# package (pkg-config) runs with the unpacked libipredir.so.0 or
# libwindivert.so.2, and the unpacked ipredir and pydivert import and load them
# (python3-ipredir depends on python3, libipredir0 and libwindivert2).
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=debian
. "$(dirname "$0")/lib.sh"
need_root_and debian "$IPREDIR"
cd "$ROOT" || exit 1
for tool in dpkg-buildpackage dh pkg-config; do
	command -v "$tool" >/dev/null || { skip debian "$tool is not installed (make deps)"; finish; }
done
if ! git ls-files >"$WORK/files" 2>/dev/null || ! grep -qx debian/control "$WORK/files"; then
	skip debian "not a git checkout with debian/ tracked"
	finish
fi

SRC=$WORK/ipredir-$LIB_VERSION
DEBS=$WORK
ROOTFS=$WORK/root
mkdir -p "$SRC" "$ROOTFS"
tr '\n' '\0' <"$WORK/files" | xargs -0 cp --parents -t "$SRC" 2>"$WORK/copy.err" ||
	{ fail copy "could not copy the tree"; show "$WORK/copy.err"; finish; }

start=$SECONDS
if ! (cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b \
	>"$WORK/build.log" 2>&1); then
	fail build "dpkg-buildpackage failed"
	show "$WORK/build.log"
	finish
fi
pass build
echo "# dpkg-buildpackage took $((SECONDS - start)) s"

arch=$(dpkg --print-architecture)
# deb PACKAGE: its file (the Python packages are for every architecture).
deb() {
	local a=$arch
	case $1 in python3-*) a=all ;; esac
	echo "$DEBS/${1}_${LIB_VERSION}_$a.deb"
}

# holds PACKAGE PATH...: the package's file list has every PATH (./ stripped).
holds() {
	local pkg=$1 path
	shift
	dpkg -c "$(deb "$pkg")" | awk '{ print $6 }' | sed 's|^\./||' >"$WORK/$pkg.list" || return 1
	for path in "$@"; do
		grep -q "^$path\$" "$WORK/$pkg.list" || { echo "# $pkg lacks $path"; return 1; }
	done
}

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
L=usr/lib/$multiarch
check libipredir0 "package incomplete" holds libipredir0 "$L/libipredir.so.$LIB_VERSION" "$L/libipredir.so.0"
check libipredir_dev "package incomplete" holds libipredir-dev usr/include/ipredir.h \
	"$L/libipredir.a" "$L/libipredir.so" "$L/pkgconfig/libipredir.pc" \
	usr/share/man/man3/libipredir.3.gz usr/share/man/man3/ipr_open.3.gz
check ipredir "package incomplete" holds ipredir usr/sbin/ipredir \
	usr/libexec/ipredir/ipredir-service lib/systemd/system/ipredir@.service \
	usr/share/bash-completion/completions/ipredir usr/share/man/man8/ipredir.8.gz
check libwindivert2 "package incomplete" holds libwindivert2 "$L/libwindivert.so.2.2.0" \
	"$L/libwindivert.so.2"
check libwindivert_dev "package incomplete" holds libwindivert-dev usr/include/windivert.h \
	"$L/libwindivert.a" "$L/libwindivert.so" "$L/pkgconfig/windivert.pc"
PY=usr/lib/python3/dist-packages
check python3_ipredir "package incomplete" holds python3-ipredir "$PY/ipredir/__init__.py" \
	"$PY/pydivert/__init__.py" "$PY/pydivert/packet/tcp.py" "$PY/pydivert/py.typed"

# depends PACKAGE REGEX...: the package's Depends field matches every REGEX.
depends() {
	local pkg=$1 re
	shift
	dpkg-deb -f "$(deb "$pkg")" Depends >"$WORK/$pkg.depends" || return 1
	for re in "$@"; do
		grep -Eq "$re" "$WORK/$pkg.depends" || { echo "# $pkg does not depend on $re"; return 1; }
	done
}
check dev_depends "libipredir-dev does not require libipredir0 (= $LIB_VERSION)" \
	depends libipredir-dev "libipredir0 \\(= $LIB_VERSION_RE\\)"
check wd_dev_depends "libwindivert-dev does not require libwindivert2 (= $LIB_VERSION), libipredir-dev" \
	depends libwindivert-dev "libwindivert2 \\(= $LIB_VERSION_RE\\)" 'libipredir-dev'
check wd_depends "libwindivert2 does not depend on libipredir0 (>= $LIB_VERSION)" \
	depends libwindivert2 "libipredir0 \\(>= $LIB_VERSION_RE\\)"

check py_depends "python3-ipredir does not depend on python3, libipredir0 and libwindivert2" \
	depends python3-ipredir '(^|, )python3(,|$)' "libipredir0 \\(>= $LIB_VERSION_RE\\)" \
	"libwindivert2 \\(>= $LIB_VERSION_RE\\)"

for pkg in libipredir0 libipredir-dev libwindivert2 libwindivert-dev ipredir python3-ipredir; do
	dpkg -x "$(deb "$pkg")" "$ROOTFS" || fail "unpack_$pkg" "dpkg -x failed"
done
version_runs() {
	LD_LIBRARY_PATH=$ROOTFS/$L "$ROOTFS/usr/sbin/ipredir" --version >"$WORK/version" &&
		has_line "$WORK/version" "^ipredir $LIB_VERSION_RE\$"
}
check version "ipredir --version from the unpacked root failed" version_runs

# runs_against PACKAGE NAME OUTPUT SONAME: NAME.c, built through the unpacked dev
# package's pkg-config file, needs SONAME and prints OUTPUT with the unpacked
# libraries (found for the link as for the run: libwindivert.so.2 needs libipredir.so.0).
runs_against() {
	local flags
	flags=$(PKG_CONFIG_PATH=$ROOTFS/$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOTFS \
		pkg-config --cflags --libs "$1") || return 1
	# shellcheck disable=SC2086 # flags split into words
	LD_LIBRARY_PATH=$ROOTFS/$L cc -o "$WORK/$2_prog" "$WORK/$2.c" $flags &&
		[ "$(LD_LIBRARY_PATH=$ROOTFS/$L "$WORK/$2_prog")" = "$3" ] &&
		readelf -d "$WORK/$2_prog" | grep -q "NEEDED.*\[$4\]"
}
printf '#include <stdio.h>\n#include <ipredir.h>\nint main(void) { puts(ipr_version()); return 0; }\n' \
	>"$WORK/version.c"
check library "a program against the unpacked libipredir-dev did not run" \
	runs_against libipredir version "$LIB_VERSION" 'libipredir\.so\.0'
cat >"$WORK/wdformat.c" <<'EOF'
#include <stdio.h>
#include <windivert.h>
int main(void)
{
	char text[16];

	return !WinDivertHelperFormatIPv4Address(0x7f000001, text, sizeof(text)) || puts(text) < 0;
}
EOF
check wd_library "a program against the unpacked libwindivert-dev did not run" \
	runs_against windivert wdformat 127.0.0.1 'libwindivert\.so\.2'

# py_imports: the unpacked packages import with the unpacked libraries.
py_imports() {
	PYTHONPATH=$ROOTFS/$PY IPREDIR_LIB=$ROOTFS/$L/libipredir.so.0 \
		PYDIVERT_LIB=$ROOTFS/$L/libwindivert.so.2 /usr/bin/python3 -c '
import ipredir, pydivert
print(ipredir.version(), pydivert.WinDivert.check_filter("udp")[0])' >"$WORK/py.out" 2>&1 &&
		has_line "$WORK/py.out" "^$LIB_VERSION_RE True\$"
}
check python_import "the unpacked python3-ipredir did not import" py_imports || show "$WORK/py.out"
finish
