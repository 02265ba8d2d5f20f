#!/bin/bash
# Flow bypass: `ipredir passthru --bypass-after 5` inspects the first 5 packets
# of each flow (both directions counted together) and then offloads the flow
# to the kernel. A 20 MB TCP transfer arrives byte-identical while the program
# sees only about 5 packets of it; three concurrent transfers about 5 each; a
# control run without --bypass-after sees the whole transfer (at least one
# packet per 64 KiB, the largest GSO packet). IPv4 and IPv6.
#
#   +------+ veth-a                veth-b +------+
#   |  A   |------------------------------|  B   |
#   +------+ 10.77.25.1       10.77.25.2  +------+
#   tcp-send                              ipredir passthru [--bypass-after 5] (in+out)
#                                         tcp-recv
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=bypass
. "$(dirname "$0")/lib.sh"
need_root_and bypass "$IPREDIR"
topo_pair 25 || { fail topology "could not build A-B"; finish; }
BYTES=20000000
AFTER=5
SLACK=15 # packets already queued when a flow's bypass verdict is given
PORT=7025

# summary_of LOG KEY: a number of passthru's summary line ("packets" or "bypass verdicts").
summary_of() {
	case $2 in
	packets) sed -n 's/^passthru: \([0-9]*\) packets.*/\1/p' "$1" ;;
	*) sed -n "s/^passthru: .*[:,] $2 \\([0-9]*\\).*/\\1/p" "$1" ;;
	esac
}

# passthru_case NAME VERSION FLOWS PASSTHRU_ARGS...: FLOWS transfers through passthru
# in B (one of BYTES, or several of BYTES / 4 each); sets PACKETS and BYPASSED
# from its summary.
passthru_case() {
	local name=$1 v=$2 flows=$3 log=$WORK/$1.passthru pid status size=$BYTES
	shift 3
	[ "$flows" = 1 ] || size=$((BYTES / 4))
	PACKETS='' BYPASSED=''
	spawn "$NS_B" "$log" "$IPREDIR" passthru --quiet "$@"
	pid=$!
	wait_table "$NS_B" || { fail "$name" "passthru $* did not install its table"; show "$log"; stop "$pid"; return 1; }
	tcp_transfers "$name.intact_" "$(addr_of B "$v")" "$PORT" "$flows" "$size"
	stop "$pid"
	status=$?
	check "$name.exit" "passthru exited with status $status" test "$status" = 0 || show "$log"
	check "$name.table_gone" "the table outlived passthru" no_table "$NS_B"
	PACKETS=$(summary_of "$log" packets) BYPASSED=$(summary_of "$log" "bypass verdicts")
	grep '^passthru:' "$log" | sed "s/^/# $SUITE.$name: /"
	[ -n "$PACKETS" ] && [ -n "$BYPASSED" ] && return 0
	fail "$name.summary" "no summary line"
	show "$log"
	return 1
}

# bypass_case VERSION FLOWS: the program sees AFTER..AFTER+SLACK packets per flow.
bypass_case() {
	local v=$1 flows=$2 name=bypass_v${1}_x$2 lo hi
	lo=$((AFTER * flows)) hi=$(((AFTER + SLACK) * flows))
	passthru_case "$name" "$v" "$flows" --bypass-after "$AFTER" || return
	check "$name.packets" "passthru saw $PACKETS packets of $flows transfers, wanted $lo..$hi" \
		test "$PACKETS" -ge "$lo" -a "$PACKETS" -le "$hi"
	check "$name.bypassed" "bypass verdicts $BYPASSED, wanted at least $flows" test "$BYPASSED" -ge "$flows"
}

# control_case VERSION: without --bypass-after the program sees the whole transfer.
control_case() {
	local v=$1 name=control_v$1
	passthru_case "$name" "$v" 1 || return
	# Even in 64 KiB GSO packets the data alone takes BYTES / 65536 of them.
	check "$name.packets" "passthru saw only $PACKETS packets of a $BYTES-byte transfer" \
		test "$PACKETS" -ge $((BYTES / 65536))
	check "$name.bypassed" "bypass verdicts $BYPASSED without --bypass-after" test "$BYPASSED" = 0
}

for v in 4 6; do
	bypass_case "$v" 1
	bypass_case "$v" 3
	control_case "$v"
done
finish
