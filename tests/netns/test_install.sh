#!/bin/bash
# make install / make uninstall into a scratch DESTDIR, and programs built
# against the installed libraries only (through pkg-config), shared and static:
#   install puts exactly the expected files there (both libraries with their
#   soname links, pc files, headers, man pages and their per-function links,
#   completion, unit, launcher; no libwindivert sample); a program linked with
#   `pkg-config --cflags --libs` runs with the installed libipredir.so.0; one
#   linked with `--static` carries no libipredir.so at all, and without
#   --static it does not link (the private requirements are what makes it
#   work); both call ipr_version, ipr_parse, the checksum helpers and get the
#   option and filter errors of ipr_open. The same for libwindivert
#   (windivert.pc): shared, it needs libwindivert.so.2 only; static, neither
#   library, and not without libipredir; it calls WinDivertHelper* functions
#   and gets FALSE and INVALID_HANDLE_VALUE with ERROR_INVALID_PARAMETER for a
#   bad filter. The clients run in a private namespace, where nothing could
#   leak if they did not fail. `man ipr_open` finds libipredir(3); uninstall
#   leaves no file behind. Both Python packages (ipredir, pydivert) are installed
#   into lib/python3/dist-packages and import from there with the installed
#   libraries; pip install of python/ (pyproject.toml) installs the same files.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=install
. "$(dirname "$0")/lib.sh"
need_root_and install "$BUILD/libipredir.so.$LIB_VERSION" "$IPREDIR"
skip_if_sanitized install "clients are built without its runtime, and make would relink it"
cd "$ROOT" || exit 1
command -v pkg-config >/dev/null || { skip install "pkg-config is not installed"; finish; }
ns_new a || { fail namespace "could not create one"; finish; }
NS=$NS_PREFIX-a

DEST=$WORK/root
PREFIX=/opt/ipredir
P=$DEST$PREFIX
LIBDIR=$P/lib

# make_install TARGET: make TARGET into the scratch root, output in $WORK/make.out.
make_install() {
	make -s B="$BUILD" PREFIX="$PREFIX" DESTDIR="$DEST" "$1" >"$WORK/make.out" 2>&1
}

# What install must put there, relative to $DEST.
expected_files() {
	local f
	printf '%s\n' sbin/ipredir lib/libipredir.a lib/libipredir.so lib/libipredir.so.0 \
		lib/libipredir.so."$LIB_VERSION" lib/pkgconfig/libipredir.pc include/ipredir.h \
		lib/libwindivert.a lib/libwindivert.so lib/libwindivert.so.2 \
		lib/libwindivert.so.2.2.0 lib/pkgconfig/windivert.pc include/windivert.h \
		libexec/ipredir/ipredir-service lib/systemd/system/ipredir@.service \
		share/doc/ipredir/example.conf share/bash-completion/completions/ipredir \
		share/man/man8/ipredir.8 share/man/man3/libipredir.3
	for f in $(sh scripts/check-abi.sh -l); do echo "share/man/man3/$f.3"; done
	python_files | sed 's|^|lib/python3/dist-packages/|'
}

# python_files: the files of the Python packages, relative to python/.
python_files() { (cd python && find ipredir pydivert -name '*.py' -o -name py.typed); }

installed_files() { (cd "$DEST" && find . ! -type d | sed "s|^\./${PREFIX#/}/||" | sort); }

same_files() {
	expected_files | sort >"$WORK/expected"
	installed_files >"$WORK/installed"
	diff "$WORK/expected" "$WORK/installed" >"$WORK/diff"
}

# soname_links NAME VERSION SOVERSION: NAME.so.SOVERSION and NAME.so point at
# NAME.so.VERSION, whose SONAME is NAME.so.SOVERSION.
soname_links() {
	local file=$1.so.$2
	[ "$(readlink "$LIBDIR/$1.so.$3")" = "$file" ] && [ "$(readlink "$LIBDIR/$1.so")" = "$file" ] &&
		readelf -d "$LIBDIR/$file" | grep -q "SONAME.*\[$1\.so\.$3\]"
}
wd_needs_ipredir() {
	readelf -d "$LIBDIR/libwindivert.so.2.2.0" | grep -q 'NEEDED.*\[libipredir\.so\.0\]'
}

