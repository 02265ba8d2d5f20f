#!/bin/bash
# ipredir flows and ipredir sockets, in one private namespace P over loopback:
#
#   +---------------------------------------------------------------+
#   | P (lo: 127.0.0.1, ::1)                                        |
#   |   ipredir flows -j, ipredir sockets -j    <- SIGINT / SIGKILL |
#   |   procmix.py: 5 servers, 20 clients       callblock.py        |
#   +---------------------------------------------------------------+
#
# While tests/netns/procmix.py runs its servers and 20 concurrent clients,
# every flow and socket event the two tools print names the process that owns
# its local end (procmix.py events, counted over all events), every line of
# -j parses as JSON, the summaries are JSON and count no event lost; --comm
# and --exe print only those processes' events. sockets --block-connect and
# --block-bind refuse those calls with EPERM (callblock.py) and nothing else,
# and mark them blocked; with --pid only that process is refused; after the
# tool's SIGKILL nothing is refused and its BPF programs are gone.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=flows
. "$(dirname "$0")/lib.sh"
PROCMIX=$ROOT/tests/netns/procmix.py
CALLBLOCK=$ROOT/tests/netns/callblock.py
need_root_and flows "$IPREDIR"
CG2=$(cgroup2_root)
ns_new p || { fail namespace "could not create it"; finish; }
NS=$NS_PREFIX-p

# events_start NAME ARGS...: `ipredir ARGS` in NS, stdout to $WORK/NAME.out and
# stderr to $WORK/NAME.err; its pid in TOOL_PID. Returns 0 once it watches.
events_start() {
	local name=$1
	shift
	ip netns exec "$NS" "$IPREDIR" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
	TOOL_PID=$!
	wait_until 5 has_line "$WORK/$name.err" 'watching' && return 0
	fail "$name" "ipredir $* did not start"
	show "$WORK/$name.err"
	stop "$TOOL_PID" KILL
	return 1
}

# as_evwho JSONFILE: the events as build/tests/evwho prints them, for procmix.py events.
as_evwho() {
	python3 -c 'import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["event"], e["protocol"], e["local_port"], e["remote_port"], e["pid"],
          e["comm"] or "-", int(e["direction"] == "out"), e["endpoint"],
          e["parent_endpoint"], "blocked" if e["blocked"] else "")' "$1"
}

# all_json NAME: every line of NAME.out is a JSON object, and NAME.err ends in one.
all_json() {
	python3 -c 'import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
summary = json.loads(open(sys.argv[2]).read().splitlines()[-1])
assert events and all(isinstance(e, dict) and "endpoint" in e for e in events)
assert summary["tool"] in ("flows", "sockets") and summary["printed"] == len(events)' \
		"$WORK/$1.out" "$WORK/$1.err"
}

# none_lost NAME: NAME's JSON summary counts no event lost.
none_lost() { tail -n 1 "$WORK/$1.err" | grep -q '"lost": 0,'; }

# named NAME REGEX: procmix.py's count of NAME's events matches REGEX: "wrong=0
# missing=0": every event named right and every client seen beginning and ending
# (flows); "named=[1-9][0-9]* wrong=0": named right (sockets: an unconnected UDP
# client connects nowhere, so its beginning is a flow only).
named() {
	as_evwho "$WORK/$1.out" >"$WORK/$1.events"
	python3 "$PROCMIX" events "$WORK/mix.owners" "$WORK/$1.events" >"$WORK/$1.check"
	tail -n 1 "$WORK/$1.check" | grep -Eq " $2( |$)"
}

# only NAME KEY VALUE: NAME printed events, each with KEY equal to VALUE.
only() {
	python3 -c 'import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
assert events and all(str(e[sys.argv[2]]) == sys.argv[3] for e in events)' "$WORK/$1.out" "$2" "$3"
}

