#!/bin/bash
# make install / make uninstall into a scratch DESTDIR, and a program built
# against the installed library only (through pkg-config), shared and static:
#   install puts exactly the expected files there (soname links, pc file,
#   headers, man pages and their per-function links, completion, unit,
#   launcher); a program linked with `pkg-config --cflags --libs` runs with the
#   installed libipredir.so.0; one linked with `--static` carries no
#   libipredir.so at all, and without --static it does not link (the private
#   requirements are what makes it work); both call ipr_version, ipr_parse,
#   the checksum helpers and get the option and filter errors of ipr_open
#   (run in a private namespace, where nothing could leak if they did not);
#   `man ipr_open` finds libipredir(3); uninstall leaves no file behind.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=install
. "$(dirname "$0")/lib.sh"
need_root_and install "$BUILD/libipredir.so.0.1.0" "$IPREDIR"
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
		lib/libipredir.so.0.1.0 lib/pkgconfig/libipredir.pc include/ipredir.h \
		libexec/ipredir/ipredir-service lib/systemd/system/ipredir@.service \
		share/doc/ipredir/example.conf share/bash-completion/completions/ipredir \
		share/man/man8/ipredir.8 share/man/man3/libipredir.3
	for f in $(sh scripts/check-abi.sh -l); do echo "share/man/man3/$f.3"; done
}

installed_files() { (cd "$DEST" && find . ! -type d | sed "s|^\./${PREFIX#/}/||" | sort); }

same_files() {
	expected_files | sort >"$WORK/expected"
	installed_files >"$WORK/installed"
	diff "$WORK/expected" "$WORK/installed" >"$WORK/diff"
}

soname_links() {
	[ "$(readlink "$LIBDIR/libipredir.so.0")" = libipredir.so.0.1.0 ] &&
		[ "$(readlink "$LIBDIR/libipredir.so")" = libipredir.so.0.1.0 ] &&
		readelf -d "$LIBDIR/libipredir.so.0.1.0" | grep -q 'SONAME.*\[libipredir\.so\.0\]'
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

# pkg-config as a compiler for this scratch root would run it (paths under DEST).
pc() { PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST pkg-config "$@" libipredir; }

# build_client OUT [--static]: compile client.c against the installed library.
build_client() {
	local cflags libs
	cflags=$(pc --cflags) || return 1
	if [ "$2" = --static ]; then
		libs=$(pc --static --libs) || return 1
		libs=${libs/-lipredir/-l:libipredir.a}
	elif [ "$2" = --static-without-private ]; then
		libs=$(pc --libs) || return 1
		libs=${libs/-lipredir/-l:libipredir.a}
	else
		libs=$(pc --libs) || return 1
	fi
	# shellcheck disable=SC2086 # flags split into words
	cc -o "$WORK/$1" "$WORK/client.c" $cflags $libs >"$WORK/$1.out" 2>&1
}

# runs_ok PROGRAM [LD_LIBRARY_PATH]: it prints "client ok VERSION" in the namespace.
runs_ok() {
	LD_LIBRARY_PATH=$2 in_ns "$NS" "$WORK/$1" >"$WORK/$1.run" 2>&1 &&
		has_line "$WORK/$1.run" "^client ok 0\.1\.0$"
}

needs() { readelf -d "$WORK/$1" | grep -q "NEEDED.*\[$2\]"; }
shared_client() { needs client_shared libipredir.so.0 && runs_ok client_shared "$LIBDIR"; }
static_client() { ! needs client_static 'libipredir[^]]*' && runs_ok client_static; }

private_libs() {
	local libs
	libs=" $(pc --static --libs) "
	[[ $libs == *" -lnftnl "* && $libs == *" -lmnl "* && $libs == *" -lpcap "* ]]
}
bare_static_fails() {
	! build_client client_bare --static-without-private &&
		has_line "$WORK/client_bare.out" "undefined reference to .(nftnl|mnl|pcap)_"
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
check soname "bad library links or SONAME" soname_links
check pc_file "pkg-config --modversion is not 0.1.0" [ "$(pc --modversion)" = 0.1.0 ]
check pc_private "pkg-config --static names no libnftnl, libmnl, libpcap" private_libs
if build_client client_shared; then
	check shared "no libipredir.so.0 needed, or the program failed" shared_client ||
		show "$WORK/client_shared.run"
else
	fail shared "does not compile"
	show "$WORK/client_shared.out"
fi
if build_client client_static --static; then
	check static "needs a libipredir.so, or the program failed" static_client ||
		show "$WORK/client_static.run"
else
	fail static "does not compile"
	show "$WORK/client_static.out"
fi
check static_needs_private "linked statically without the private requirements" \
	bare_static_fails
check man_link "man -M PREFIX/share/man ipr_open does not show libipredir(3)" man_link

if make_install uninstall; then
	check uninstall "files left: $(find "$DEST" ! -type d | head -3 | tr '\n' ' ')" nothing_left
else
	fail uninstall "make uninstall failed"
	show "$WORK/make.out"
fi
finish