cat >"$WORK/client.c" <<'EOF'
/* Uses only the installed ipredir.h: version, parsing, checksums, open errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <ipredir.h>

/* An IPv4 ICMP echo request 10.0.0.1 -> 10.0.0.2, TTL 64, checksums zero. */
static unsigned char ping[28] = {
	0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	8, 0, 0, 0, 0x12, 0x34, 0, 1,
};

#define EXPECT(cond) do { if (!(cond)) { printf("failed: %s\n", #cond); return 1; } } while (0)

int main(void)
{
	struct ipr_options opts = IPR_OPTIONS_INIT;
	struct ipr_handle *h;
	struct ipr_parsed p;
	struct ipr_addr src;
	char text[IPR_ADDR_STRLEN];

	EXPECT(!strcmp(ipr_version(), IPR_VERSION_STRING));
	EXPECT(ipr_checksum_verify(ping, sizeof(ping)) == -EBADMSG);
	EXPECT(ipr_checksum_fill(ping, sizeof(ping)) == 0);
	EXPECT(ipr_checksum_verify(ping, sizeof(ping)) == 0);
	EXPECT(ipr_parse(ping, sizeof(ping), &p) == 0);
	EXPECT(p.version == 4 && p.proto == 1 && p.ttl == 64 && p.sport == 8 << 8);
	EXPECT(ipr_packet_addrs(&p, &src, NULL) == 0);
	EXPECT(ipr_addr_format(&src, text, sizeof(text)) == 8 && !strcmp(text, "10.0.0.1"));
	EXPECT(ipr_parse(ping, 10, &p) == -EMSGSIZE);
	opts.priority = IPR_PRIORITY_MAX + 1;
	EXPECT(ipr_open(&opts, &h) == -EINVAL && strstr(ipr_last_error(), "priority"));
	opts.priority = 0;
	opts.filter = "tcp port";
	EXPECT(ipr_open(&opts, &h) == -EINVAL && strstr(ipr_last_error(), "tcp port"));
	printf("client ok %s\n", ipr_version());
	return 0;
}
EOF

cat >"$WORK/wdclient.c" <<'EOF'
/* Uses only the installed windivert.h: helpers, and the refusal of a bad filter. */
#include <stdio.h>
#include <string.h>
#include <windivert.h>

/* An IPv4 ICMP echo request 10.0.0.1 -> 10.0.0.2, TTL 64, checksums zero. */
static unsigned char ping[28] = {
	0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	8, 0, 0, 0, 0x12, 0x34, 0, 1,
};

#define EXPECT(cond) do { if (!(cond)) { printf("failed: %s\n", #cond); return 1; } } while (0)

int main(void)
{
	PWINDIVERT_IPHDR ip = NULL;
	PWINDIVERT_ICMPHDR icmp = NULL;
	const char *reason = NULL;
	UINT8 proto = 0;
	UINT32 addr = 0;
	char text[16];

	EXPECT(WinDivertHelperNtohs(WinDivertHelperHtons(0x1234)) == 0x1234);
	EXPECT(WinDivertHelperParseIPv4Address("10.0.0.1", &addr) && addr == 0x0a000001);
	EXPECT(WinDivertHelperFormatIPv4Address(addr, text, sizeof(text)) && !strcmp(text, "10.0.0.1"));
	EXPECT(WinDivertHelperCalcChecksums(ping, sizeof(ping), NULL, 0));
	EXPECT(WinDivertHelperParsePacket(ping, sizeof(ping), &ip, NULL, &proto, &icmp, NULL, NULL,
					  NULL, NULL, NULL, NULL, NULL));
	EXPECT(ip && icmp && proto == 1 && ip->TTL == 64 && ip->Checksum && icmp->Checksum);
	EXPECT(WinDivertHelperDecrementTTL(ping, sizeof(ping)) && ip->TTL == 63);
	EXPECT(!WinDivertHelperCompileFilter("tcp.DstPort ==", WINDIVERT_LAYER_NETWORK, NULL, 0,
					     &reason, NULL) && reason);
	EXPECT(WinDivertOpen("tcp.DstPort ==", WINDIVERT_LAYER_NETWORK, 0, 0) ==
	       INVALID_HANDLE_VALUE);
	EXPECT(GetLastError() == ERROR_INVALID_PARAMETER);
	printf("wdclient ok\n");
	return 0;
}
EOF

