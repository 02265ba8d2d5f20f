#!/bin/bash
# The example programs, each run once in private namespaces:
#   passthru  pings pass while it holds every packet, and it counts them;
#   ttl N     the pinger sees ttl=N in the replies of the host running it;
#   echo      a ping to a virtual address routed to the host running it is answered;
#   dropper   pings matching its filter are stopped, others pass.
#
#   +------+ veth-a             veth-b +------+ virt0 (virtual addresses V4, V6
#   |  A   |---------------------------|  B   |--     routed there; B forwards)
#   +------+ 10.77.21.1      10.77.21.2 +------+
#            fd77:21::1      fd77:21::2
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=examples
. "$(dirname "$0")/lib.sh"
EX=$BUILD/examples
need_root_and examples "$EX/passthru" "$EX/ttl" "$EX/echo" "$EX/dropper"
topo_pair 21 || { fail topology "could not build A-B"; finish; }
V4=192.0.2.77 V6=2001:db8:77::1

# example_start NAME LOG ARGS...: run build/examples/NAME ARGS in B; EX_PID is
# its pid. Returns 0 once it printed its ready line (printed after ipr_open
# returned, so its table is installed; a run with COUNT may already be over).
example_start() {
	local name=$1 log=$2
	shift 2
	spawn "$NS_B" "$log" "$EX/$name" "$@"
	EX_PID=$!
	wait_until 5 has_line "$log" "^$name: ready" && return 0
	stop "$EX_PID" KILL
	return 1
}

# exits_alone NAME PID: PID ends by itself within 3 s with status 0.
exits_alone() {
	wait_until 3 gone "$2" || { fail "$1" "still running"; stop "$2" KILL; return; }
	check "$1" "exit status not 0" wait "$2"
}

# stops_cleanly NAME PID: SIGTERM ends PID with status 0 and removes its table.
stops_cleanly() {
	check "$1" "SIGTERM did not end it with status 0" stop "$2" &&
		check "$1.table_gone" "the table outlived the program" no_table "$NS_B"
}

# summary LOG: the number in the program's last line ("NAME: N ...").
summary() { sed -n 's/^[a-z]*: \([0-9][0-9]*\) .*/\1/p' "$1" | tail -n 1; }

test_passthru() {
	local log=$WORK/passthru.log one=$WORK/passthru1.log
	example_start passthru "$log" || { fail passthru "did not start"; show "$log"; return; }
	check passthru.ping4 "IPv4 ping lost" pings "$NS_A" "$B4" 2 || show "$WORK/last.ping"
	check passthru.ping6 "IPv6 ping lost" pings "$NS_A" "$B6" 2 || show "$WORK/last.ping"
	stops_cleanly passthru.stop "$EX_PID"
	check passthru.counted "counted $(summary "$log"), want >= 8" test "$(summary "$log")" -ge 8 ||
		show "$log"
	# With COUNT 2 it exits by itself after 2 packets: one ping's request and
	# reply, unless a stray IPv6 neighbour or MLD packet came first.
	example_start passthru "$one" 2 || { fail passthru.count "did not start"; show "$one"; return; }
	pings "$NS_A" "$B4" 1
	exits_alone passthru.count "$EX_PID"
	check passthru.count_summary "summary says $(summary "$one")" test "$(summary "$one")" = 2
}

# ttl_case VERSION: replies from B carry the TTL / hop limit ttl sets.
ttl_case() {
	local v=$1 b log=$WORK/ttl$1.log ping=$WORK/ttl$1.ping
	b=$(addr_of B "$v")
	example_start ttl "$log" 7 || { fail "ttl_v$v" "did not start"; show "$log"; return; }
	pings "$NS_A" "$b" 2 "$ping"
	check "ttl_v$v.seen" "the pinger did not see ttl=7 in 2 replies" \
		test "$(count_lines "$ping" 'ttl=7 ')" = 2 || show "$ping"
	stops_cleanly "ttl_v$v.stop" "$EX_PID"
	check "ttl_v$v.summary" "summary says $(summary "$log")" test "$(summary "$log")" -ge 2
	pings "$NS_A" "$b" 1 "$ping"
	check "ttl_v$v.restored" "ttl=7 after the program exited" has_line "$ping" 'ttl=64 '
}

# echo_case VERSION: a ping of the virtual address gets replies only from echo.
echo_case() {
	local v=$1 addr log=$WORK/echo$1.log
	addr=$(addr_of V "$v")
	check "echo_v$v.silent" "the virtual address answers without echo" \
		not pings "$NS_A" "$addr" 1
	example_start echo "$log" "$addr" 3 || { fail "echo_v$v" "did not start"; show "$log"; return; }
	check "echo_v$v.answered" "ping of $addr not answered" pings "$NS_A" "$addr" 3 ||
		{ show "$WORK/last.ping" "$log"; }
	exits_alone "echo_v$v.count" "$EX_PID"
	check "echo_v$v.summary" "summary says $(summary "$log")" test "$(summary "$log")" = 3
}

not() { ! "$@"; }

# B routes V4 and V6 to virt0, one end of a veth pair of its own where no
# neighbour answers (this kernel has no dummy device), and forwards; A routes
# them via B. Requests cross B's forward hook, then die unresolved.
echo_topology() {
	ip -n "$NS_B" link add virt0 type veth peer name virt1 &&
		ip -n "$NS_B" link set virt0 up && ip -n "$NS_B" link set virt1 up &&
		ip -n "$NS_B" route add "$V4" dev virt0 && ip -n "$NS_B" -6 route add "$V6" dev virt0 &&
		in_ns "$NS_B" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		ip -n "$NS_A" route add "$V4" via "$B4" && ip -n "$NS_A" -6 route add "$V6" via "$B6"
}

test_dropper() {
	local log=$WORK/dropper.log
	example_start dropper "$log" "icmp and dst host $B4" 2 ||
		{ fail dropper "did not start"; show "$log"; return; }
	check dropper.other_passes "IPv6 ping lost" pings "$NS_A" "$B6" 2
	check dropper.stopped "IPv4 ping got through" not pings "$NS_A" "$B4" 2 ||
		show "$WORK/last.ping"
	exits_alone dropper.count "$EX_PID"
	check dropper.summary "summary says $(summary "$log")" test "$(summary "$log")" = 2 ||
		show "$log"
	check dropper.flows_again "IPv4 ping lost after the program exited" pings "$NS_A" "$B4" 1
}

test_passthru
ttl_case 4
ttl_case 6
test_dropper
echo_topology || { fail echo_topology "could not route the virtual addresses"; finish; }
echo_case 4
echo_case 6
finish
