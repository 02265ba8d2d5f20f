# tests/netns/lib.sh - shared helpers for the network-namespace tests (bash).
# shellcheck shell=bash disable=SC2034 # the variables set here are used by the sourcing script
#
# A test script sets SUITE and sources this file:
#     SUITE=layers
#     . "$(dirname "$0")/lib.sh"
# It then builds a topology (topo_pair / topo_routed), runs its checks and
# reports each with pass / fail / skip. Everything it creates (namespaces,
# processes, the scratch directory) is removed by the EXIT trap.
# Exit status: 0 if nothing failed, 1 otherwise.

PATH=$PATH:/usr/sbin:/sbin # ip, nft, sysctl
# Start python3 itself, not a version manager's shim in front of it (~1 s per start).
PYTHON_BIN=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && PATH=${PYTHON_BIN%/*}:$PATH
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${IPR_BUILD:-$ROOT/build} # another build tree, e.g. a sanitizer build
# The library's version, as the header and the Makefile have it; LIB_VERSION_RE for regexes.
LIB_VERSION=$(sed -n 's/^#define IPR_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/ipredir.h")
LIB_VERSION_RE=${LIB_VERSION//./\\.}
IPRTAP=$BUILD/tests/iprtap
IPREDIR=$BUILD/ipredir
RULES_PROBE=$BUILD/tests/rules_probe
UDPSEQ=$BUILD/tests/udpseq       # sequence-numbered UDP flows, checked at the sink
TCPSTREAM=$BUILD/tests/tcpstream # one TCP stream, every byte checked
NETTOOL=$ROOT/tests/netns/nettool.py
PCAPFLOW=$ROOT/tests/netns/pcapflow.py # a TCP stream rebuilt from a capture

NS_PREFIX="ipr-$SUITE-$$"
WORK=$(mktemp -d "/tmp/ipredir-$SUITE.XXXXXX")
NAMESPACES=()
FAILED=0

# ---------------------------------------------------------------- reporting

pass() { echo "PASS: $SUITE.$1"; }
skip() { echo "SKIP: $SUITE.$1${2:+ ($2)}"; }
fail() {
	echo "FAIL: $SUITE.$1${2:+ ($2)}"
	FAILED=1
}

# check NAME WHY CMD...: pass if CMD succeeds, else fail with WHY (and return 1).
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why" && return 1; fi
}

# show FILE...: print files indented under a failure, for diagnosis.
show() {
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "#   --- ${f##*/}"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
}

# need_root_and NAME PROGRAM...: skip the whole script unless root and built.
need_root_and() {
	local name=$1 prog
	shift
	if [ "$(id -u)" -ne 0 ]; then
		skip "$name" "needs root"
		exit 0
	fi
	for prog in "$@"; do
		if [ ! -x "$prog" ]; then
			skip "$name" "${prog#"$ROOT"/} not built"
			exit 0
		fi
	done
}

finish() { exit "$FAILED"; }

# skip_if_sanitized NAME WHY: skip the whole script when $IPREDIR is a sanitizer build.
skip_if_sanitized() {
	if grep -q __asan_init "$IPREDIR" 2>/dev/null; then
		skip "$1" "a sanitizer build: $2"
		exit 0
	fi
}

# ---------------------------------------------------------------- waiting

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_until() {
	local tries=$(($1 * 20))
	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.05
	done
}

# has_line FILE REGEX: FILE has a line matching the extended REGEX.
has_line() { grep -Eq -- "$2" "$1" 2>/dev/null; }

# count_lines FILE REGEX: how many lines of FILE match the extended REGEX.
count_lines() { grep -Ec -- "$2" "$1" 2>/dev/null; }

# ---------------------------------------------------------------- processes

# spawn NS LOG CMD...: run CMD in NS in the background, output to LOG.
# The pid is in $! afterwards (ip netns exec execs CMD in place).
spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
}

# stop PID [SIGNAL]: signal PID (default TERM), SIGKILL it after 5 s, reap it.
# Returns the exit status of PID. (stderr is closed to bash's "Killed" notices.)
stop() {
	local pid=$1 sig=${2:-TERM}
	kill -s "$sig" "$pid"
	wait_until 5 gone "$pid" || kill -s KILL "$pid"
	wait "$pid"
} 2>/dev/null

running() { kill -0 "$1" 2>/dev/null; }
gone() { ! running "$1"; }

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# python_cases NS PATTERN VAR=VALUE...: the unittest cases of python/tests/PATTERN
# in NS with those variables, one PASS/FAIL/SKIP line each (python/tests/run.py).
python_cases() {
	local ns=$1 pattern=$2 rc
	shift 2
	in_ns "$ns" env "$@" "${PY:-python3}" "$ROOT/python/tests/run.py" "$SUITE" "$pattern" \
		>"$WORK/unit.out" 2>&1
	rc=$?
	cat "$WORK/unit.out"
	if [ "$rc" -ne 0 ]; then
		has_line "$WORK/unit.out" '^FAIL: ' || fail unittest "exit status $rc"
		FAILED=1
	fi
}