# pc PACKAGE ARGS...: pkg-config as a compiler for this scratch root would run it
# (paths under DEST).
pc() {
	local pkg=$1
	shift
	PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST pkg-config "$@" "$pkg"
}

# build_client NAME PACKAGE shared|static|bare: compile NAME.c against the installed
# PACKAGE into NAME_MODE. static and bare take our libraries' archives (-l:lib*.a),
# static with the private requirements (--static), bare without them.
build_client() {
	local cflags libs
	cflags=$(pc "$2" --cflags) || return 1
	if [ "$3" = static ]; then
		libs=$(pc "$2" --static --libs) || return 1
	else
		libs=$(pc "$2" --libs) || return 1
	fi
	if [ "$3" != shared ]; then
		libs=${libs//-lipredir/-l:libipredir.a}
		libs=${libs//-lwindivert/-l:libwindivert.a}
	fi
	# libwindivert.so.2 needs libipredir.so.0: outside the linker's default paths, the
	# link finds it as the run does, through LD_LIBRARY_PATH.
	# shellcheck disable=SC2086 # flags split into words
	LD_LIBRARY_PATH=$LIBDIR cc -o "$WORK/$1_$3" "$WORK/$1.c" $cflags $libs >"$WORK/$1_$3.out" 2>&1
}

# runs_ok PROGRAM LINE [LD_LIBRARY_PATH]: it prints LINE (a regex) in the namespace.
runs_ok() {
	LD_LIBRARY_PATH=$3 in_ns "$NS" "$WORK/$1" >"$WORK/$1.run" 2>&1 && has_line "$WORK/$1.run" "$2"
}

CLIENT_OK="^client ok $LIB_VERSION_RE\$"
WDCLIENT_OK='^wdclient ok$'
needs() { readelf -d "$WORK/$1" | grep -q "NEEDED.*\[$2\]"; }
shared_client() {
	needs client_shared libipredir.so.0 && runs_ok client_shared "$CLIENT_OK" "$LIBDIR"
}
static_client() { ! needs client_static 'libipredir[^]]*' && runs_ok client_static "$CLIENT_OK"; }
wd_shared_client() {
	needs wdclient_shared libwindivert.so.2 && ! needs wdclient_shared 'libipredir[^]]*' &&
		runs_ok wdclient_shared "$WDCLIENT_OK" "$LIBDIR"
}
wd_static_client() {
	! needs wdclient_static 'libwindivert[^]]*' && ! needs wdclient_static 'libipredir[^]]*' &&
		runs_ok wdclient_static "$WDCLIENT_OK"
}

# client_check CASE NAME PACKAGE MODE WHY TEST: build NAME_MODE, then check CASE by TEST.
client_check() {
	if build_client "$2" "$3" "$4"; then
		check "$1" "$5" "$6" || show "$WORK/$2_$4.run"
	else
		fail "$1" "does not compile"
		show "$WORK/$2_$4.out"
	fi
}

# private_libs PACKAGE LIB...: pkg-config --static --libs PACKAGE names every -lLIB.
private_libs() {
	local pkg=$1 lib libs
	shift
	libs=" $(pc "$pkg" --static --libs) "
	for lib in "$@"; do
		[[ $libs == *" -l$lib "* ]] || return 1
	done
}
# A shared link of a libwindivert program names libwindivert only.
wd_shared_libs() { [[ " $(pc windivert --libs) " != *" -lipredir "* ]]; }

# bare_static_fails NAME PACKAGE PREFIXES: NAME.c does not link without the private
# requirements, for want of functions named PREFIXES_* (a regex: a|b).
bare_static_fails() {
	! build_client "$1" "$2" bare && has_line "$WORK/$1_bare.out" "undefined reference to .($3)_"
}

# py_imports: the installed ipredir and pydivert import from PREFIX and load the
# installed libraries.
py_imports() {
	PYTHONPATH=$P/lib/python3/dist-packages IPREDIR_LIB=$LIBDIR/libipredir.so.0 \
		PYDIVERT_LIB=$LIBDIR/libwindivert.so.2 /usr/bin/python3 -c '
import ipredir, pydivert
print(ipredir.__file__, pydivert.__file__, ipredir.version(),
      pydivert.WinDivert.check_filter("tcp.DstPort == 80")[0])' >"$WORK/py.out" 2>&1 &&
		has_line "$WORK/py.out" "^$P/.*/ipredir/__init__\.py $P/.*/pydivert/__init__\.py $LIB_VERSION_RE True\$"
}

# pip_installs_the_same: pip install of python/ (pyproject.toml) puts the same files
# where it installs (a copy of python/, so that nothing is built beside the source).
pip_installs_the_same() {
	cp -r python "$WORK/pysrc" && rm -rf "$WORK/pysrc/tests" &&
		/usr/bin/python3 -m pip install -q --no-build-isolation --no-index \
			--target "$WORK/pip" "$WORK/pysrc" >"$WORK/pip.out" 2>&1 &&
		diff <(python_files | sort) \
			<(cd "$WORK/pip" && find ipredir pydivert -name '*.py' -o -name py.typed | sort) \
			>>"$WORK/pip.out"
}
pip_usable() {
	/usr/bin/python3 -c 'import setuptools, wheel' 2>/dev/null && /usr/bin/python3 -m pip --version >/dev/null 2>&1
}

man_link() {
	MANWIDTH=80 man -M "$P/share/man" 3 ipr_open 2>/dev/null | grep -q 'ipr_open()'
}

nothing_left() { [ -z "$(find "$DEST" ! -type d)" ] && [ ! -e "$P/libexec/ipredir" ]; }

if ! make_install install; then
	fail install "make install failed"
	show "$WORK/make.out"
	finish
fi
pass install
check files "unexpected file list (< expected, > installed)" same_files || show "$WORK/diff"
check soname "bad library links or SONAME" soname_links libipredir "$LIB_VERSION" 0
check pc_file "pkg-config --modversion is not $LIB_VERSION" [ "$(pc libipredir --modversion)" = "$LIB_VERSION" ]
check pc_private "pkg-config --static names no libnftnl, libmnl, libpcap" \
	private_libs libipredir nftnl mnl pcap
client_check shared client libipredir shared "no libipredir.so.0 needed, or the program failed" \
	shared_client
client_check static client libipredir static "needs a libipredir.so, or the program failed" \
	static_client
check static_needs_private "linked statically without the private requirements" \
	bare_static_fails client libipredir 'nftnl|mnl|pcap'

check wd_soname "bad libwindivert links or SONAME" soname_links libwindivert 2.2.0 2
check wd_needs_ipredir "libwindivert.so.2.2.0 does not need libipredir.so.0" wd_needs_ipredir
check wd_pc_file "pkg-config --modversion windivert is not 2.2.0" \
	[ "$(pc windivert --modversion)" = 2.2.0 ]
check wd_pc_private "pkg-config --static windivert lacks libipredir, its requirements or pthread" \
	private_libs windivert windivert ipredir nftnl mnl pcap pthread
check wd_pc_shared "pkg-config --libs windivert names libipredir" wd_shared_libs
client_check wd_shared wdclient windivert shared \
	"needs a libipredir.so or no libwindivert.so.2, or the program failed" wd_shared_client
client_check wd_static wdclient windivert static \
	"needs a libwindivert.so or libipredir.so, or the program failed" wd_static_client
check wd_static_needs_private "linked statically without libipredir" \
	bare_static_fails wdclient windivert ipr
check man_link "man -M PREFIX/share/man ipr_open does not show libipredir(3)" man_link
check python_import "the installed Python packages did not import or load the libraries" \
	py_imports || show "$WORK/py.out"
check pyproject_version "python/pyproject.toml's version is not $LIB_VERSION" \
	grep -qx "version = \"$LIB_VERSION_RE\"" python/pyproject.toml
if pip_usable; then
	check pip_install "pip install of python/ failed or installed other files" \
		pip_installs_the_same || show "$WORK/pip.out"
else
	skip pip_install "python3-pip, python3-setuptools or python3-wheel is not installed"
fi

if make_install uninstall; then
	check uninstall "files left: $(find "$DEST" ! -type d | head -3 | tr '\n' ' ')" nothing_left
else
	fail uninstall "make uninstall failed"
	show "$WORK/make.out"
fi
finish
