#!/bin/bash
# The queue statement: `auto` picks the native nft queue expression when the
# kernel has it (CONFIG_NFT_QUEUE) and the xt NFQUEUE target (nft_compat)
# otherwise; forcing an unavailable kind fails clearly and installs nothing;
# forcing compat works; with nobody bound to the queue, traffic still passes
# (bypass). IPv4 and IPv6.
#
#   +--------+ veth-a        veth-b +--------+
#   |   A    |----------------------|   B    |
#   +--------+ 10.77.17.1 10.77.17.2 +--------+
#   ping       fd77:17::1 fd77:17::2  iprtap --kind K / rules_probe --kind K (-l in)
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=queue_kind
. "$(dirname "$0")/lib.sh"
need_root_and queue_kind "$IPRTAP" "$RULES_PROBE"
topo_pair 17 || { fail topology "could not build A-B"; finish; }

# kernel_kind: native if the kernel config has the nft queue expression, else compat.
kernel_kind() {
	if zgrep -Eq '^CONFIG_NFT_QUEUE=[ym]' /proc/config.gz; then echo native; else echo compat; fi
}

# probe_start LOG ARGS...: rules_probe ARGS in B, held open through a fifo.
probe_start() {
	local log=$1
	shift
	mkfifo "$WORK/probe.in"
	ip netns exec "$NS_B" "$RULES_PROBE" "$@" <"$WORK/probe.in" >"$log" 2>&1 &
	PROBE_PID=$!
	exec {PROBE_FD}>"$WORK/probe.in"
}

# probe_stop: close rules_probe's stdin, reap it, return its exit status.
probe_stop() {
	exec {PROBE_FD}>&-
	rm -f "$WORK/probe.in"
	wait_until 5 gone "$PROBE_PID"
	stop "$PROBE_PID"
}

# both_ping NAME: A pings B over IPv4 and IPv6, 3 times each.
both_ping() {
	check "$1.ping_v4" "not every IPv4 ping was answered" pings "$NS_A" "$B4" 3 "$WORK/$1.ping4"
	check "$1.ping_v6" "not every IPv6 ping was answered" pings "$NS_A" "$B6" 3 "$WORK/$1.ping6"
}

# tap_case NAME KIND WANT: iprtap --kind KIND installs WANT and sees both pings.
tap_case() {
	local name=$1 log=$WORK/$1.tap
	tap_start "$NS_B" "$log" -l in --kind "$2" -f "$(echo_filter 4 request) or $(echo_filter 6 request)" ||
		{ fail "$name" "iprtap --kind $2 did not start"; show "$log"; return; }
	check "$name.kind" "queue_kind=$(field_of "$log" queue_kind), expected $3" test "$(field_of "$log" queue_kind)" = "$3"
	both_ping "$name"
	stop "$TAP_PID"
	check "$name.seen" "the program saw $(stat_of "$log" received) of 6 echo requests" test "$(stat_of "$log" received)" = 6
}

# one_line_naming FILE WORD: FILE is one line that contains WORD.
one_line_naming() { [ "$(wc -l <"$1")" = 1 ] && grep -q -- "$2" "$1"; }

# unavailable_case KIND: forcing KIND fails with a message naming it; no table.
unavailable_case() {
	local name="forced_$1" status lines
	in_ns "$NS_B" "$IPRTAP" -l in --kind "$1" >/dev/null 2>"$WORK/$name.err"
	status=$? lines=$(wc -l <"$WORK/$name.err")
	check "$name.status" "exit status $status, expected 1" test "$status" = 1
	check "$name.message" "$lines lines on stderr, none naming $1" \
		one_line_naming "$WORK/$name.err" "$1" || show "$WORK/$name.err"
	check "$name.no_table" "a table was left behind" no_table "$NS_B"
	probe_start "$WORK/$name.probe" --table ipredir_probe --layers in --queue 9 --kind "$1"
	wait_until 5 has_line "$WORK/$name.probe" '^(installed|error)'
	check "$name.probe_no_table" "rules_probe installed a table" no_table "$NS_B"
	probe_stop
	check "$name.probe_error" "rules_probe did not report an error" has_line "$WORK/$name.probe" "^error: .*$1"
}

# bypass_case KIND: rules queue to a queue nobody reads; pings pass, the rule counts them.
bypass_case() {
	local name="bypass_$1" log=$WORK/bypass_$1.probe status
	probe_start "$log" --table ipredir_probe --layers in --priority 0 --queue 9 --kind "$1" \
		--bpf "$(echo_filter 4 request) or $(echo_filter 6 request)"
	wait_until 5 has_line "$log" '^(installed|error)'
	check "$name.installed" "$(head -n 1 "$log")" has_line "$log" "^installed kind=$1\$"
	both_ping "$name"
	probe_stop
	status=$?
	check "$name.exit" "rules_probe exit status $status" test "$status" = 0
	check "$name.counted" "rule counted $(sed -n 's/^matched=//p' "$log") of 6 echo requests" has_line "$log" '^matched=6$'
	check "$name.no_table" "the table outlived rules_probe" no_table "$NS_B"
}

if [ -r /proc/config.gz ]; then
	kind=$(kernel_kind)
	tap_case auto auto "$kind"
	probe_start "$WORK/auto.probe" --table ipredir_probe --layers in --queue 9
	wait_until 5 has_line "$WORK/auto.probe" '^(installed|error)'
	probe_stop
	check auto.probe "rules_probe: $(head -n 1 "$WORK/auto.probe")" has_line "$WORK/auto.probe" "^installed kind=$kind\$"
else
	skip auto "no /proc/config.gz to tell which queue kind the kernel has"
	kind=unknown
fi
tap_case compat compat compat
bypass_case compat
case $kind in
compat) unavailable_case native ;;
native) tap_case native native native && bypass_case native ;;
esac
finish
