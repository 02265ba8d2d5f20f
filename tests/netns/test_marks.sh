#!/bin/bash
# A verdict can set the packet mark (iprtap -a mark=N): a later nf_tables
# rule of the test's own sees exactly the packets the program marked, with
# exactly that value, IPv4 and IPv6; without the program nothing is marked.
# Packets a local socket sends carry its owner's uid.
#
#   +------+ veth-a                veth-b +------+
#   |  A   |------------------------------|  B   |
#   +------+ 10.77.21.1       10.77.21.2  +------+
#   ping     fd77:21::1       fd77:21::2  iprtap -l in -a mark=N   (input, priority 0)
#                                         table inet scratch        (input, priority 100):
#                                           meta mark 0x42 counter, per IP version
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=marks
. "$(dirname "$0")/lib.sh"
need_root_and marks "$IPRTAP"
topo_pair 21 || { fail topology "could not build A-B"; finish; }
PINGS=5

# scratch_new: (re)create the counting table in B, counters at zero.
scratch_new() {
	in_ns "$NS_B" nft delete table inet scratch 2>/dev/null
	in_ns "$NS_B" nft -f - <<-'EOF'
		table inet scratch {
			chain c {
				type filter hook input priority 100; policy accept;
				meta nfproto ipv4 meta mark 0x42 counter comment "v4"
				meta nfproto ipv6 meta mark 0x42 counter comment "v6"
			}
		}
	EOF
}

# marked VERSION: packets the scratch rule of VERSION counted.
marked() {
	in_ns "$NS_B" nft list chain inet scratch c |
		sed -n "s/.* counter packets \\([0-9]*\\) .*comment \"v$1\".*/\\1/p"
}

# other VERSION: the other IP version.
other() { if [ "$1" = 4 ]; then echo 6; else echo 4; fi; }

# mark_case VERSION: the program marks every inbound packet with 0x42; the
# scratch counter equals the packets it saw (the echo requests among them).
mark_case() {
	local v=$1 name=mark_v$1 b log received count
	b=$(addr_of B "$v") log=$WORK/$name.tap
	scratch_new || { fail "$name" "could not install the scratch table"; return; }
	tap_start "$NS_B" "$log" -l in -a mark=0x42 -f "$(echo_filter "$v" request)" ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	check "$name.pings" "pings through the marking program failed" pings "$NS_A" "$b" "$PINGS"
	stop "$TAP_PID"
	received=$(stat_of "$log" received) count=$(marked "$v")
	check "$name.seen" "iprtap received ${received:-?} packets, wanted $PINGS" \
		test "${received:-0}" = "$PINGS" || show "$log"
	check "$name.counted" "the mark rule counted ${count:-?} packets, the program marked ${received:-?}" \
		test "${count:-x}" = "${received:-y}"
	check "$name.other_version" "the $(other "$v") rule counted $(marked "$(other "$v")")" \
		test "$(marked "$(other "$v")")" = 0
}

# other_value_case VERSION: a mark of 0x43 is not 0x42: the counter stays at 0.
other_value_case() {
	local v=$1 name=other_value_v$1 b log count
	b=$(addr_of B "$v") log=$WORK/$name.tap
	scratch_new || { fail "$name" "could not install the scratch table"; return; }
	tap_start "$NS_B" "$log" -l in -a mark=0x43 -f "$(echo_filter "$v" request)" ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	check "$name.pings" "pings through the marking program failed" pings "$NS_A" "$b" "$PINGS"
	stop "$TAP_PID"
	count=$(marked "$v")
	check "$name.seen" "iprtap received $(stat_of "$log" received) packets, wanted $PINGS" \
		test "$(stat_of "$log" received)" = "$PINGS"
	check "$name.not_counted" "the 0x42 rule counted ${count:-?} packets marked 0x43" test "${count:-x}" = 0
}

# no_tap_case VERSION: without the program, pings pass and nothing is marked.
no_tap_case() {
	local v=$1 name=no_tap_v$1 count
	scratch_new || { fail "$name" "could not install the scratch table"; return; }
	check "$name.pings" "pings failed" pings "$NS_A" "$(addr_of B "$v")" "$PINGS"
	count=$(marked "$v")
	check "$name.unmarked" "the mark rule counted ${count:-?} packets without a program" \
		test "${count:-x}" = 0
}

# uid_case VERSION: packets a local socket of uid 65534 sends carry that uid.
uid_case() {
	local v=$1 name=uid_v$1 a log port=7099 py=/usr/bin/python3
	a=$(addr_of A "$v") log=$WORK/$name.tap
	[ -x "$py" ] || py=python3
	tap_start "$NS_B" "$log" -l out -f "udp dst port $port" ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	in_ns "$NS_B" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$py" "$NETTOOL" udp-send "$a" "$port" uid 3 >/dev/null 2>&1
	wait_until 5 test "$(count_lines "$log" '^pkt ')" -ge 4
	stop "$TAP_PID"
	check "$name.seen" "iprtap saw $(count_lines "$log" '^pkt ') datagrams, wanted 4" \
		test "$(count_lines "$log" '^pkt ')" = 4 || show "$log"
	check "$name.uid" "not every datagram carried uid=65534" \
		test "$(count_lines "$log" '^pkt .* uid=65534$')" = 4
}

for v in 4 6; do
	mark_case "$v"
	other_value_case "$v"
	no_tap_case "$v"
	uid_case "$v"
done
in_ns "$NS_B" nft delete table inet scratch
finish
