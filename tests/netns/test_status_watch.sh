#!/bin/bash
# `ipredir status --watch`: with a passthru already running, two watchers (text and -j)
# start and report it first, as existing; then an ipredir passthru, an ipredir dump
# --monitor and a WinDivert sample each open and close (SIGTERM, SIGKILL, SIGINT), and
# every open and close line names its pid, command, layers, priority, flags and filter.
# The first passthru is SIGKILLed last: its close is seen too. The watchers end on
# SIGINT (text) and SIGTERM (-j) with status 0; every -j line is a JSON object.
#
#   +------------------------------------------------------------+
#   | W (lo only)                                                 |
#   |  ipredir status --watch      ipredir passthru (existing)    |
#   |  ipredir status --watch -j   passthru, dump --monitor,      |
#   |                              examples/windivert/passthru    |
#   +------------------------------------------------------------+
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=status_watch
. "$(dirname "$0")/lib.sh"
WD_PASSTHRU=$BUILD/examples/windivert/passthru
need_root_and status_watch "$IPREDIR" "$WD_PASSTHRU"
ns_new W || { fail topology "could not create a namespace"; finish; }
NS_W=$NS_PREFIX-W
TEXT=$WORK/watch.txt
JSON=$WORK/watch.json

# tables: how many ipredir tables W holds.
tables() { in_ns "$NS_W" nft list tables 2>/dev/null | grep -Ec '^table inet ipredir_'; }
has_tables() { [ "$(tables)" = "$1" ]; }

# start_holder NAME CMD...: run CMD in W (HOLDER_PID) and wait for its table to be listed.
start_holder() {
	local name=$1 before
	shift
	before=$(tables)
	spawn "$NS_W" "$WORK/$name.log" "$@"
	HOLDER_PID=$!
	wait_until 5 has_tables $((before + 1)) ||
		{ fail "$name" "its table did not appear"; show "$WORK/$name.log"; return 1; }
}

# line_re EVENT PID COMM LAYERS PRIORITY FLAGS FILTER: the text line of one event.
line_re() {
	local filter
	# shellcheck disable=SC2016 # a sed expression: its $ is not the shell's
	filter=$(printf '%s' "$7" | sed 's/[][\.*^$(){}?+|]/\\&/g')
	echo "^[0-9:.]+ $1 pid=$2 comm=$3 table=ipredir_$2_[0-9]+ layers=$4 priority=$5 flags=$6( queue=[0-9.]+| group=[0-9]+| ring=bpf|) filter=$filter\$"
}

# saw NAME EVENT PID COMM LAYERS PRIORITY FLAGS FILTER: the text watcher prints that line.
saw() {
	local name=$1 re
	shift
	re=$(line_re "$@")
	check "$name" "no line matching: $re" wait_until 5 has_line "$TEXT" "$re" || show "$TEXT"
}

# json_has PY_CONDITION: some line e of the JSON output satisfies the condition.
json_has() {
	python3 - "$JSON" "$1" <<'EOF'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
sys.exit(0 if any(eval(sys.argv[2], {}, {"e": e}) for e in events) else 1)
EOF
}

# json_saw NAME EVENT PID PRIORITY FILTER [MORE]: the JSON watcher has that object.
json_saw() {
	local cond="e['event'] == '$2' and e['pid'] == $3 and e['priority'] == $4 \
		and e['filter'] == '$5' and e['command'] and e['layers'] ${6:+and $6}"
	check "$1" "no JSON object with $cond" wait_until 5 json_has "$cond" || show "$JSON"
}

WF='udp.DstPort == 4003' # the WinDivert sample's filter, and what its table says of it
WD_DESCRIBE="windivert NETWORK priority=9 flags=0x0: $WF"

# The redirector open before the watchers.
start_holder existing "$IPREDIR" passthru --quiet -f 'udp port 4000' || finish
FIRST_PID=$HOLDER_PID
spawn "$NS_W" "$TEXT" "$IPREDIR" status --watch
TEXT_PID=$!
spawn "$NS_W" "$JSON" "$IPREDIR" status --watch -j
JSON_PID=$!
saw existing.text "open \\(existing\\)" "$FIRST_PID" ipredir in,out 0 - 'udp port 4000'
check existing.first "the existing passthru is not the first line" \
	has_line <(head -n 1 "$TEXT") "pid=$FIRST_PID "