# example_start NS NAME CMD...: run the example program CMD in NS, its output in
# $WORK/NAME.log, its pid in EX_PID. Returns 0 once it printed "NAME: ready".
example_start() {
	local ns=$1 name=$2 log=$WORK/$2.log
	shift 2
	spawn "$ns" "$log" "$@"
	EX_PID=$!
	wait_until 10 has_line "$log" "^$name: ready" && return 0
	fail "example.$name" "did not start"
	show "$log"
	stop "$EX_PID" KILL
	return 1
}

# example_stop NS NAME SUMMARY_REGEX: SIGTERM ends example NAME with status 0 and
# that line, and no table is left in NS.
example_stop() {
	local ns=$1 name=$2 log=$WORK/$2.log
	check "example.$name.stop" "SIGTERM did not end it with status 0" stop "$EX_PID" ||
		show "$log"
	check "example.$name.summary" "no summary line matching $3" has_line "$log" "$3" ||
		show "$log"
	check "example.$name.table_gone" "the table outlived the program" no_table "$ns"
}

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? ns pids
	trap - EXIT INT TERM
	for ns in "${NAMESPACES[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086 # one pid per word
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		# shellcheck disable=SC2046 # one pid per word
		wait_until 3 ns_empty "$ns" || kill -s KILL $(ip netns pids "$ns") 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$WORK"
	[ "$FAILED" -eq 0 ] || rc=1
	exit "$rc"
}

ns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }

trap cleanup EXIT
trap 'FAILED=1; exit 1' INT TERM

# ---------------------------------------------------------------- topologies

# ns_new NAME: create namespace $NS_PREFIX-NAME with lo up (removed by cleanup).
ns_new() {
	local ns="$NS_PREFIX-$1"
	ip netns add "$ns" || return 1
	NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
}

# link_pair NS1 IF1 NS2 IF2: a veth pair between two namespaces, both up.
link_pair() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" &&
		ip -n "$1" link set "$2" up &&
		ip -n "$3" link set "$4" up
}

# add_addrs NS IF NET HOST: 10.77.NET.HOST/24 and fd77:NET::HOST/64 (no DAD).
add_addrs() {
	ip -n "$1" addr add "10.77.$3.$4/24" dev "$2" &&
		ip -n "$1" -6 addr add "fd77:$3::$4/64" dev "$2" nodad
}

# addr_of HOST VERSION: the address variable for HOST (A, B, R) and 4 or 6.
addr_of() {
	local var="$1$2"
	echo "${!var}"
}

