#!/bin/bash
# Nothing a tool creates outlives it. Every redirecting subcommand runs in B,
# sees some traffic, and is stopped once with SIGINT and once with SIGKILL;
# B must then be exactly as before: no ipredir table in `nft list ruleset`,
# no iprin* tun device, the same routes, proxy neighbour entries and IPv6/IPv4
# conf sysctls, and no cgroup left by `ipredir run`. The event tools (flows,
# sockets with a block) install no table: the BPF programs they attach at the
# cgroup v2 root must be gone after they exit (bpftool cgroup show), and B
# must be as before.
#
#   +------+ veth-a                 veth-b +------+
#   |  A   |-------------------------------|  B   |
#   +------+ 10.77.71.1        10.77.71.2  +------+
#   pings, TCP connects  fd77:71::1  fd77:71::2   ipredir TOOL ...   <- SIGINT / SIGKILL
#                                                 echo answers for 10.77.71.50, fd77:71::50
# `ipredir run` runs through nsenter --net (ip netns exec hides the cgroup tree).
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=cleanup
. "$(dirname "$0")/lib.sh"
need_root_and cleanup "$IPREDIR"
topo_pair 71 || { fail topology "could not build A-B"; finish; }
V4=10.77.71.50 V6=fd77:71::50
CG2=$(cgroup2_root)

# state NS: everything of NS a tool may change, as text.
state() {
	in_ns "$1" nft list ruleset 2>/dev/null
	ip -n "$1" -o link show | awk -F': ' '{ print $2 }'
	ip -n "$1" route show table all
	ip -n "$1" -6 route show table all
	ip -n "$1" neigh show proxy
	ip -n "$1" -6 neigh show proxy
	in_ns "$1" sysctl -a -r '^net\.(ipv4\.(ip_forward|conf\.)|ipv6\.conf\.)' 2>/dev/null
}

# settled NS: no IPv6 address is still tentative (its local route comes after DAD).
settled() { [ -z "$(ip -n "$1" -6 addr show tentative)" ]; }

BEFORE=$WORK/before.state
wait_until 10 settled "$NS_B"
state "$NS_B" >"$BEFORE"

# as_before NS: the state of NS equals the snapshot.
as_before() { state "$1" | cmp -s - "$BEFORE"; }

# state_diff NS: what differs from the snapshot, for a failure.
state_diff() { state "$1" | diff "$BEFORE" - | head -n 12 | sed 's/^/#   /'; }

# traffic ADDR...: pings from A to each ADDR, a TCP connect from B to A (refused).
traffic() {
	local addr
	for addr in "$@"; do
		in_ns "$NS_A" ping -n -c 2 -i 0.05 -W 1 "$addr" >/dev/null 2>&1
	done
	in_ns "$NS_B" timeout 2 bash -c "exec 3<>/dev/tcp/$A4/9" 2>/dev/null
	true
}

# shows NS REGEX: the state of NS has a line matching REGEX.
shows() { state "$1" | grep -Eq -- "$2"; }

# run_cgroup PID: the cgroup `ipredir run` PID makes exists.
run_cgroup() { [ -d "$CG2/ipredir-run-$1" ]; }
run_cgroup_gone() { ! run_cgroup "$1"; }

# tool_case NAME SIGNAL REGEX ARGS...: start `ipredir ARGS` in B, let traffic
# pass, check B's state shows REGEX, stop the tool with SIGNAL; then B must be
# as before.
tool_case() {
	local name="$1_$2" sig=$2 regex=$3 log=$WORK/$1_$2.log pid dests=("$B4" "$B6")
	shift 3
	[ "$1" = echo ] && dests+=("$V4" "$V6")
	if [ "$1" = run ]; then
		nsenter --net="/run/netns/$NS_B" "$IPREDIR" "$@" >"$log" 2>&1 </dev/null &
	else
		spawn "$NS_B" "$log" "$IPREDIR" "$@"
	fi
	pid=$!
	if ! wait_until 5 has_table "$NS_B"; then
		fail "$name" "ipredir $* did not start"
		show "$log"
		stop "$pid" KILL
		return
	fi
	traffic "${dests[@]}"
	check "$name.running" "ipredir $* is not running" running "$pid" || show "$log"
	check "$name.changed" "B's state does not show /$regex/ while it runs" shows "$NS_B" "$regex"
	[ "$1" = run ] && check "$name.cgroup_made" "no cgroup ipredir-run-$pid" run_cgroup "$pid"
	stop "$pid" "$sig"
	if ! check "$name.clean" "B differs from before" wait_until 5 as_before "$NS_B"; then
		state_diff "$NS_B"
		show "$log"
	fi
	[ "$1" = run ] && check "$name.cgroup" "cgroup ipredir-run-$pid stays" \
		wait_until 5 run_cgroup_gone "$pid"
}

# every_tool SIGNAL
every_tool() {
	local sig=$1
	local table='^table inet ipredir_'
	tool_case passthru "$sig" "$table" passthru --quiet
	tool_case passthru_q2 "$sig" "$table" passthru --quiet -q 2 --rewrite
	tool_case dump "$sig" "$table" dump
	tool_case dump_monitor "$sig" "$table" dump --monitor
	tool_case block "$sig" '^iprin' block --reject --out -f 'tcp dst port 9'
	tool_case rewrite "$sig" "$table" rewrite --ttl 33
	tool_case echo "$sig" "^$V6 dev $IF_B proxy" echo "$V4" "$V6"
	tool_case wanem "$sig" "$table" wanem --delay 5
	if [ -n "$CG2" ] && command -v nsenter >/dev/null; then
		tool_case run "$sig" "$table" run --quiet -- sh -c 'sleep 600 & exec sleep 600'
	else
		skip "run_$sig" "needs a cgroup v2 mount and nsenter"
	fi
}

# events_case NAME SIGNAL ARGS...: start `ipredir ARGS` (flows or sockets) in B, let
# traffic pass, stop it with SIGNAL; the programs it attached must be gone and B as
# before.
events_case() {
	local name="$1_$2" sig=$2 log=$WORK/$1_$2.log pid before mine
	shift 2
	before=$(owner_programs)
	spawn "$NS_B" "$log" "$IPREDIR" "$@"
	pid=$!
	if ! wait_until 5 has_line "$log" watching; then
		fail "$name" "ipredir $* did not start"
		show "$log"
		stop "$pid" KILL
		return
	fi
	traffic "$B4" "$B6"
	mine=$(comm -13 <(echo "$before") <(owner_programs))
	check "$name.running" "ipredir $* is not running" running "$pid" || show "$log"
	check "$name.attached" "no program of it at $CG2" [ -n "$mine" ]
	stop "$pid" "$sig"
	check "$name.programs" "programs $(echo "$mine" | tr '\n' ' ')outlived it" \
		wait_until 5 programs_gone "$mine"
	if ! check "$name.clean" "B differs from before" wait_until 5 as_before "$NS_B"; then
		state_diff "$NS_B"
		show "$log"
	fi
}

# every_event_tool SIGNAL
every_event_tool() {
	if [ -z "$CG2" ] || ! command -v bpftool >/dev/null; then
		skip "events_$1" "needs cgroup v2 and bpftool"
		return
	fi
	events_case flows "$1" flows
	events_case sockets "$1" sockets -j --block-connect 192.0.2.1 --block-bind 9
}

every_tool INT
every_tool KILL
every_event_tool INT
every_event_tool KILL
finish
