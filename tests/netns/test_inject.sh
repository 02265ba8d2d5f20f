#!/bin/bash
# Packets injected with ipr_send(), IPv4 and IPv6: an echo request injected out
# gets its reply, one injected in is answered by the local stack, a datagram
# injected in reaches a local socket through the handle's tun device; malformed
# or oversized packets are refused and nothing reaches the peer; the tun device
# is gone once the program exits or is killed; a redirector in the same
# namespace never sees the injected packets (only the traffic they cause).
#
#   +-----------------------------+ veth-a    veth-b +-----------+
#   | A  iprinject      iprtap    |------------------|  B        |
#   |    tun iprin<pid>.<n> (in)  | 10.77.31.0/24    |  sniffer  |
#   |    udp receiver             | fd77:31::/64     |  on veth-b|
#   +-----------------------------+                  +-----------+
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=inject
. "$(dirname "$0")/lib.sh"
IPRINJECT=$BUILD/tests/iprinject
HELPER=$ROOT/tests/netns/inject_helper.py
need_root_and inject "$IPRINJECT" "$IPRTAP"
topo_pair 31 || { fail topology "could not build A-B"; finish; }

# inject NAME ARGS...: run iprinject ARGS in A; output in $WORK/NAME.out and .err.
inject() {
	local name=$1
	shift
	in_ns "$NS_A" "$IPRINJECT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
}

has_tun() { in_ns "$NS_A" ip -o link show | grep -q ': iprin'; }
no_tun() { ! has_tun; }
not() { ! "$@"; }

# tap_saw LAYER VERSION PROTO SRC DST SPORT DPORT: iprtap printed that packet.
tap_saw() {
	has_line "$WORK/tap.log" "$(pkt_re "$1" "$2" "$3" "$4" "$5")sport=$6 dport=$7\$"
}

# echo_type VERSION request|reply: ICMP type << 8, as iprtap prints it in sport.
echo_type() {
	case "$1-$2" in
	4-request) echo 2048 ;; 4-reply) echo 0 ;;
	6-request) echo 32768 ;; 6-reply) echo 33024 ;;
	esac
}

# An echo request injected out: B answers; the redirector sees the reply, never the request.
out_echo() {
	local v=$1 name="out_echo_v$1" a b p id=$((1000 + $1))
	a=$(addr_of A "$v") b=$(addr_of B "$v") p=$(proto_of "$v")
	inject "$name" --out --icmp-echo "$a" "$b" --id "$id"
	check "$name" "no echo reply to the injected request" has_line "$WORK/$name.out" "^reply from $b\$" ||
		show "$WORK/$name.out" "$WORK/$name.err"
	check "$name.not_recaptured" "the injecting handle captured its own packet" \
		not has_line "$WORK/$name.out" '^own packet'
	wait_until 5 tap_saw in "$v" "$p" "$b" "$a" "$(echo_type "$v" reply)" "$id" ||
		{ fail "$name.tap_alive" "iprtap did not see the echo reply"; show "$WORK/tap.log"; return; }
	check "$name.tap_blind" "iprtap saw the injected request" \
		not tap_saw out "$v" "$p" "$a" "$b" "$(echo_type "$v" request)" "$id"
}

# An echo request injected in (from B to A): A's stack answers it out to B.
in_echo() {
	local v=$1 name="in_echo_v$1" a b p id=$((2000 + $1))
	a=$(addr_of A "$v") b=$(addr_of B "$v") p=$(proto_of "$v")
	inject "$name" --in --icmp-echo "$b" "$a" --id "$id"
	check "$name" "the local stack did not answer the injected request" \
		has_line "$WORK/$name.out" "^reply from $a\$" || show "$WORK/$name.out" "$WORK/$name.err"
	check "$name.tun_gone" "the tun device outlived iprinject" wait_until 5 no_tun
	wait_until 5 tap_saw out "$v" "$p" "$a" "$b" "$(echo_type "$v" reply)" "$id" ||
		{ fail "$name.tap_alive" "iprtap did not see the echo reply"; show "$WORK/tap.log"; return; }
	check "$name.tap_blind" "iprtap saw the injected request" \
		not tap_saw in "$v" "$p" "$b" "$a" "$(echo_type "$v" request)" "$id"
}

# A datagram injected in reaches a local socket, from its source, on the tun device.
in_udp() {
	local v=$1 name=$2 port=$3 a b pid
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	spawn "$NS_A" "$WORK/$name.recv" python3 "$HELPER" udp-recv "$port" 1
	wait_until 5 has_line "$WORK/$name.recv" '^listening' || { fail "$name" "no receiver"; return; }
	spawn "$NS_A" "$WORK/$name.out" "$IPRINJECT" --in --hold --udp "[$b]:4000" "[$a]:$port" "$name"
	pid=$!
	wait_until 5 has_line "$WORK/$name.recv" '^got ' || true
	check "$name" "the datagram did not reach the socket" \
		has_line "$WORK/$name.recv" "^got $name from ${b//./\\.} on iprin[0-9]+\\.[0-9]+\$" ||
		show "$WORK/$name.recv" "$WORK/$name.out"
	check "$name.tun_while_open" "no tun device while the handle is open" has_tun
	stop "$pid"
	check "$name.exit" "iprinject failed" test "$?" = 0 || show "$WORK/$name.out"
	check "$name.tun_gone" "the tun device outlived iprinject" wait_until 5 no_tun
}

