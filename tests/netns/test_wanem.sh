#!/bin/bash
# `ipredir wanem` emulates a WAN link in user space: --delay raises the ping
# round-trip time by the delay once per direction it applies to, --loss loses
# about the asked share, and packets keep their order unless --reorder asks
# otherwise; IPv4 and IPv6.
#
#   +------+ veth-a          veth-b +------+
#   |  A   |------------------------|  B   |
#   +------+ 10.77.63.1  10.77.63.2 +------+
#   ping,    fd77:63::1  fd77:63::2  wanem
#   udpseq send                      udpseq recv
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=wanem
. "$(dirname "$0")/lib.sh"
need_root_and wanem "$IPREDIR" "$UDPSEQ"
topo_pair 63 || { fail topology "could not build A-B"; finish; }

# wanem_start NAME ARGS...: run wanem ARGS in B (WANEM_PID), wait until it redirects.
wanem_start() {
	local name=$1
	shift
	spawn "$NS_B" "$WORK/$name.wanem" "$IPREDIR" wanem "$@"
	WANEM_PID=$!
	wait_until 5 has_line "$WORK/$name.wanem" '^wanem: delay' && wait_table "$NS_B"
}

# median_rtt LOG: the median of the ping times in LOG, whole milliseconds.
median_rtt() {
	sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -n |
		awk '{ t[NR] = $1 } END { if (NR) printf "%d\n", t[int((NR + 1) / 2)]; else print -1 }'
}

# delay_case NAME VERSION LOW HIGH ARGS...: median ping RTT within LOW..HIGH ms
# (pings of PING_SIZE payload bytes, default 56).
delay_case() {
	local name=$1 v=$2 low=$3 high=$4 log=$WORK/$1.ping rtt
	shift 4
	wanem_start "$name" "$@" || { fail "$name" "wanem did not start"; show "$WORK/$name.wanem"; return; }
	in_ns "$NS_A" ping -n -c 9 -i 0.15 -W 2 -s "${PING_SIZE:-56}" "$(addr_of B "$v")" >"$log" 2>&1
	stop "$WANEM_PID"
	rtt=$(median_rtt "$log")
	check "$name" "median RTT $rtt ms, expected $low..$high ms" \
		test "$rtt" -ge "$low" -a "$rtt" -le "$high" || show "$log" "$WORK/$name.wanem"
}

# loss_case NAME VERSION: 200 fast pings through --loss 30 lose 15..45 %.
loss_case() {
	local name=$1 v=$2 log=$WORK/$1.ping lost
	wanem_start "$name" --in --loss 30 || { fail "$name" "wanem did not start"; return; }
	in_ns "$NS_A" ping -n -q -c 200 -i 0.005 -W 1 "$(addr_of B "$v")" >"$log" 2>&1
	stop "$WANEM_PID"
	lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$log")
	lost=${lost%.*}
	check "$name" "lost ${lost:-?} %, expected 15..45 %" \
		test "${lost:--1}" -ge 15 -a "${lost:--1}" -le 45 || show "$log" "$WORK/$name.wanem"
	check "$name.summary" "the summary does not count the losses" \
		has_line "$WORK/$name.wanem" '^wanem: [0-9]+ packets: .*lost [1-9]'
}

# has_words TEXT PART...: TEXT holds every (shell pattern) PART.
has_words() {
	local text=$1 part
	shift
	for part in "$@"; do
		# shellcheck disable=SC2053 # part is a pattern
		[[ "$text" == *$part* ]] || return 1
	done
}

# order_case NAME VERSION EXPECT ARGS...: udpseq through wanem ARGS; EXPECT is
# "none" (reordered=0) or "some" (reordered>0). No datagram may be lost.
order_case() {
	local name=$1 v=$2 expect=$3 recv=$WORK/$1.recv result n
	shift 3
	wanem_start "$name" "$@" || { fail "$name" "wanem did not start"; return; }
	spawn "$NS_B" "$recv" "$UDPSEQ" recv 7000 --flows 4 --timeout 3
	n=$!
	wait_until 5 has_line "$recv" '^listening' || { fail "$name" "udpseq did not listen"; return; }
	in_ns "$NS_A" "$UDPSEQ" send "$(addr_of B "$v")" 7000 --flows 4 --count 250 >"$WORK/$name.send" 2>&1
	wait_until 10 gone "$n"
	stop "$n"
	stop "$WANEM_PID"
	result=" $(grep '^flows=' "$recv") "
	if [ "$expect" = none ]; then
		check "$name" "$result" has_words "$result" " lost=0 reordered=0 " ||
			show "$recv" "$WORK/$name.wanem"
	else
		check "$name" "$result: expected some reordering" \
			has_words "$result" " lost=0 " " reordered=[1-9]" ||
			show "$recv" "$WORK/$name.wanem"
	fi
}

for v in 4 6; do
	delay_case "delay_in_v$v" "$v" 40 90 --in --delay 50
	delay_case "delay_both_v$v" "$v" 90 150 --delay 50ms
	loss_case "loss_v$v" "$v"
	order_case "order_v$v" "$v" none --in --delay 20 --jitter 15
done
order_case reorder_v4 4 some --in --delay 20 --reorder 30
# 1228 bytes at 100 kbit/s take 98 ms to serialize
PING_SIZE=1200 delay_case rate_v4 4 85 140 --in --rate 100kbit
check table_gone "a table outlived wanem" no_table "$NS_B"
finish
