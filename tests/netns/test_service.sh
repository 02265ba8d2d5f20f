#!/bin/bash
# The systemd unit ipredir@.service and its launcher ipredir-service, installed
# into a scratch prefix (no service is started on the host):
#   the launcher turns a configuration file into the documented command line
#   (--dry-run), refuses each kind of bad line with file, line and reason
#   (exit 2), and execs ipredir; under the unit's capabilities only
#   (CAP_NET_ADMIN and CAP_NET_RAW, no_new_privs; emulated with setpriv) a
#   configured passthru --rewrite carries a TCP transfer intact and a configured
#   block --reject refuses a TCP connect at once (a reset sent over a raw
#   socket); systemd-analyze verify accepts the unit (and refuses a broken
#   copy), and its offline security exposure stays low.
#
#   +------+ veth-a             veth-b +------+
#   |  A   |---------------------------|  B   |  ipredir-service NAME runs in B
#   +------+ 10.77.87.1      10.77.87.2 +------+
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=service
. "$(dirname "$0")/lib.sh"
need_root_and service "$IPREDIR" "$BUILD/libipredir.so.$LIB_VERSION"
skip_if_sanitized service "make install would relink it without the sanitizer"
cd "$ROOT" || exit 1

P=$WORK/prefix
ETC=$WORK/etc
CONFS=$ETC/ipredir
LAUNCHER=$P/libexec/ipredir/ipredir-service
UNIT=$P/lib/systemd/system/ipredir@.service
mkdir -p "$CONFS"
if ! make -s B="$BUILD" PREFIX="$P" SYSCONFDIR="$ETC" install >"$WORK/make.out" 2>&1; then
	fail install "make install failed"
	show "$WORK/make.out"
	finish
fi
pass install

not() { ! "$@"; }

# conf NAME LINE...: write $CONFS/NAME.conf, one line per argument.
conf() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$CONFS/$name.conf"
}

# dry_run_is NAME ARG...: the launcher's --dry-run prints exactly ipredir ARG...
dry_run_is() {
	local name=$1
	shift
	"$LAUNCHER" --dry-run "$name" >"$WORK/argv" 2>&1 &&
		printf '%s\n' "$P/sbin/ipredir" "$@" | diff - "$WORK/argv" >/dev/null
}

conf good '# web filter' '' '  command = passthru  ' 'filter = tcp port 443 and host 10.0.0.9' \
	out '	queues=2' 'options = --quiet   --fail-closed' 'args = a b'
check dry_run "launcher printed another command line" dry_run_is good \
	passthru --filter 'tcp port 443 and host 10.0.0.9' --out --queues 2 --quiet \
	--fail-closed a b || show "$WORK/argv"
cp "$CONFS/good.conf" "$WORK/other.conf"
other_dir() { "$LAUNCHER" --dry-run --conf-dir "$WORK" other | grep -qx -- --fail-closed; }
check conf_dir "--conf-dir DIR was not read" other_dir

