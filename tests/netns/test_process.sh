#!/bin/bash
# The process of every packet (IPR_OPEN_PROCESS): in a private namespace, five
# servers and 20 concurrent short-lived clients (curl, python TCP and UDP, IPv4
# and IPv6, an IPv6 socket talking IPv4, a socket used by a forked child, one
# passed with SCM_RIGHTS, one that sends and exits at once) talk over loopback;
# build/tests/procwho holds every TCP and UDP packet and prints the process it
# names. Every packet, out and in, client and server side, the first SYN and
# the SYN-ACK included, must name the process that owns its local end: counted
# over all packets (tests/netns/procmix.py check). Twice: looked up at once,
# and 300 ms late, when clients and servers have exited meanwhile. Once more
# with build/tests/evwho: every socket and flow event names it too. dump shows
# processes (text, JSON, pcapng), block --comm curl blocks curl only. A rule of
# ipr_events_block() refuses connects and binds (EPERM) until its holder's
# SIGKILL. Then: the BPF programs the handle attached are gone after its SIGKILL.
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

# events_named: the same mix, with evwho printing every socket and flow event.
events_named() {
	local log=$WORK/events.log pid
	host_spawn "$log" "$BUILD/tests/evwho"
	pid=$!
	if ! wait_until 5 has_line "$log" '^ready$'; then
		fail every_event_named "evwho did not start"
		show "$log.err"
		return
	fi
	nsenter --net="/run/netns/$NS" python3 "$PROCMIX" run "$WORK/events.owners" \
		>"$WORK/events.mix" 2>&1
	sleep 1
	stop "$pid"
	python3 "$PROCMIX" events "$WORK/events.owners" "$log" >"$WORK/events.check"
	check every_event_named "$(tail -n 1 "$WORK/events.check")" \
		grep -q ' wrong=0 missing=0$' "$WORK/events.check" ||
		show "$WORK/events.check" "$log.err"
	check no_event_lost "$(tail -n 1 "$log")" has_line "$log" '^lost 0$'
	echo "# every_event_named: $(tail -n 1 "$WORK/events.check")"
}
events_named

# calls_blocked: evwho refuses connects to port 7502 and binds to 7503 with EPERM,
# nothing else; after its SIGKILL, nothing.
calls_blocked() {
	local log=$WORK/block-events.log pid
	host_spawn "$log" "$BUILD/tests/evwho" 7502
	pid=$!
	wait_until 5 has_line "$log" '^ready$'
	in_ns "$NS" python3 "$ROOT/tests/netns/callblock.py" >"$WORK/calls" 2>&1
	check connect_blocked_v4 "$(grep blocked4 "$WORK/calls")" \
		has_line "$WORK/calls" '^blocked4 EPERM$'
	check connect_blocked_v6 "$(grep blocked6 "$WORK/calls")" \
		has_line "$WORK/calls" '^blocked6 EPERM$'
	check bind_blocked "$(grep bind "$WORK/calls")" has_line "$WORK/calls" '^bind EPERM$'
	check connect_allowed "$(grep other4 "$WORK/calls")" has_line "$WORK/calls" '^other4 ok$'
	check blocked_reported "no blocked connect event" \
		has_line "$log" '^connect tcp [0-9]+ 7502 .* blocked$'
	kill -s KILL "$pid"
	wait "$pid" 2>/dev/null
	in_ns "$NS" python3 "$ROOT/tests/netns/callblock.py" >"$WORK/calls.after" 2>&1
	check unblocked_after_kill "$(tr '\n' ' ' <"$WORK/calls.after")" \
		not_refused "$WORK/calls.after"
}
not_refused() { ! grep -q EPERM "$1" && has_line "$1" '^bind ok$'; }
calls_blocked

# serve: an HTTP server on 127.0.0.1:7400 in NS; its pid in SERVER.
serve() {
	ip netns exec "$NS" python3 -m http.server --bind 127.0.0.1 7400 \
		>"$WORK/http.log" 2>&1 </dev/null &
	SERVER=$!
	wait_until 5 in_ns "$NS" curl -s -o /dev/null http://127.0.0.1:7400/
}

# fetch TOOL: one request by curl or python3 to the server; 0 if it got the page.
fetch() {
	if [ "$1" = curl ]; then
		in_ns "$NS" curl -s -o /dev/null --max-time 2 http://127.0.0.1:7400/
	else
		in_ns "$NS" python3 -c 'import urllib.request as u
u.urlopen("http://127.0.0.1:7400/", timeout=2)' 2>/dev/null
	fi
}

refused() { ! fetch "$1"; }

# names_both LOG PID: LOG has curl PID's request and the server's answer.
names_both() {
	has_line "$1" "out .*\\.7400 tcp len [0-9]+ curl\\[$2\\]" &&
		has_line "$1" "out .*7400 > .* python3\\[$SERVER\\]"
}

# shows_process: dump's text, JSON and pcapng each name curl and the server.
shows_process() {
	local pid
	spawn "$NS" "$WORK/dump.txt" "$IPREDIR" dump -f 'tcp port 7400' -c 4
	spawn "$NS" "$WORK/dump.json" "$IPREDIR" dump -j -f 'tcp port 7400' -c 4
	spawn "$NS" "$WORK/dump.log" "$IPREDIR" dump -w "$WORK/dump.pcapng" -f 'tcp port 7400' -c 4
	sleep 1
	# shellcheck disable=SC2016 # $$ is the inner shell's, then curl's
	in_ns "$NS" sh -c 'echo $$ >"$1"; exec curl -s -o /dev/null http://127.0.0.1:7400/' - \
		"$WORK/curl.pid"
	pid=$(cat "$WORK/curl.pid")
	wait_until 5 has_line "$WORK/dump.log" 'packets written'
	check dump_text "no curl[$pid] and python3[$SERVER] lines" \
		names_both "$WORK/dump.txt" "$pid" || show "$WORK/dump.txt"
	check dump_json "no pid $pid in the JSON lines" \
		has_line "$WORK/dump.json" "\"pid\": $pid, \"comm\": \"curl\"" || show "$WORK/dump.json"
	if command -v tshark >/dev/null; then
		tshark -r "$WORK/dump.pcapng" -T fields -e frame.comment >"$WORK/comments" 2>&1
		check dump_pcapng "no comment naming curl $pid" \
			has_line "$WORK/comments" "^process curl pid $pid" || show "$WORK/comments"
	else
		skip dump_pcapng "needs tshark"
	fi
}

# blocks_by_name: block --comm curl stops curl's requests, not python's.
blocks_by_name() {
	spawn "$NS" "$WORK/block.log" "$IPREDIR" block --comm curl -f 'tcp port 7400'
	local pid=$!
	wait_until 5 has_line "$WORK/block.log" dropping
	check block_comm_curl "curl got the page" refused curl
	check block_comm_other "python3 did not get the page" fetch python3
	stop "$pid"
}

serve
shows_process
blocks_by_name

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