# can_ping NS ADDR: one echo request answered within a second.
can_ping() { in_ns "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }

#   +------+ IF_A (veth-a)   IF_B (veth-b) +------+
#   | NS_A |-------------------------------| NS_B |
#   +------+ 10.77.N.1             10.77.N.2 +------+
#            fd77:N::1             fd77:N::2
# topo_pair N: sets NS_A NS_B IF_A IF_B A4 A6 B4 B6.
topo_pair() {
	local n=$1
	NS_A="$NS_PREFIX-a" NS_B="$NS_PREFIX-b"
	IF_A=veth-a IF_B=veth-b
	A4=10.77.$n.1 B4=10.77.$n.2 A6=fd77:$n::1 B6=fd77:$n::2
	ns_new a && ns_new b &&
		link_pair "$NS_A" "$IF_A" "$NS_B" "$IF_B" &&
		add_addrs "$NS_A" "$IF_A" "$n" 1 && add_addrs "$NS_B" "$IF_B" "$n" 2 &&
		topo_ready "$NS_A" "$B4" "$B6"
}

#   +------+ veth  N  +------+ veth N+1 +------+
#   | NS_A |----------| NS_R |----------| NS_B |
#   +------+ .1    .2 +------+ .1    .2 +------+
#   A: 10.77.N.1   fd77:N::1      B: 10.77.N+1.2   fd77:N+1::2
#   R forwards IPv4 and IPv6; A and B route everything through R.
# topo_routed N: sets NS_A NS_R NS_B A4 A6 B4 B6 R4 R6 (R's address towards A).
topo_routed() {
	local n=$1 m=$(($1 + 1))
	NS_A="$NS_PREFIX-a" NS_R="$NS_PREFIX-r" NS_B="$NS_PREFIX-b"
	A4=10.77.$n.1 R4=10.77.$n.2 B4=10.77.$m.2
	A6=fd77:$n::1 R6=fd77:$n::2 B6=fd77:$m::2
	ns_new a && ns_new r && ns_new b &&
		link_pair "$NS_A" eth0 "$NS_R" eth-a && link_pair "$NS_R" eth-b "$NS_B" eth0 &&
		add_addrs "$NS_A" eth0 "$n" 1 && add_addrs "$NS_R" eth-a "$n" 2 &&
		add_addrs "$NS_R" eth-b "$m" 1 && add_addrs "$NS_B" eth0 "$m" 2 &&
		in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		route_via "$NS_A" "$n" && route_via "$NS_B" "$m" &&
		topo_ready "$NS_A" "$B4" "$B6"
}

# route_via NS NET: default routes of NS (A or B) via R's addresses on NET.
route_via() {
	local gw4 gw6
	if [ "$1" = "$NS_A" ]; then gw4=10.77.$2.2 gw6=fd77:$2::2; else gw4=10.77.$2.1 gw6=fd77:$2::1; fi
	ip -n "$1" route add default via "$gw4" && ip -n "$1" -6 route add default via "$gw6"
}

# topo_ready NS ADDR4 ADDR6: both addresses answer pings from NS.
topo_ready() {
	wait_until 10 can_ping "$1" "$2" && wait_until 10 can_ping "$1" "$3"
}

# port_listening NS PORT: a TCP socket listens on PORT in NS.
port_listening() { in_ns "$1" ss -Hltn "sport = :$2" | grep -q .; }

# ---------------------------------------------------------------- redirectors

# has_table NS: an ipredir table is installed in NS.
has_table() { in_ns "$1" nft list tables 2>/dev/null | grep -Eq '^table [a-z0-9]+ ipredir'; }

no_table() { ! has_table "$1"; }

# nf_links PID: the ids of the netfilter BPF links PID holds (a monitor's BPF engine).
nf_links() {
	grep -h -A1 -s '^link_type:.netfilter' /proc/"$1"/fdinfo/* | sed -n 's/^link_id:.//p'
}

# uses_bpf PID: PID holds netfilter BPF links.
uses_bpf() { [ -n "$(nf_links "$1")" ]; }

# links_gone ID...: no BPF link of these ids is left in the system.
links_gone() {
	local id
	for id in "$@"; do
		bpftool link show id "$id" >/dev/null 2>&1 && return 1
	done
	return 0
}

# wait_table NS: poll until a redirector's table appears in NS.
wait_table() { wait_until 5 has_table "$1"; }

# cgroup2_root: where cgroup v2 is mounted here ("" if nowhere).
cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# owner_programs: ids of the socket programs (owner_*) libipredir attached at the
# cgroup v2 root, by any process, sorted; new ones after a start are its own.
owner_programs() {
	bpftool cgroup show "$(cgroup2_root)" 2>/dev/null | awk '/ owner_/ { print $1 }' | sort
}

# programs_gone IDS: none of the program ids IDS (one a line) is attached any more.
programs_gone() { [ -z "$(comm -12 <(echo "$1") <(owner_programs))" ]; }

# queue_packets NS: packets queued so far in NS (sum of the id sequences).
queue_packets() {
	# shellcheck disable=SC2016 # awk's own $8
	in_ns "$1" awk '{ n += $8 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue
}

# tap_start NS LOG ARGS...: run iprtap ARGS in NS; TAP_PID is its pid.
# Returns 0 once it printed its ready line, 1 if it never did.
tap_start() {
	local ns=$1 log=$2
	shift 2
	spawn "$ns" "$log" "$IPRTAP" "$@"
	TAP_PID=$!
	wait_until 5 has_line "$log" '^ready ' && return 0
	stop "$TAP_PID" KILL
	return 1
}

# stat_of LOG KEY: a counter from the final `stats` line of iprtap.
stat_of() { sed -n "s/^stats .*\\b$2=\\([0-9]*\\).*/\\1/p" "$1" | tail -n 1; }

# field_of LOG KEY: a field of the `ready` line of iprtap.
field_of() { sed -n "s/^ready .*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }

# ---------------------------------------------------------------- traffic

# tcp_transfer NAME NS_SEND NS_RECV DEST BYTES [PACE]: one TCP transfer of
# BYTES random bytes (PACE: seconds of sleep per 64 KiB); passes when both ends
# report the same byte count and sha256. Logs: $WORK/NAME.send and .recv.
# It is tcp_transfer_start (receiver listening, sender running: XFER_SEND_PID)
# followed by tcp_transfer_check (wait for both ends, compare).
tcp_transfer_start() {
	local name=$1 ns_send=$2 ns_recv=$3 dest=$4 bytes=$5 pace=${6:-0}
	spawn "$ns_recv" "$WORK/$name.recv" python3 "$NETTOOL" tcp-recv 5201
	XFER_RECV_PID=$!
	wait_until 5 has_line "$WORK/$name.recv" '^listening' || return 1
	spawn "$ns_send" "$WORK/$name.send" python3 "$NETTOOL" tcp-send "$dest" 5201 "$bytes" "$pace"
	XFER_SEND_PID=$!
}

tcp_transfer_check() {
	local name=$1 bytes=$2 sent got
	wait "$XFER_SEND_PID"
	wait_until 30 gone "$XFER_RECV_PID"
	stop "$XFER_RECV_PID"
	sent=$(sed -n 's/^sent //p' "$WORK/$name.send")
	got=$(sed -n 's/^received //p' "$WORK/$name.recv")
	if same_transfer "$sent" "$got" "$bytes"; then
		pass "$name"
	else
		fail "$name" "sent ${sent:-nothing}, received ${got:-nothing}"
		show "$WORK/$name.send" "$WORK/$name.recv"
	fi
}

tcp_transfer() {
	tcp_transfer_start "$@" || { fail "$1" "receiver did not listen"; return; }
	tcp_transfer_check "$1" "$5"
}

# same_transfer SENT RECEIVED BYTES: both ends saw the same BYTES bytes (count and sha256).
same_transfer() { [ -n "$1" ] && [ "$1" = "$2" ] && [ "${2%% *}" = "bytes=$3" ]; }

# tcp_transfers LABEL DEST PORT N BYTES [PREFIX...]: N concurrent transfers of
# BYTES from A to DEST in B on ports PORT+1..PORT+N (senders run under PREFIX,
# e.g. taskset), each checked by sha256 as LABEL1..LABELN (logs $WORK/LABELi.*).
tcp_transfers() {
	local label=$1 dest=$2 port=$3 n=$4 bytes=$5 i recvs=() sends=() sent got
	shift 5
	for i in $(seq "$n"); do
		spawn "$NS_B" "$WORK/$label$i.recv" python3 "$NETTOOL" tcp-recv $((port + i))
		recvs+=($!)
		wait_until 5 has_line "$WORK/$label$i.recv" '^listening' ||
			{ fail "$label$i" "receiver did not listen"; return; }
	done
	for i in $(seq "$n"); do
		spawn "$NS_A" "$WORK/$label$i.send" "$@" python3 "$NETTOOL" tcp-send "$dest" \
			$((port + i)) "$bytes"
		sends+=($!)
	done
	wait "${sends[@]}"
	for i in $(seq "$n"); do
		wait_until 30 gone "${recvs[$((i - 1))]}"
		stop "${recvs[$((i - 1))]}"
		sent=$(sed -n 's/^sent //p' "$WORK/$label$i.send")
		got=$(sed -n 's/^received //p' "$WORK/$label$i.recv")
		check "$label$i" "sent ${sent:-nothing}, received ${got:-nothing}" \
			same_transfer "$sent" "$got" "$bytes" || show "$WORK/$label$i.send" "$WORK/$label$i.recv"
	done
}

# udp_listen NS LOG PORT: a UDP receiver in NS that logs "got PAYLOAD" lines until
# the sender's end datagram; returns once it listens (UDP_RECV_PID).
udp_listen() {
	spawn "$1" "$2" python3 "$NETTOOL" udp-recv "$3"
	UDP_RECV_PID=$!
	wait_until 5 has_line "$2" '^listening'
}

# udp_finish: wait for the UDP receiver to see the end datagram, reap it.
udp_finish() {
	wait_until 10 gone "$UDP_RECV_PID"
	stop "$UDP_RECV_PID"
}

# ---------------------------------------------------------------- packets

# proto_of VERSION: the ICMP protocol number of IPv4 (1) or IPv6 (58).
proto_of() { if [ "$1" = 4 ]; then echo 1; else echo 58; fi; }

# echo_filter VERSION request|reply: pcap filter for ICMP echo requests or replies.
echo_filter() {
	case "$1-$2" in
	4-request) echo 'icmp[icmptype] == icmp-echo' ;;
	4-reply) echo 'icmp[icmptype] == icmp-echoreply' ;;
	6-request) echo 'icmp6[icmp6type] == icmp6-echo' ;;
	6-reply) echo 'icmp6[icmp6type] == icmp6-echoreply' ;;
	esac
}

# pkt_re LAYER VERSION PROTO SRC DST: regex for an iprtap `pkt` line.
pkt_re() {
	echo "^pkt layer=$1 v=$2 proto=$3 .*src=${4//./\\.} dst=${5//./\\.}( |\$)"
}

# pings NS ADDR COUNT [LOG]: COUNT echo requests 0.1 s apart; true if all were answered.
pings() {
	local log=${4:-$WORK/last.ping}
	in_ns "$1" ping -n -c "$3" -i 0.1 -W 1 "$2" >"$log" 2>&1
	grep -q " $3 received" "$log"
}
