#!/bin/bash
# SIGKILL of `ipredir passthru` in the middle of a TCP transfer: its table is
# gone at once, and the transfer goes on and completes intact. IPv4 and IPv6.
#
#   +--------+ veth-a        veth-b +--------+
#   |   A    |----------------------|   B    |
#   +--------+ 10.77.13.1 10.77.13.2 +--------+
#   sender     fd77:13::1 fd77:13::2  receiver,
#   (paced)                           ipredir passthru (in+out)  <- kill -9
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=crash
. "$(dirname "$0")/lib.sh"
need_root_and crash "$IPREDIR"
topo_pair 13 || { fail topology "could not build A-B"; finish; }
BYTES=20000000
PACE=0.004 # seconds per 64 KiB: the transfer takes about 1.5 s

# queued_at_least NS N: N packets went through the queues of NS.
queued_at_least() { [ "$(queue_packets "$1")" -ge "$2" ]; }

# crash_case VERSION
crash_case() {
	local v=$1 name="kill9_v$1" log=$WORK/kill9_v$1.passthru pid
	spawn "$NS_B" "$log" "$IPREDIR" passthru --quiet
	pid=$!
	wait_table "$NS_B" || { fail "$name" "passthru did not install its table"; show "$log"; stop "$pid"; return; }
	tcp_transfer_start "$name" "$NS_A" "$NS_B" "$(addr_of B "$v")" "$BYTES" "$PACE" ||
		{ fail "$name" "receiver did not listen"; stop "$pid"; return; }
	check "$name.redirected" "the transfer did not go through passthru" wait_until 5 queued_at_least "$NS_B" 50
	stop "$pid" KILL
	check "$name.table_gone" "the table outlived the killed process" no_table "$NS_B"
	check "$name.mid_transfer" "the transfer had ended before the kill" running "$XFER_SEND_PID"
	tcp_transfer_check "$name" "$BYTES"
}

crash_case 4
crash_case 6
finish
