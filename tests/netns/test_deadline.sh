#!/bin/bash
# The verdict deadline: a program that never answers (iprtap -a hold) does not
# black-hole traffic. The library accepts each packet once it waited longer
# than the deadline and counts it as expired, IPv4 and IPv6.
#
#   +------+ veth-a                veth-b +------+
#   |  A   |------------------------------|  B   |
#   +------+ 10.77.19.1       10.77.19.2  +------+
#   ping     fd77:19::1       fd77:19::2  iprtap -a hold (in+out)
#   --deadline 300: request (in) and reply (out) are each held 300-375 ms, so
#   every echo is answered after roughly 2 x 300-400 ms (pings 0.8 s apart).
#   burst: pings 0.1 s apart, so several echoes of one ICMP id are held at once;
#   none may be lost. Without --deadline the default of 5000 ms applies
#   (checked on the request alone, one ping).
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=deadline
. "$(dirname "$0")/lib.sh"
need_root_and deadline "$IPRTAP"
topo_pair 19 || { fail topology "could not build A-B"; finish; }
PINGS=3

# echo_both VERSION: pcap filter for echo requests and replies.
echo_both() { echo "($(echo_filter "$1" request)) or ($(echo_filter "$1" reply))"; }

# rtts_within LOG COUNT MIN MAX: LOG has COUNT replies, each with MIN <= time <= MAX ms.
# shellcheck disable=SC2016 # awk's own $0
rtts_within() {
	awk -v n="$2" -v lo="$3" -v hi="$4" '
		/ time=/ { t = $0; sub(/.* time=/, "", t); t += 0; seen++; if (t < lo || t > hi) bad++ }
		END { exit !(seen == n && bad == 0) }' "$1"
}

# rtts LOG: the round-trip times of LOG, for failure messages.
rtts() { sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1" | paste -sd ' '; }

# ct_drops: packets conntrack dropped in B so far (the "drop" column, all CPUs).
ct_drops() {
	local n=0 x
	# shellcheck disable=SC2016 # awk's own fields
	for x in $(in_ns "$NS_B" awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "drop") c = i; next }
			c { print $c }' /proc/net/stat/nf_conntrack 2>/dev/null); do
		n=$((n + 16#$x))
	done
	echo "$n"
}

# short_case NAME VERSION INTERVAL: --deadline 300 releases requests and replies
# of PINGS pings sent INTERVAL seconds apart.
short_case() {
	local name=$1 v=$2 interval=$3 b log ping received expired drops
	b=$(addr_of B "$v") log=$WORK/$name.tap ping=$WORK/$name.ping drops=$(ct_drops)
	tap_start "$NS_B" "$log" -a hold --deadline 300 -f "$(echo_both "$v")" ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	in_ns "$NS_A" ping -n -c "$PINGS" -i "$interval" -W 3 "$b" >"$ping" 2>&1
	drops=$(($(ct_drops) - drops))
	check "$name.answered" "not every ping was answered through a program that holds them (conntrack in B dropped $drops)" \
		has_line "$ping" " $PINGS received" || show "$ping"
	check "$name.rtt" "round trips $(rtts "$ping") ms, wanted $PINGS of 550..1000 ms" \
		rtts_within "$ping" "$PINGS" 550 1000
	stop "$TAP_PID"
	received=$(stat_of "$log" received) expired=$(stat_of "$log" expired)
	check "$name.seen" "iprtap received ${received:-?} packets, wanted $((2 * PINGS))" \
		test "${received:-0}" = $((2 * PINGS)) || show "$log"
	check "$name.expired" "expired=${expired:-?}, wanted every packet seen (${received:-?})" \
		test "${expired:-x}" = "${received:-y}"
	check "$name.table_gone" "the table outlived iprtap" no_table "$NS_B"
}

# default_case: without --deadline, held echo requests of both versions (two taps
# at once, one ping each) are released after the default 5000 ms.
default_case() {
	local v b pids=() taps=() log ping name
	for v in 4 6; do
		log=$WORK/default_v$v.tap
		tap_start "$NS_B" "$log" -a hold -f "$(echo_filter "$v" request)" ||
			{ fail "default_v$v" "iprtap did not start"; show "$log"; return; }
		taps+=("$TAP_PID")
	done
	for v in 4 6; do
		b=$(addr_of B "$v")
		in_ns "$NS_A" ping -n -c 1 -W 15 "$b" >"$WORK/default_v$v.ping" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for v in 4 6; do
		name=default_v$v log=$WORK/$name.tap ping=$WORK/$name.ping
		check "$name.answered" "the held ping was never answered" has_line "$ping" ' 1 received' ||
			show "$ping"
		check "$name.rtt" "round trip $(rtts "$ping") ms, wanted 4900..7000 ms" \
			rtts_within "$ping" 1 4900 7000
	done
	for v in 0 1; do stop "${taps[$v]}"; done
	for v in 4 6; do
		log=$WORK/default_v$v.tap
		check "default_v$v.expired" "stats: $(grep '^stats' "$log")" \
			test "$(stat_of "$log" expired)/$(stat_of "$log" received)" = 1/1
	done
}

for v in 4 6; do
	short_case "short_v$v" "$v" 0.8
	short_case "burst_v$v" "$v" 0.1
done
default_case
finish
