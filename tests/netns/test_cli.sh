#!/bin/bash
# The command-line contract: bad arguments and bad filters exit 2 with one line
# on stderr and install nothing; passthru reports each second and sums up on
# SIGINT/SIGTERM with status 0; with -j every tool's summary is one JSON
# object; `ipredir list` shows the interfaces.
#
#   +--------+ veth-a        veth-b +--------+
#   |   A    |----------------------|   B    |
#   +--------+ 10.77.15.1 10.77.15.2 +--------+
#   ping       fd77:15::1 fd77:15::2  ipredir ...
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=cli
. "$(dirname "$0")/lib.sh"
need_root_and cli "$IPREDIR" "$IPRTAP"
topo_pair 15 || { fail topology "could not build A-B"; finish; }

# rejected NAME MUST_MENTION CMD...: exit 2, one line on stderr naming MUST_MENTION,
# nothing on stdout, no table in B.
rejected() {
	local name=$1 mention=$2 status lines why=""
	shift 2
	in_ns "$NS_B" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
	status=$? lines=$(wc -l <"$WORK/$name.err")
	[ "$status" = 2 ] || why="$why, exit status $status"
	[ "$lines" = 1 ] || why="$why, $lines lines on stderr"
	grep -qF -- "$mention" "$WORK/$name.err" || why="$why, stderr does not mention \"$mention\""
	[ ! -s "$WORK/$name.out" ] || why="$why, output on stdout"
	no_table "$NS_B" || why="$why, a table was left behind"
	if [ -z "$why" ]; then
		pass "$name"
	else
		fail "$name" "${why#, }"
		show "$WORK/$name.err" "$WORK/$name.out"
	fi
}

bad_arguments() {
	rejected bad_filter "tcp port" "$IPREDIR" passthru -f "tcp port"
	rejected bad_filter_v6 "ip6 host fd77::zz" "$IPREDIR" passthru -f "ip6 host fd77::zz"
	rejected bad_filter_forward "udp port 70000" "$IPREDIR" passthru --forward -f "udp port 70000"
	rejected bad_option "--bogus" "$IPREDIR" passthru --bogus
	rejected bad_priority "99999" "$IPREDIR" passthru -p 99999
	rejected bad_snap "abc" "$IPREDIR" passthru --snap abc
	rejected bad_batch "0" "$IPREDIR" passthru -b 0
	rejected bad_busy_poll "1000001" "$IPREDIR" passthru --busy-poll 1000001
	rejected bad_coalesce "abc" "$IPREDIR" passthru --coalesce abc
	rejected monitor_busy_poll "monitor" "$IPREDIR" dump --monitor --busy-poll 10
	rejected extra_argument "extra" "$IPREDIR" passthru extra
	rejected bad_command "nosuchcommand" "$IPREDIR" nosuchcommand
	rejected iprtap_bad_filter "tcp port" "$IPRTAP" -f "tcp port"
	rejected iprtap_bad_layer "sideways" "$IPRTAP" -l sideways
}

# status_lines LOG: passthru's per-second status lines in LOG.
status_lines() { count_lines "$1" 'pkt/s'; }
has_status() { [ "$(status_lines "$1")" -ge 1 ]; }

# signal_case SIGNAL: passthru --progress prints a status line while ping flows, then a
# summary on SIGNAL, exits 0 and leaves no table.
signal_case() {
	local sig=$1 name="passthru_$1" log=$WORK/passthru_$1.log pid status ping
	spawn "$NS_B" "$log" "$IPREDIR" passthru --progress
	pid=$!
	wait_table "$NS_B" || { fail "$name" "passthru did not install its table"; show "$log"; stop "$pid"; return; }
	in_ns "$NS_A" ping -n -i 0.1 "$B4" >/dev/null 2>&1 &
	ping=$!
	check "$name.status_line" "no status line within 3 s" wait_until 3 has_status "$log"
	stop "$pid" "$sig"
	status=$?
	stop "$ping"
	check "$name.exit" "exit status $status after SIG$sig" test "$status" = 0
	check "$name.summary" "no summary after SIG$sig" has_line "$log" '[0-9]+ packets'
	check "$name.no_table" "the table outlived the program" no_table "$NS_B"
}

# quiet_case: with -q passthru prints no status line over 1.5 s of traffic.
quiet_case() {
	local log=$WORK/quiet.log pid
	spawn "$NS_B" "$log" "$IPREDIR" passthru --quiet --progress
	pid=$!
	wait_table "$NS_B" || { fail quiet "passthru --quiet did not install its table"; show "$log"; stop "$pid"; return; }
	pings "$NS_A" "$B4" 15
	stop "$pid"
	check quiet "passthru --quiet printed status lines" test "$(status_lines "$log")" = 0
}

# list_case: `ipredir list` and `list -j` in B show lo and veth-b with its addresses.
list_case() {
	local out=$WORK/list.out
	in_ns "$NS_B" "$IPREDIR" list >"$out" 2>&1
	check list.lo "lo missing" has_line "$out" '^ *[0-9]+ +lo +up '
	check list.veth "$IF_B with its addresses missing" \
		has_line "$out" "^ *[0-9]+ +$IF_B +up .*${B4//./\\.}/24.*$B6/64"
	in_ns "$NS_B" "$IPREDIR" list -j >"$out.json" 2>&1
	check list_json "JSON lacks $IF_B with $B4/24 and $B6/64" python3 -c '
import json, sys
links = {l["name"]: l for l in json.load(open(sys.argv[1]))}
veth = links[sys.argv[2]]
assert "lo" in links and veth["index"] > 0 and veth["state"] == "up"
assert sys.argv[3] in veth["addresses"] and sys.argv[4] in veth["addresses"]
' "$out.json" "$IF_B" "$B4/24" "$B6/64"
}

# json_summary_case TOOL ARGS...: `ipredir TOOL -j ARGS` sees pings and sums up on
# SIGINT in one JSON object, the last line of its output, naming the tool.
json_summary_case() {
	local tool=$1 name="json_summary_$1" log=$WORK/json_summary_$1.log pid
	shift
	spawn "$NS_B" "$log" "$IPREDIR" "$tool" -j "$@"
	pid=$!
	wait_table "$NS_B" || { fail "$name" "$tool did not install its table"; show "$log"; stop "$pid"; return; }
	pings "$NS_A" "$B4" 2
	check "$name.exit" "$tool -j did not exit 0 on SIGINT" stop "$pid" INT
	check "$name" "the last line is no JSON summary of $tool" python3 -c '
import json, sys
last = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert last["tool"] == sys.argv[2] and all(v is not None for v in last.values())
' "$log" "$tool" || show "$log"
}

bad_arguments
json_summary_case passthru --quiet
json_summary_case block -f "udp port 9"
json_summary_case rewrite --ttl 33 -f icmp
json_summary_case echo 10.77.15.99
json_summary_case wanem --delay 1
json_summary_case dump --count 100 -f icmp
signal_case INT
signal_case TERM
quiet_case
list_case
check version "--version does not print the library version" \
	test "$("$IPREDIR" --version)" = "ipredir $LIB_VERSION"
finish