# refused NAME REGEX [LINE...]: with these lines (none: no file) the launcher
# exits 2 and says REGEX.
refused() {
	local name=$1 re=$2 rc
	shift 2
	rm -f "$CONFS/$name.conf"
	[ $# -eq 0 ] || conf "$name" "$@"
	"$LAUNCHER" --dry-run "$name" >"$WORK/$name.out" 2>&1
	rc=$?
	if [ "$rc" -ne 2 ]; then
		fail "refuse_$name" "exit status $rc, not 2"
		show "$WORK/$name.out"
	else
		check "refuse_$name" "no message matching \"$re\"" has_line "$WORK/$name.out" \
			"^ipredir-service: .*$re" || show "$WORK/$name.out"
	fi
}

refused no_file "no_file.conf: cannot read it"
refused no_command "no_command.conf: no \"command = \.\.\.\" line" 'filter = icmp'
refused unknown_command "unknown_command.conf:2: unknown command \"pasthru\"; one of: passthru run" \
	'# typo' 'command = pasthru'
refused two_commands "two_commands.conf:2: a second command" 'command = passthru' 'command = block'
refused no_equals "no_equals.conf:2: \"filter tcp port 80\" is not NAME or NAME = VALUE" \
	'command = block' 'filter tcp port 80'
refused dashes "dashes.conf:1: \"--out\" is not NAME" '--out' 'command = block'
refused empty_value "empty_value.conf:2: filter = needs a value" 'command = block' 'filter ='
refused bare_options "bare_options.conf:2: options needs \"= VALUE\"" 'command = block' 'options'
check refuse_bad_name "a name with / was accepted" \
	not "$LAUNCHER" --dry-run ../etc/ipredir/good 2>/dev/null

# ---------------------------------------------------------------- the unit

# verifies UNIT: systemd-analyze verify accepts it, its man page found in the prefix.
verifies() { MANPATH=$P/share/man systemd-analyze verify "$1" >"$WORK/verify" 2>&1; }

if command -v systemd-analyze >/dev/null; then
	check unit_verify "systemd-analyze verify failed" verifies "$UNIT" || show "$WORK/verify"
	sed "s|^ExecStart=.*|ExecStart=$P/libexec/ipredir/missing %i|" "$UNIT" >"$WORK/ipredir@.service"
	check unit_verify_catches "a unit with a missing ExecStart passed" \
		not verifies "$WORK/ipredir@.service"
	exposure=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	check unit_exposure "exposure ${exposure:-unknown}, expected at most 4.0" \
		awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 4.0) }'
else
	skip unit_verify "systemd-analyze is not installed"
fi

# ---------------------------------------------------------------- running it

topo_pair 87 || { fail topology "could not build A-B"; finish; }
# shellcheck disable=SC2054 # the commas belong to setpriv's lists
CAPS=(setpriv --inh-caps=-all --bounding-set=-all,+net_admin,+net_raw --no-new-privs)

# service_start NAME: run the launcher for NAME in B with the unit's capabilities;
# SVC_PID is the process (ipredir itself once the launcher has exec'd).
service_start() {
	spawn "$NS_B" "$WORK/$1.log" "${CAPS[@]}" "$LAUNCHER" "$1"
	SVC_PID=$!
	wait_until 5 has_table "$NS_B"
}

# unit_caps: the service process is ipredir with CAP_NET_ADMIN and CAP_NET_RAW only.
unit_caps() {
	[ "$(cat "/proc/$SVC_PID/comm")" = ipredir ] &&
		grep -q '^CapEff:[[:space:]]*0000000000003000$' "/proc/$SVC_PID/status"
}

conf xfer 'command = passthru' 'filter = tcp port 5201' in out 'options = --rewrite --quiet'
if service_start xfer; then
	check exec_caps "not ipredir with exactly CAP_NET_ADMIN and CAP_NET_RAW" unit_caps
	tcp_transfer passthru_transfer "$NS_A" "$NS_B" "$B4" 2000000
	check passthru_stops "SIGTERM did not end it with status 0" stop "$SVC_PID"
	check passthru_rewrote "no packet was rewritten" has_line "$WORK/xfer.log" 'modified [1-9]'
else
	fail exec_caps "no table appeared"
	show "$WORK/xfer.log"
	stop "$SVC_PID" KILL
fi

# refused_at_once: a TCP connect from A to a listening port of B fails within 2 s.
refused_at_once() {
	in_ns "$NS_A" timeout 2 /usr/bin/python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 5202), timeout=2)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)' "$B4"
}

conf reject 'command = block' 'filter = tcp dst port 5202' in reject
spawn "$NS_B" "$WORK/recv.log" python3 "$NETTOOL" tcp-recv 5202
RECV_PID=$!
if ! wait_until 5 has_line "$WORK/recv.log" '^listening'; then
	fail block_reject "the receiver did not listen"
elif service_start reject; then
	check block_reject "the connect was not refused at once" refused_at_once
	stop "$SVC_PID"
	check block_reset_sent "no TCP reset counted" has_line "$WORK/reject.log" 'TCP resets 1'
else
	fail block_reject "no table appeared"
	show "$WORK/reject.log"
fi
stop "$RECV_PID"
finish
