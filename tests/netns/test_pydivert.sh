#!/bin/bash
# pydivert on Linux (python/pydivert over libwindivert): its unittest cases run
# in A, one PASS/FAIL/SKIP line each (python/tests/test_pydivert_*.py): Packet
# and every header field over canned bytes, the constants and structs against
# windivert.h, and live handles: loopback datagrams over 127.0.0.1 and ::1 are
# taken once, outbound, with is_loopback set, and arrive when sent on, changed
# (another length) or new; dropped ones do not; asyncio receives wait on the
# loop; FLOW, SOCKET and REFLECT events name this process. Then the examples of
# python/examples/pydivert: capture.py (in B, and over loopback in A) passes
# every packet on and prints it; firewall.py drops a UDP port and lets another
# pass; redact.py changes a word of datagrams into a longer one; async_count.py
# counts pings with asyncio while they pass; portmap.py (in A) carries a TCP transfer
# to another port of B, changing the ports of every packet both ways.
#
#   +------+ veth-a                  veth-b +------+
#   |  A   |--------------------------------|  B   |
#   +------+ 10.77.53.1          10.77.53.2 +------+
#   unittest cases (loopback),  fd77:53::/64  capture.py, firewall.py,
#   capture.py over loopback;                 redact.py, async_count.py;
#   senders, pings                            receivers
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=pydivert
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # the system interpreter: no third-party package is needed
LIB=$BUILD/libwindivert.so.2
need_root_and pydivert "$PY" "$LIB"
skip_if_sanitized pydivert "its library cannot be loaded without preloading the runtime"
topo_pair 53 || { fail topology "could not build A-B"; finish; }

# example NS NAME ARGS...: python/examples/pydivert/NAME.py ARGS in NS.
example() {
	local ns=$1 name=$2
	shift 2
	example_start "$ns" "$name" env PYDIVERT_LIB="$LIB" "$PY" \
		"$ROOT/python/examples/pydivert/$name.py" "$@"
}

# udp_case NAME HOST PORT PAYLOAD: A sends PAYLOAD 3 times and the end datagram to
# HOST:PORT, where a receiver logs them to $WORK/NAME.recv (in B, or in A for a
# loopback HOST); returns once the receiver saw the end.
udp_case() {
	local ns=$NS_B
	case $2 in 127.* | ::1) ns=$NS_A ;; esac
	udp_listen "$ns" "$WORK/$1.recv" "$3" || { fail "$1" "no receiver"; return 1; }
	in_ns "$NS_A" "$PY" "$NETTOOL" udp-send "$2" "$3" "$4" 3 0.05
	udp_finish
}

got() { count_lines "$WORK/$1.recv" "^got $2\$"; }

lines_at_least() { [ "$(count_lines "$WORK/$1.log" "$2")" -ge "$3" ]; }

# capture.py in B: datagrams from A are printed (inbound, veth) and arrive.
capture_case() {
	example "$NS_B" capture "udp.DstPort == 7200" || return
	udp_case captured "$B4" 7200 hello
	check example.capture.delivered "datagrams held by capture.py were lost" \
		test "$(got captured hello)" = 3
	check example.capture.printed "it did not print the 4 inbound datagrams" \
		wait_until 5 lines_at_least capture '^in if=[0-9]+ 10\.77\.53\.1:[0-9]+ -> 10\.77\.53\.2:7200 ' 4
	example_stop "$NS_B" capture '^capture: [4-9] packets$'
}

# capture.py over loopback in A: each datagram is taken once, outbound, as loopback.
loopback_case() {
	local name=capture re
	for addr in 127.0.0.1 ::1; do
		example "$NS_A" capture "udp.DstPort == 7250 and loopback" || return
		udp_case "loopback$addr" "$addr" 7250 "lo$addr"
		check "example.capture.loopback.$addr" "datagrams over loopback were lost" \
			test "$(got "loopback$addr" "lo$addr")" = 3
		re="^out loopback ${addr//./\\.}:[0-9]+ -> ${addr//./\\.}:7250 "
		check "example.capture.loopback.$addr.once" "not 4 lines 'out loopback' for 4 datagrams" \
			test "$(count_lines "$WORK/$name.log" "$re")" = 4
		example_stop "$NS_A" capture '^capture: 4 packets$'
	done
}

