#!/bin/bash
# Two redirectors on one layer see a packet in priority order, IPv4 and IPv6:
# the one that sets ttl=77 runs first when its priority is higher (the other
# then prints ttl=77) and second when it is lower (the other prints ttl=64).
#
#   +--------+ veth-a        veth-b +--------+
#   |   A    |----------------------|   B    |
#   +--------+ 10.77.11.1 10.77.11.2 +--------+
#   ping       fd77:11::1 fd77:11::2  iprtap -a ttl=77 -p P1
#                                     iprtap           -p P2   (both -l in)
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=priority
. "$(dirname "$0")/lib.sh"
need_root_and priority "$IPRTAP"
topo_pair 11 || { fail topology "could not build A-B"; finish; }

# order_case NAME VERSION SETTER_PRIO WATCHER_PRIO WANT_TTL: the watcher prints WANT_TTL.
order_case() {
	local name=$1 v=$2 filter setter re
	filter=$(echo_filter "$v" request)
	tap_start "$NS_B" "$WORK/$name.setter" -l in -p "$3" -a ttl=77 -f "$filter" ||
		{ fail "$name" "iprtap -p $3 did not start"; show "$WORK/$name.setter"; return; }
	setter=$TAP_PID
	tap_start "$NS_B" "$WORK/$name.watcher" -l in -p "$4" -f "$filter" ||
		{ fail "$name" "iprtap -p $4 did not start"; show "$WORK/$name.watcher"; stop "$setter"; return; }
	pings "$NS_A" "$(addr_of B "$v")" 1
	stop "$TAP_PID"
	stop "$setter"
	re="^pkt layer=in v=$v .* ttl=$5 .*src=$(addr_of A "$v") "
	check "$name.setter_saw" "the ttl=77 program saw no echo request" has_line "$WORK/$name.setter" '^pkt '
	if has_line "$WORK/$name.watcher" "$re"; then
		pass "$name"
	else
		fail "$name" "the -p $4 program did not print ttl=$5"
		show "$WORK/$name.watcher"
	fi
}

for v in 4 6; do
	order_case "higher_first_v$v" "$v" 10 5 77
	order_case "lower_second_v$v" "$v" 5 10 64
	order_case "negative_v$v" "$v" -3 -200 77
done
finish