# a mix of clients and servers watched by flows and sockets, all and filtered
events_of_mix() {
	local tools="" name python
	python=$(readlink -f "$(command -v python3)")
	events_start flows flows -j && tools+=" $TOOL_PID"
	events_start sockets sockets -j && tools+=" $TOOL_PID"
	events_start curl sockets -j --comm curl && tools+=" $TOOL_PID"
	events_start exe flows -j --exe "$python" && tools+=" $TOOL_PID"
	nsenter --net="/run/netns/$NS" python3 "$PROCMIX" run "$WORK/mix.owners" \
		>"$WORK/mix.log" 2>&1 || show "$WORK/mix.log"
	sleep 1 # the last closes reach the ring buffer
	for pid in $tools; do
		stop "$pid" INT
	done
	check flows_named "every flow event named, every client's flow seen" \
		named flows 'wrong=0 missing=0' || show "$WORK/flows.check" "$WORK/flows.err"
	check sockets_named "every socket event named" \
		named sockets 'named=[1-9][0-9]* wrong=0' || show "$WORK/sockets.check"
	for name in flows sockets; do
		echo "# $name: $(tail -n 1 "$WORK/$name.check")"
		check "${name}_json" "a line is no JSON event, or no JSON summary" all_json "$name" ||
			show "$WORK/$name.err"
		check "${name}_none_lost" "$(tail -n 1 "$WORK/$name.err")" none_lost "$name"
	done
	check comm_filter "sockets --comm curl printed another process" only curl comm curl ||
		show "$WORK/curl.out"
	check exe_filter "flows --exe $python printed another process" only exe comm python3 ||
		show "$WORK/exe.out"
}

# refused CALLS NAME...: each NAME line of callblock.py's CALLS says EPERM.
refused() {
	local calls=$1 name
	shift
	for name in "$@"; do
		has_line "$calls" "^$name EPERM$" || return 1
	done
}

# not_refused CALLS: no call of callblock.py's CALLS was refused.
not_refused() { ! grep -q EPERM "$1" && has_line "$1" '^bind ok$'; }

# blocks: connects to port 7502 (IPv4 and IPv6) and binds to 7503 refused, others
# not, and reported blocked; after SIGKILL of the tool nothing is, and its programs
# are gone.
blocks() {
	local calls=$WORK/calls before
	before=$(owner_programs)
	events_start block sockets --block-connect 127.0.0.1:7502 --block-connect '[::1]:7502' \
		--block-bind 7503 || return
	programs_of_tool=$(comm -13 <(echo "$before") <(owner_programs))
	in_ns "$NS" python3 "$CALLBLOCK" >"$calls" 2>&1
	check connect_bind_refused "$(tr '\n' ' ' <"$calls")" \
		refused "$calls" blocked4 blocked6 bind
	check other_connect_allowed "$(grep other4 "$calls")" has_line "$calls" '^other4 ok$'
	check blocked_reported "no connect to 7502 marked blocked" \
		has_line "$WORK/block.out" ' connect tcp .* -> (127\.0\.0\.1|::1)\.7502 .* blocked$'
	kill -s KILL "$TOOL_PID"
	wait "$TOOL_PID" 2>/dev/null
	in_ns "$NS" python3 "$CALLBLOCK" >"$calls.after" 2>&1
	check unblocked_after_kill "$(tr '\n' ' ' <"$calls.after")" not_refused "$calls.after"
	if [ -z "$CG2" ] || ! command -v bpftool >/dev/null; then
		skip programs_gone "needs cgroup v2 and bpftool"
		return
	fi
	check programs_attached "sockets attached no program at $CG2" [ -n "$programs_of_tool" ]
	check programs_gone "programs $(echo "$programs_of_tool" | tr '\n' ' ')outlived SIGKILL" \
		wait_until 3 programs_gone "$programs_of_tool"
}

# one_process_blocked: with --pid, the block refuses that process's calls only.
one_process_blocked() {
	local go=$WORK/go calls=$WORK/pid.calls waiter
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$NS" sh -c 'echo $$ >"$1"; while [ ! -e "$2" ]; do sleep 0.05; done
exec python3 "$3"' - "$WORK/pid" "$go" "$CALLBLOCK" >"$calls" 2>&1 </dev/null &
	waiter=$!
	wait_until 5 test -s "$WORK/pid"
	events_start pid sockets --pid "$(cat "$WORK/pid")" --block-connect '*:7501' || return
	in_ns "$NS" python3 "$CALLBLOCK" >"$WORK/other.calls" 2>&1
	touch "$go"
	wait "$waiter"
	stop "$TOOL_PID" INT
	check pid_blocked "$(tr '\n' ' ' <"$calls")" refused "$calls" other4
	check pid_other_allowed "$(tr '\n' ' ' <"$WORK/other.calls")" \
		has_line "$WORK/other.calls" '^other4 ok$'
}

events_of_mix
blocks
one_process_blocked
finish