# firewall.py 7300 in B: datagrams to 7300 are dropped (and logged), to 7301 pass.
firewall_case() {
	example "$NS_B" firewall 7300 || return
	udp_listen "$NS_B" "$WORK/blocked.recv" 7300 || { fail firewall "no receiver"; return; }
	in_ns "$NS_A" "$PY" "$NETTOOL" udp-send "$B4" 7300 blocked 3 0.05
	check example.firewall.drops "it did not drop the 4 datagrams" \
		wait_until 5 lines_at_least firewall '^drop ' 4 || show "$WORK/firewall.log"
	stop "$UDP_RECV_PID"
	check example.firewall.blocked "datagrams to the blocked port arrived" \
		test "$(got blocked blocked)" = 0
	udp_case open "$B6" 7301 open
	check example.firewall.open "datagrams to another port were lost" test "$(got open open)" = 3
	example_stop "$NS_B" firewall '^firewall: 4 dropped$'
}

# redact.py 7400 secret in B: the word arrives as "[redacted]", the rest unchanged.
redact_case() {
	example "$NS_B" redact 7400 secret || return
	udp_case redacted "$B4" 7400 "the-secret-word"
	check example.redact.changed "datagrams did not arrive redacted" \
		test "$(got redacted 'the-\[redacted\]-word')" = 3 || show "$WORK/redacted.recv"
	udp_case redacted6 "$B6" 7400 "no-word-here"
	check example.redact.untouched "datagrams without the word were changed or lost" \
		test "$(got redacted6 no-word-here)" = 3
	example_stop "$NS_B" redact '^redact: 3 changed$'
}

# async_count.py "icmp or icmpv6" in B: pings pass, the loop keeps ticking, the count is right.
async_case() {
	example "$NS_B" async_count "icmp or icmpv6" || return
	check example.async_count.ping4 "IPv4 ping lost" pings "$NS_A" "$B4" 2 || show "$WORK/last.ping"
	check example.async_count.ping6 "IPv6 ping lost" pings "$NS_A" "$B6" 2 || show "$WORK/last.ping"
	check example.async_count.ticks "the event loop stood still" \
		wait_until 5 lines_at_least async_count '^tick [0-9]+$' 1
	example_stop "$NS_B" async_count '^async_count: ([8-9]|[1-9][0-9]+) packets$'
}

# portmap.py 7600 5201 in A: a TCP transfer to B:7600 reaches B's receiver on 5201
# and every byte arrives (the ports of every packet changed both ways).
portmap_case() {
	local recv sent got
	example "$NS_A" portmap 7600 5201 || return
	spawn "$NS_B" "$WORK/portmap.recv" "$PY" "$NETTOOL" tcp-recv 5201
	recv=$!
	wait_until 5 has_line "$WORK/portmap.recv" '^listening' || { fail portmap "no receiver"; return; }
	in_ns "$NS_A" "$PY" "$NETTOOL" tcp-send "$B4" 7600 4000000 0 >"$WORK/portmap.send" 2>&1
	wait_until 30 gone "$recv"
	stop "$recv"
	sent=$(sed -n 's/^sent //p' "$WORK/portmap.send")
	got=$(sed -n 's/^received //p' "$WORK/portmap.recv")
	check example.portmap.transfer "sent ${sent:-nothing}, received ${got:-nothing}" \
		same_transfer "$sent" "$got" 4000000 || show "$WORK/portmap.send" "$WORK/portmap.recv"
	example_stop "$NS_A" portmap '^portmap: [1-9][0-9]* packets$'
}

python_cases "$NS_A" "test_pydivert_*.py" PYDIVERT_LIB="$LIB" PYDIVERT_TEST_NETNS=1
capture_case
loopback_case
firewall_case
redact_case
async_case
portmap_case
finish
