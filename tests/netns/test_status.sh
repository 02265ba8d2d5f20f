#!/bin/bash
# `ipredir status`, IPv4 and IPv6: with a passthru and a monitor running,
# `status -j` is valid JSON naming both (pid, command, filter, queue or NFLOG
# group, queue counters) and the text mode shows them; after they exit status
# lists nothing.
#
#   +------+ veth-a          veth-b +------+
#   |  A   |------------------------|  B   |
#   +------+ 10.77.43.1  10.77.43.2 +------+
#   ping     fd77:43::1  fd77:43::2  ipredir passthru + iprtap --monitor, status
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=status
. "$(dirname "$0")/lib.sh"
need_root_and status "$IPREDIR" "$IPRTAP"
topo_pair 43 || { fail topology "could not build A-B"; finish; }

QUEUE=4321
PINGS=3

# tables NS: how many ipredir tables NS holds.
tables() { in_ns "$1" nft list tables 2>/dev/null | grep -Ec '^table inet ipredir_'; }
has_tables() { [ "$(tables "$1")" = "$2" ]; }

valid_json() { python3 -m json.tool "$1" >/dev/null 2>&1; }

# json_has FILE PY_CONDITION: some element r of the JSON array in FILE satisfies the condition.
json_has() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
rs = json.load(open(sys.argv[1]))
sys.exit(0 if any(eval(sys.argv[2], {}, {"r": r}) for r in rs) else 1)
EOF
}

# status_case VERSION
status_case() {
	local v=$1 name="running_v$1" b pt_log=$WORK/passthru_v$1.log tap_log=$WORK/monitor_v$1.tap
	local json=$WORK/status_v$1.json text=$WORK/status_v$1.txt pt_filter mon_filter pt_pid group
	b=$(addr_of B "$v")
	pt_filter=$(echo_filter "$v" request) mon_filter=$(echo_filter "$v" reply)
	spawn "$NS_B" "$pt_log" "$IPREDIR" passthru --quiet --queue "$QUEUE" -f "$pt_filter"
	pt_pid=$!
	tap_start "$NS_B" "$tap_log" --monitor -l out -f "$mon_filter" ||
		{ fail "$name" "iprtap --monitor did not start"; show "$tap_log"; stop "$pt_pid"; return; }
	group=$(field_of "$tap_log" queue)
	wait_until 5 has_tables "$NS_B" 2 ||
		{ fail "$name" "passthru did not install its table"; show "$pt_log"; stop "$pt_pid"; stop "$TAP_PID"; return; }
	check "$name.ping" "pings past passthru were not answered" pings "$NS_A" "$b" "$PINGS"

	in_ns "$NS_B" "$IPREDIR" status -j >"$json" 2>"$json.err"
	check "$name.json_valid" "status -j is not valid JSON" valid_json "$json" ||
		show "$json" "$json.err"
	check "$name.json_passthru" "no entry for passthru pid $pt_pid, queue $QUEUE, its filter" \
		json_has "$json" "r['pid'] == $pt_pid and r['command'] == 'ipredir' and not r['monitor'] \
			and r['filter'] == '$pt_filter' and r['layers'] == 'in,out' and r['owned'] \
			and r['first_queue'] == $QUEUE and r['last_queue'] == $QUEUE \
			and r['queues'][0]['queue'] == $QUEUE and r['queues'][0]['bound'] \
			and r['queues'][0]['last_id'] >= $PINGS and r['queues'][0]['waiting'] == 0" ||
		show "$json"
	check "$name.json_monitor" "no entry for monitor pid $TAP_PID on the BPF engine, its filter" \
		json_has "$json" "r['pid'] == $TAP_PID and r['command'] == 'iprtap' and r['monitor'] \
			and r['filter'] == '$mon_filter' and r['layers'] == 'out' \
			and r['engine'] == 'bpf' and r['queues'] == []" || show "$json"

	in_ns "$NS_B" "$IPREDIR" status >"$text" 2>&1
	check "$name.text_passthru" "text mode does not show passthru" \
		has_line "$text" "^  process +$pt_pid \\(ipredir\\)$" || show "$text"
	check "$name.text_queue" "text mode does not show queue $QUEUE and its counters" \
		has_line "$text" "^  queue $QUEUE: waiting 0, queue drops 0, user drops 0, last id [0-9]+$"
	check "$name.text_monitor" "text mode does not show the monitor" \
		has_line "$text" "^  process +$TAP_PID \\(iprtap\\)$"
	check "$name.text_ring" "text mode does not show the monitor's BPF ring" \
		has_line "$text" "^  BPF ring +\\(monitor"
	check "$name.nflog_group" "the monitor's ready line says queue=${group:-?}, expected 0" \
		test "${group:-x}" = 0
	check "$name.text_filter" "text mode does not show the filters" \
		test "$(count_lines "$text" '^  filter +icmp6?\[')" = 2

	check "$name.passthru_exit" "passthru did not exit cleanly" stop "$pt_pid"
	check "$name.monitor_exit" "iprtap did not exit cleanly" stop "$TAP_PID"
	gone_case "$v"
}

# gone_case VERSION: nothing listed once the redirectors exited.
gone_case() {
	local name="gone_v$1" json=$WORK/gone_v$1.json text=$WORK/gone_v$1.txt
	wait_until 5 has_tables "$NS_B" 0
	in_ns "$NS_B" "$IPREDIR" status -j >"$json" 2>&1
	check "$name.json_valid" "status -j is not valid JSON" valid_json "$json" || show "$json"
	check "$name.json_empty" "status -j still lists something" \
		python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != [])' "$json" ||
		show "$json"
	in_ns "$NS_B" "$IPREDIR" status >"$text" 2>&1
	check "$name.text_none" "text mode does not say there is none" \
		has_line "$text" '^no ipredir redirector in this network namespace$' || show "$text"
}

check usage "status with an argument did not exit 2" \
	test "$(in_ns "$NS_B" "$IPREDIR" status extra >/dev/null 2>&1; echo $?)" = 2
for v in 4 6; do
	status_case "$v"
done
finish
