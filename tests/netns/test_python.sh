#!/bin/bash
# The Python binding (python/ipredir): its unittest cases run in A, one
# PASS/FAIL/SKIP line each (python/tests/run.py): TCP passes through a Python
# loop intact, TTLs and UDP payloads changed in Python arrive, dropped datagrams
# do not, injected ones do, struct layouts match the header, errors carry the
# library's message, the table is gone after a with block. Then the example
# python/examples/portblock.py, run in B, drops a UDP port and lets another pass.
#
#   +------+ veth-a                  veth-b +------+
#   |  A   |--------------------------------|  B   |
#   +------+ 10.77.51.1          10.77.51.2 +------+
#   unittest cases: Redirector,  fd77:51::/64  receivers the cases start;
#   senders, pings                             portblock.py
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=python
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # the system interpreter: no third-party package is needed
LIB=$BUILD/libipredir.so.0
PORTBLOCK=$ROOT/python/examples/portblock.py
need_root_and python "$PY" "$LIB"
topo_pair 51 || { fail topology "could not build A-B"; finish; }

unit_cases() {
	in_ns "$NS_A" env IPREDIR_LIB="$LIB" IPR_TEST_NS_B="$NS_B" IPR_TEST_A4="$A4" \
		IPR_TEST_A6="$A6" IPR_TEST_B4="$B4" IPR_TEST_B6="$B6" IPR_TEST_IF_A="$IF_A" \
		"$PY" "$ROOT/python/tests/run.py" "$SUITE" >"$WORK/unit.out" 2>&1
	local rc=$?
	cat "$WORK/unit.out"
	if [ "$rc" -ne 0 ]; then
		has_line "$WORK/unit.out" '^FAIL: ' || fail unittest "exit status $rc"
		FAILED=1
	fi
}

drops_at_least() { [ "$(count_lines "$WORK/portblock.log" '^drop ')" -ge "$1" ]; }

# udp_case NAME PORT: A sends 3 datagrams and the end datagram to B:PORT.
udp_case() {
	udp_listen "$NS_B" "$WORK/$1.recv" "$2" || { fail "$1" "no receiver"; return 1; }
	in_ns "$NS_A" "$PY" "$NETTOOL" udp-send "$B4" "$2" "$1" 3 0.05
}

example_case() {
	local log=$WORK/portblock.log pid
	spawn "$NS_B" "$log" env IPREDIR_LIB="$LIB" "$PY" "$PORTBLOCK" 7100
	pid=$!
	wait_until 10 has_line "$log" '^portblock: ready' ||
		{ fail example "portblock.py did not start"; show "$log"; stop "$pid" KILL; return; }
	udp_case blocked 7100
	check example.drops "portblock.py did not drop the 4 datagrams" wait_until 5 drops_at_least 4 ||
		show "$log"
	stop "$UDP_RECV_PID"
	check example.blocked "datagrams to the blocked port arrived" \
		test "$(count_lines "$WORK/blocked.recv" '^got ')" = 0
	udp_case open 7101 && udp_finish
	check example.open "datagrams to another port were lost" \
		test "$(count_lines "$WORK/open.recv" '^got open$')" = 3
	check example.stop "SIGTERM did not end it with status 0" stop "$pid" || show "$log"
	check example.summary "no summary of 4 drops" has_line "$log" '^portblock: 4 dropped$' ||
		show "$log"
	check example.table_gone "the table outlived the program" no_table "$NS_B"
}

unit_cases
example_case
finish
