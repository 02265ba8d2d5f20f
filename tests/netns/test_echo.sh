#!/bin/bash
# `ipredir echo` is a virtual host: pings to addresses that no interface owns
# are answered, from a neighbour on the same link (ARP / neighbour discovery
# resolved by the tool) and from a routed peer, IPv4 and IPv6; on exit its
# routes, proxy neighbour entries and sysctls are gone and the pings fail.
#
#   +------+ eth0   eth-a +------+ eth-b   eth0 +------+
#   |  A   |--------------|  R   |--------------|  B   |
#   +------+ 10.77.61.0/24 +------+ 10.77.62.0/24 +------+
#   neighbour  fd77:61::/64  echo    fd77:62::/64  routed peer
#   R answers for 10.77.61.99 and fd77:61::99 (in A's subnet, owned by nobody).
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE='echo'
. "$(dirname "$0")/lib.sh"
need_root_and echo "$IPREDIR"
topo_routed 61 || { fail topology "could not build A-R-B"; finish; }
V4=10.77.61.99 V6=fd77:61::99
LOG=$WORK/echo.log

# ping_all NAME NS ADDR COUNT: COUNT pings, all answered with TTL/hop limit 64 or less.
ping_all() {
	local name=$1 log=$WORK/$1.ping
	if pings "$2" "$3" "$4" "$log" && has_line "$log" 'ttl=6[0-4]'; then
		pass "$name"
	else
		fail "$name" "not all $4 pings to $3 were answered"
		show "$log" "$LOG"
	fi
}

proxy_gone() { [ -z "$(in_ns "$NS_R" ip neigh show proxy)" ]; }
routes_gone() { ! in_ns "$NS_R" ip route show table all | grep -Eq "10\\.77\\.61\\.99|fd77:61::99"; }
ndp_restored() { [ "$(in_ns "$NS_R" sysctl -n net.ipv6.conf.eth-a.proxy_ndp)" = 0 ]; }
proxy_listed() { in_ns "$NS_R" ip -6 neigh show proxy | grep -q "fd77:61::99 dev eth-a"; }
# exits_with STATUS CMD...: CMD (run in R) exits with STATUS.
exits_with() {
	local want=$1
	shift
	in_ns "$NS_R" "$@" 2>/dev/null
	test $? = "$want"
}
big_ping() { in_ns "$NS_A" ping -n -q -c 2 -i 0.2 -W 2 -s 3000 "$1" >/dev/null 2>&1; }
fails_now() { ! in_ns "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }

check not_before "a virtual address answered before echo ran" fails_now "$NS_A" "$V4"
in_ns "$NS_A" ip neigh flush dev eth0 # drop the unanswered request still waiting for ARP
spawn "$NS_R" "$LOG" "$IPREDIR" echo "$V4" "$V6"
ECHO_PID=$!
if ! wait_until 5 has_line "$LOG" '^echo: answering'; then
	fail start "echo did not start"
	show "$LOG"
	finish
fi
check proxy_entry "no proxy neighbour entry for $V6" proxy_listed
ping_all neighbour_v4 "$NS_A" "$V4" 5
ping_all neighbour_v6 "$NS_A" "$V6" 5
ping_all routed_v4 "$NS_B" "$V4" 3
# a request larger than the MTU arrives reassembled; its reply leaves in fragments
check big_v4 "a 3000-byte ping was not answered" big_ping "$V4"
ping_all routed_v6 "$NS_B" "$V6" 3
stop "$ECHO_PID"
check exit_status "echo did not exit 0 on SIGTERM" test $? = 0
answered=$(sed -n 's/^echo: answered \([0-9]*\) .*/\1/p' "$LOG")
check count "answered ${answered:-nothing}, expected 18" test "${answered:-0}" = 18 ||
	show "$LOG" "$WORK"/*.ping
check proxy_removed "proxy neighbour entries outlived echo" proxy_gone
check routes_removed "routes of the virtual addresses outlived echo" routes_gone
check sysctl_restored "proxy_ndp of eth-a not restored" ndp_restored
check v4_gone "$V4 still answers after echo exited" fails_now "$NS_A" "$V4"
check v6_gone "$V6 still answers after echo exited" fails_now "$NS_A" "$V6"
check bad_address "a bad address was not a usage error (2)" exits_with 2 "$IPREDIR" echo 300.1.1.1
check owned_address "an owned address was not refused with 2" exits_with 2 "$IPREDIR" echo 10.77.61.2
finish
