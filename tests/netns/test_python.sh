#!/bin/bash
# The Python binding (python/ipredir): its unittest cases run in A, one
# PASS/FAIL/SKIP line each (python/tests/run.py): TCP passes through a Python
# loop intact, TTLs and UDP payloads changed in Python arrive, dropped datagrams
# do not, injected ones do, struct layouts match the header, errors carry the
# library's message, the table is gone after a with block; packets of a local
# sender name its process (pid, comm, exe) and a comm filter takes none of
# others', Events reports this process's socket calls and flows, and a
# block_rule() refuses connects with EPERM until the handle closes (the rule's
# tests themselves are checked without root); under asyncio a TCP transfer
# passes through async for, a cancelled receive or a loop left early loses no
# packet, coroutines share a handle, send_async lets the loop run while the
# injection socket is full, and Events runs beside a redirector. Then
# the examples, run in B: portblock.py drops a UDP port and lets another pass;
# passthru.py and async_passthru.py let pings through and count them.
#
#   +------+ veth-a                  veth-b +------+
#   |  A   |--------------------------------|  B   |
#   +------+ 10.77.51.1          10.77.51.2 +------+
#   unittest cases: Redirector,  fd77:51::/64  receivers the cases start;
#   senders, pings                             portblock.py, passthru.py,
#                                              async_passthru.py
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=python
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # the system interpreter: no third-party package is needed
LIB=$BUILD/libipredir.so.0
need_root_and python "$PY" "$LIB"
skip_if_sanitized python "its library cannot be loaded without preloading the runtime"
topo_pair 51 || { fail topology "could not build A-B"; finish; }

unit_cases() {
	python_cases "$NS_A" "test_*.py" IPREDIR_LIB="$LIB" IPR_TEST_NS_B="$NS_B" IPR_TEST_A4="$A4" \
		IPR_TEST_A6="$A6" IPR_TEST_B4="$B4" IPR_TEST_B6="$B6" IPR_TEST_IF_A="$IF_A"
}

# example NAME ARGS...: python/examples/NAME.py ARGS in B (lib.sh's example_start).
example() {
	local name=$1
	shift
	example_start "$NS_B" "$name" env IPREDIR_LIB="$LIB" "$PY" "$ROOT/python/examples/$name.py" "$@"
}

drops_at_least() { [ "$(count_lines "$WORK/portblock.log" '^drop ')" -ge "$1" ]; }

# udp_case NAME PORT: A sends 3 datagrams and the end datagram to B:PORT.
udp_case() {
	udp_listen "$NS_B" "$WORK/$1.recv" "$2" || { fail "$1" "no receiver"; return 1; }
	in_ns "$NS_A" "$PY" "$NETTOOL" udp-send "$B4" "$2" "$1" 3 0.05
}

# portblock.py 7100 in B: datagrams to 7100 are dropped (and logged), to 7101 pass.
portblock_case() {
	example portblock 7100 || return
	udp_case blocked 7100
	check example.portblock.drops "it did not drop the 4 datagrams" \
		wait_until 5 drops_at_least 4 || show "$WORK/portblock.log"
	stop "$UDP_RECV_PID"
	check example.portblock.blocked "datagrams to the blocked port arrived" \
		test "$(count_lines "$WORK/blocked.recv" '^got ')" = 0
	udp_case open 7101 && udp_finish
	check example.portblock.open "datagrams to another port were lost" \
		test "$(count_lines "$WORK/open.recv" '^got open$')" = 3
	example_stop "$NS_B" portblock '^portblock: 4 dropped$'
}

# passthru_case NAME: NAME.py in B lets pings pass while it holds every packet, and
# counts them (passthru.py, and async_passthru.py under asyncio).
passthru_case() {
	example "$1" || return
	check "example.$1.ping4" "IPv4 ping lost" pings "$NS_A" "$B4" 2 || show "$WORK/last.ping"
	check "example.$1.ping6" "IPv6 ping lost" pings "$NS_A" "$B6" 2 || show "$WORK/last.ping"
	example_stop "$NS_B" "$1" "^$1: ([8-9]|[1-9][0-9]+) packets$"
}

unit_cases
portblock_case
passthru_case passthru
passthru_case async_passthru
finish