# The redirector never saw an injected datagram, though it sees ordinary ones.
udp_tap_blind() {
	local v=$1 a b
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	in_ns "$NS_B" python3 "$NETTOOL" udp-send "$a" 5399 probe 1
	wait_until 5 tap_saw in "$v" 17 "$b" "$a" '[0-9]+' 5399 ||
		{ fail "in_udp_v$v.tap_alive" "iprtap did not see an ordinary datagram"; return; }
	check "in_udp_v$v.tap_blind" "iprtap saw the injected datagram" \
		not tap_saw in "$v" 17 "$b" "$a" 4000 5301
}

# refused NAME REASON ARGS...: iprinject ARGS exits 1 with REASON (a regex) and sends nothing.
refused() {
	local name=$1 reason=$2 rc
	shift 2
	inject "$name" "$@"
	rc=$?
	if [ "$rc" = 1 ] && has_line "$WORK/$name.err" "$reason" && ! has_line "$WORK/$name.out" '^sent'; then
		pass "$name"
	else
		fail "$name" "expected exit 1 and \"$reason\", got exit $rc"
		show "$WORK/$name.out" "$WORK/$name.err"
	fi
}

# Malformed and oversized packets are refused; B receives none of them, then the
# well-formed marker packet (sent last, the same way) arrives alone.
malformed() {
	local v=$1 a b good marker text="ipr-marker-v$1" sniff=$WORK/sniff_v$1.log
	a=$(addr_of A "$v") b=$(addr_of B "$v")
	good=$(python3 "$HELPER" udp-hex "$a" "$b" 9 "refuse-me") # broken below, one field each
	marker=$(python3 "$HELPER" udp-hex "$a" "$b" 9 "$text")
	spawn "$NS_B" "$sniff" python3 "$HELPER" sniff "$IF_B" "$text"
	wait_until 5 has_line "$sniff" '^listening' || { fail "malformed_v$v" "no sniffer"; return; }
	if [ "$v" = 4 ]; then
		refused too_short_v4 'shorter than the 20-byte IPv4 header' --raw-hex "${good:0:38}"
		refused bad_version_v4 'IP version 5' --raw-hex "5${good:1}"
		refused bad_ihl_v4 'header length field 4' --raw-hex "44${good:2}"
		refused ihl_past_end_v4 'longer than the whole packet' --raw-hex "4f${good:2}"
		refused total_length_v4 'total length field says 255' --raw-hex "${good:0:4}00ff${good:8}"
		refused padded_v4 'total length field says' --raw-hex "${good}00"
	else
		refused too_short_v6 'shorter than the 40-byte IPv6 header' --raw-hex "${good:0:78}"
		refused bad_version_v6 'IP version 7' --raw-hex "7${good:1}"
		refused payload_length_v6 'payload length field says 255' --raw-hex "${good:0:8}00ff${good:12}"
		refused udp_overrun_v6 'malformed IPv6' --raw-hex "${good:0:8}0004${good:12:76}"
	fi
	refused "mtu_v$v" 'larger than the MTU \(1500\)' --out --icmp-echo "$a" "$b" --size 2000
	inject "marker_v$v" --out --raw-hex "$marker" ||
		{ fail "malformed_v$v" "the well-formed marker packet was refused"; show "$WORK/marker_v$v.err"; }
	wait_until 10 has_line "$sniff" '^(seen|timeout)'
	check "nothing_sent_v$v" "B received refused packets ($(tail -n 1 "$sniff"))" has_line "$sniff" '^seen 0$'
}

# Reverse-path filtering: loose mode (most distributions' default) still delivers,
# strict mode is refused with the reason instead of dropping silently.
rp_filter_modes() {
	in_ns "$NS_A" sysctl -qw net.ipv4.conf.all.rp_filter=2
	in_udp 4 in_udp_v4_rp_loose 5302
	in_ns "$NS_A" sysctl -qw net.ipv4.conf.all.rp_filter=1
	refused rp_strict_refused 'rp_filter is 1' --in --udp "$B4:4000" "$A4:5303" strict
	check rp_strict.v6_still "IPv6 inbound injection failed under IPv4 strict mode" \
		inject rp_strict_v6 --in --udp "[$B6]:4000" "[$A6]:5303" v6
	in_ns "$NS_A" sysctl -qw net.ipv4.conf.all.rp_filter=0
}

# SIGKILL: the kernel removes the non-persistent tun device with the process.
killed() {
	local pid
	spawn "$NS_A" "$WORK/killed.out" "$IPRINJECT" --in --hold --udp "[$B6]:4000" "[$A6]:5304" x
	pid=$!
	if ! wait_until 5 has_line "$WORK/killed.out" '^sent' || ! has_tun; then
		fail tun_gone_after_kill "iprinject never created its tun device"
		stop "$pid" KILL
		return
	fi
	stop "$pid" KILL
	check tun_gone_after_kill "the tun device outlived SIGKILL" wait_until 5 no_tun
}

tap_start "$NS_A" "$WORK/tap.log" -l in,out -f 'icmp or icmp6 or udp' ||
	{ fail tap "iprtap did not start"; show "$WORK/tap.log"; finish; }
for v in 4 6; do
	out_echo "$v"
	in_echo "$v"
	in_udp "$v" "in_udp_v$v" 5301
	udp_tap_blind "$v"
	malformed "$v"
done
stop "$TAP_PID"
rp_filter_modes
killed
finish
