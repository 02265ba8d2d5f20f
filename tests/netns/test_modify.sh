#!/bin/bash
# A packet modified by the program reaches the peer with valid checksums, at
# every layer, IPv4 and IPv6: a new TTL / hop limit shows in the ping reply, a
# flipped UDP payload byte reaches the UDP receiver (the peer kernel drops a
# datagram whose checksum is wrong, which the control case proves).
#
#   +------+ eth0   eth-a +------+ eth-b   eth0 +------+
#   |  A   |--------------|  R   |--------------|  B   |
#   +------+ 10.77.5.0/24 +------+ 10.77.6.0/24 +------+
#   ping,    fd77:5::/64  forward  fd77:6::/64  UDP receiver
#   UDP sender
#   ttl: in -> tap in A, out -> tap in B (the reply then crosses R: -1), forward -> tap in R
#   payload: in -> tap in B, out -> tap in A, forward -> tap in R
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=modify
. "$(dirname "$0")/lib.sh"
need_root_and modify "$IPRTAP"
topo_routed 5 || { fail topology "could not build A-R-B"; finish; }
TTL=33
UDP_PORT=7000
PAYLOAD=ipredir-modify-x # the tap flips the last byte: x -> X

# tap_ns_for KIND LAYER: where the tap runs for a ttl or payload case.
tap_ns_for() {
	case "$1-$2" in
	ttl-in | payload-out) echo "$NS_A" ;;
	ttl-out | payload-in) echo "$NS_B" ;;
	*) echo "$NS_R" ;;
	esac
}

# ttl_case LAYER VERSION: the ping reply arrives with the TTL the tap set.
ttl_case() {
	local layer=$1 v=$2 name="ttl_$1_v$2" want=$TTL log
	log=$WORK/$name.tap
	[ "$layer" = out ] && want=$((TTL - 1))
	tap_start "$(tap_ns_for ttl "$layer")" "$log" -l "$layer" -a "ttl=$TTL" -f "$(echo_filter "$v" reply)" ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	pings "$NS_A" "$(addr_of B "$v")" 2 "$WORK/$name.ping"
	stop "$TAP_PID"
	if [ "$(count_lines "$WORK/$name.ping" " ttl=$want ")" = 2 ]; then
		pass "$name"
	else
		fail "$name" "ping replies did not show ttl=$want"
		show "$WORK/$name.ping" "$log"
	fi
	check "$name.counted" "stats do not count 2 modified packets" test "$(stat_of "$log" modified)" = 2
}

# csum_errors NS: UDP checksum errors counted in NS so far (IPv4 + IPv6).
csum_errors() {
	in_ns "$1" nstat -asz UdpInCsumErrors Udp6InCsumErrors | awk '{ n += $2 } END { print n + 0 }'
}

# udp_exchange NAME VERSION [SENDER]: A sends 3 datagrams to B with the nettool
# command SENDER (default udp-send); B's receiver logs them to $WORK/NAME.recv.
udp_exchange() {
	local name=$1 v=$2 sender=${3:-udp-send}
	udp_listen "$NS_B" "$WORK/$name.recv" "$UDP_PORT"
	in_ns "$NS_A" python3 "$NETTOOL" "$sender" "$(addr_of B "$v")" "$UDP_PORT" "$PAYLOAD" 3 0.05
	udp_finish
}

# payload_case LAYER VERSION: B's receiver gets the datagrams with the flipped byte.
payload_case() {
	local layer=$1 v=$2 name="payload_$1_v$2" errors log
	log=$WORK/$name.tap
	tap_start "$(tap_ns_for payload "$layer")" "$log" -l "$layer" -a xor-last -f udp ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	errors=$(csum_errors "$NS_B")
	udp_exchange "$name" "$v"
	stop "$TAP_PID"
	if [ "$(count_lines "$WORK/$name.recv" "^got ${PAYLOAD%x}X\$")" = 3 ]; then
		pass "$name"
	else
		fail "$name" "B did not receive 3 datagrams ending in X"
		show "$WORK/$name.recv" "$log"
	fi
	check "$name.checksums" "B counted UDP checksum errors" test "$(csum_errors "$NS_B")" = "$errors"
}

# control_case VERSION: a datagram with a wrong UDP checksum never reaches B's receiver.
control_case() {
	local v=$1 name="control_badsum_v$1" errors
	errors=$(csum_errors "$NS_B")
	udp_exchange "$name" "$v" udp-send-badsum
	check "$name" "B delivered a datagram with a bad checksum" test "$(count_lines "$WORK/$name.recv" '^got ')" = 0
	check "$name.counted" "B did not count the checksum errors" test "$(csum_errors "$NS_B")" -gt "$errors"
}

for v in 4 6; do
	control_case "$v"
	for layer in in out forward; do
		ttl_case "$layer" "$v"
		payload_case "$layer" "$v"
	done
done
finish