json_saw existing.json open "$FIRST_PID" 0 'udp port 4000' "e['existing'] and e['flags'] == []"

# An ipredir passthru, closed by SIGTERM (ipr_close: a notification).
start_holder passthru "$IPREDIR" passthru --quiet --priority 7 -f 'udp port 4001' && {
	pid=$HOLDER_PID
	saw passthru.open open "$pid" ipredir in,out 7 - 'udp port 4001'
	json_saw passthru.open_json open "$pid" 7 'udp port 4001' "not e['existing']"
	stop "$pid"
	saw passthru.close close "$pid" ipredir in,out 7 - 'udp port 4001'
	json_saw passthru.close_json close "$pid" 7 'udp port 4001' "e['command'] == 'ipredir'"
}

# An ipredir dump --monitor, SIGKILLed (its table goes without a notification).
start_holder monitor "$IPREDIR" dump --monitor --priority -3 --out -f 'udp port 4002' && {
	pid=$HOLDER_PID
	saw monitor.open open "$pid" ipredir out -3 'monitor[a-z,-]*' 'udp port 4002'
	json_saw monitor.open_json open "$pid" -3 'udp port 4002' \
		"'monitor' in e['flags'] and e['monitor'] and e.get('engine') == 'bpf'"
	stop "$pid" KILL
	saw monitor.close close "$pid" ipredir out -3 'monitor[a-z,-]*' 'udp port 4002'
	json_saw monitor.close_json close "$pid" -3 'udp port 4002' "e['command'] == 'ipredir'"
}

# A WinDivert program (libwindivert), ended by SIGINT.
start_holder windivert "$WD_PASSTHRU" "$WF" 1 1 9 && {
	pid=$HOLDER_PID
	saw windivert.open open "$pid" passthru in,out 9 '[a-z,-]+' "$WD_DESCRIBE"
	json_saw windivert.open_json open "$pid" 9 "$WD_DESCRIBE" "e['command'] == 'passthru'"
	stop "$pid" INT
	saw windivert.close close "$pid" passthru in,out 9 '[a-z,-]+' "$WD_DESCRIBE"
	json_saw windivert.close_json close "$pid" 9 "$WD_DESCRIBE"
}

# An events handle (ipredir flows), ended by SIGTERM: no queue, layers flow.
start_holder flows "$IPREDIR" flows && {
	pid=$HOLDER_PID
	saw flows.open open "$pid" ipredir flow 0 - ''
	json_saw flows.open_json open "$pid" 0 '' "e['events'] and e['layers'] == 'flow'"
	stop "$pid"
	saw flows.close close "$pid" ipredir flow 0 - ''
	json_saw flows.close_json close "$pid" 0 '' "e['events']"
}

# The one open before the watchers, SIGKILLed: closed as it was first seen.
stop "$FIRST_PID" KILL
saw existing.close close "$FIRST_PID" ipredir in,out 0 - 'udp port 4000'
json_saw existing.close_json close "$FIRST_PID" 0 'udp port 4000' "not e['existing']"

check text.lines "the text watcher printed other lines than the 10 expected" \
	test "$(count_lines "$TEXT" '^[0-9:.]+ (open|close) ')" = 10 || show "$TEXT"
check json.lines "the JSON watcher printed other than 10 objects" \
	test "$(wc -l <"$JSON")" = 10 || show "$JSON"
check text.sigint "status --watch did not exit 0 on SIGINT" stop "$TEXT_PID" INT
check json.sigterm "status --watch -j did not exit 0 on SIGTERM" stop "$JSON_PID" TERM
check usage "status --watch --prometheus did not exit 2" \
	test "$(in_ns "$NS_W" "$IPREDIR" status --watch --prometheus >/dev/null 2>&1; echo $?)" = 2
finish
