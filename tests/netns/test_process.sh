#!/bin/bash
# The process of every packet (IPR_OPEN_PROCESS): in a private namespace, five
# servers and 20 concurrent short-lived clients (curl, python TCP and UDP, IPv4
# and IPv6, an IPv6 socket talking IPv4, a socket used by a forked child, one
# passed with SCM_RIGHTS, one that sends and exits at once) talk over loopback;
# build/tests/procwho holds every TCP and UDP packet and prints the process it
# names. Every packet, out and in, client and server side, the first SYN and
# the SYN-ACK included, must name the process that owns its local end: counted
# over all packets (tests/netns/procmix.py check). Twice: looked up at once,
# and 300 ms late, when clients and servers have exited meanwhile. Then: the
# BPF programs the handle attached are gone after its SIGKILL.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via wait_until
SUITE=process
. "$(dirname "$0")/lib.sh"
PROCWHO=$BUILD/tests/procwho
PROCMIX=$ROOT/tests/netns/procmix.py
need_root_and process "$PROCWHO"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
ns_new p || { fail namespace "could not create it"; finish; }
NS=$NS_PREFIX-p

# host_spawn LOG CMD...: spawn in NS (ip netns exec: the library finds cgroup v2 itself).
host_spawn() {
	local log=$1
	shift
	ip netns exec "$NS" "$@" >"$log" 2>"$log.err" </dev/null &
}

# owners_attached: how many of the handle's programs sit at the cgroup v2 root.
owners_attached() { bpftool cgroup show "$CG2" 2>/dev/null | grep -c ' owner_'; }
none_attached() { [ "$(owners_attached)" -eq 0 ]; }

# mix NAME DELAY_MS: the servers and clients with procwho looking up DELAY_MS late.
mix() {
	local name=$1 delay=$2 log=$WORK/$1.packets pid
	host_spawn "$log" "$PROCWHO" "" "$delay"
	pid=$!
	if ! wait_until 5 has_line "$log" '^ready$'; then
		fail "$name" "procwho did not start"
		show "$log.err"
		return
	fi
	nsenter --net="/run/netns/$NS" python3 "$PROCMIX" run "$WORK/$name.owners" \
		>"$WORK/$name.mix" 2>&1
	# every packet answered: nothing held for 1 s
	wait_until 20 settled_log "$log"
	stop "$pid"
	python3 "$PROCMIX" check "$WORK/$name.owners" "$log" >"$WORK/$name.check"
	check "$name" "$(tail -n 1 "$WORK/$name.check")" \
		grep -q ' wrong=0 missing=0$' "$WORK/$name.check" ||
		show "$WORK/$name.check" "$WORK/$name.mix" "$log.err"
	echo "# $name: $(tail -n 1 "$WORK/$name.check")"
}

# settled_log LOG: LOG did not grow for a second.
settled_log() {
	local before
	before=$(wc -l <"$1")
	sleep 1
	[ "$(wc -l <"$1")" -eq "$before" ]
}

mix every_packet_named 0
mix named_after_exit 300

if [ -z "$CG2" ] || ! command -v bpftool >/dev/null; then
	skip programs_gone "needs cgroup v2 and bpftool"
else
	host_spawn "$WORK/kill.packets" "$PROCWHO"
	pid=$!
	wait_until 5 has_line "$WORK/kill.packets" '^ready$'
	attached=$(owners_attached)
	kill -s KILL "$pid"
	wait "$pid" 2>/dev/null
	check programs_attached "procwho attached none: $(cat "$WORK/kill.packets.err")" \
		[ "$attached" -gt 0 ]
	check programs_gone "$attached programs attached, still there after SIGKILL" \
		wait_until 3 none_attached
fi
finish
