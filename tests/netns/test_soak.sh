#!/bin/bash
# A long mixed run through two redirectors at once in B: `ipredir passthru`
# and `ipredir rewrite --ttl 33` (which keeps traffic valid; seen first, at
# priority 10). For SOAK_SECONDS (default 30; `make soak`: 600):
#   - TCP: a long stream each way (A->B IPv4, B->A IPv6), every byte checked,
#     and back-to-back short connections of 1 MB alternating IPv4 and IPv6,
#     each checked whole;
#   - UDP: a burst of udpseq (4 flows x 2000) every second, IPv4 and IPv6 in
#     turn: no datagram lost, reordering allowed (fail-open may overtake);
#   - ICMP: pings every 0.2 s, IPv4 and IPv6: every one answered, with TTL /
#     hop limit 33 (the rewrite was in the path).
# Each second the resident memory (VmRSS) and open descriptors (/proc/PID/fd)
# of both redirectors are sampled. Flat means: after the first quarter of the
# run (warm-up), VmRSS max - min < RSS_SLACK_KB and the descriptor count
# constant; the slack is 1 MiB. passthru runs with -b 4: its receive buffers
# (batch x 64 KiB per thread) are faulted in page by page as batch depths and
# packet sizes vary, so with the default 64 slots (8 MiB for two threads) its
# VmRSS keeps rising slowly toward that bound (+1.6 MiB over 10 minutes,
# measured); with 4 slots they are all touched within the warm-up.
#
#   +------+ veth-a               veth-b +------+
#   |  A   |-----------------------------|  B   |
#   +------+ 10.77.79.1       10.77.79.2 +------+
#            fd77:79::1       fd77:79::2  ipredir rewrite --ttl 33 -p 10
#                                         ipredir passthru -b 4
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=soak
. "$(dirname "$0")/lib.sh"
need_root_and soak "$IPREDIR" "$UDPSEQ" "$TCPSTREAM"
topo_pair 79 || { fail topology "could not build A-B"; finish; }
SECONDS_TOTAL=${SOAK_SECONDS:-30}
SHORT_BYTES=1000000
RSS_SLACK_KB=1024

now() { echo "${EPOCHREALTIME%.*}"; }
END=$(($(now) + SECONDS_TOTAL))
soaking() { [ "$(now)" -lt "$END" ]; }

# field KEY FILE: KEY=value from the last line of FILE that has it.
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$2" | tail -n 1; }

# intact RECVLOG SENDLOG: the stream arrived whole, every byte as sent.
intact() {
	local sent got
	sent=$(field bytes "$2")
	got=$(sed -n 's/^received bytes=\([0-9]*\) corrupt=0 .*/\1/p' "$1")
	[ -n "$sent" ] && [ "$sent" = "$got" ]
}

# ---------------------------------------------------------------- traffic

# short_connections: 1 MB connections back to back until the end; one line
# "ok BYTES" or "bad N" per connection in $WORK/short.results.
short_connections() {
	local n=0 dest port
	while soaking; do
		n=$((n + 1)) port=$((6200 + n % 2))
		if [ $((n % 2)) = 0 ]; then dest=$B4; else dest=$B6; fi
		: >"$WORK/short.recv" # now, not in the child: the last one said "listening"
		in_ns "$NS_B" timeout 60 "$TCPSTREAM" recv "$port" >"$WORK/short.recv" 2>&1 &
		wait_until 5 has_line "$WORK/short.recv" '^listening' &&
			in_ns "$NS_A" timeout 60 "$TCPSTREAM" send "$dest" "$port" --bytes "$SHORT_BYTES" \
				>"$WORK/short.send" 2>&1
		wait
		if intact "$WORK/short.recv" "$WORK/short.send"; then
			echo "ok $SHORT_BYTES" >>"$WORK/short.results"
		else
			echo "bad $n to $dest: $(cat "$WORK/short.send" "$WORK/short.recv" | tr '\n' ' ')" \
				>>"$WORK/short.results"
		fi
	done
}

# udp_bursts: one udpseq burst a second until the end; one result line per burst.
udp_bursts() {
	local n=0 dest
	while soaking; do
		n=$((n + 1))
		if [ $((n % 2)) = 0 ]; then dest=$B4; else dest=$B6; fi
		: >"$WORK/udp.recv"
		in_ns "$NS_B" "$UDPSEQ" recv 7000 --flows 4 --timeout 5 >"$WORK/udp.recv" 2>&1 &
		wait_until 5 has_line "$WORK/udp.recv" '^listening' || continue
		in_ns "$NS_A" "$UDPSEQ" send "$dest" 7000 --flows 4 --count 2000 >/dev/null
		wait
		grep '^flows=' "$WORK/udp.recv" >>"$WORK/udp.results"
		sleep 1
	done
}

# ---------------------------------------------------------------- sampling

# fds PID: PID's open descriptors, the fewer of two counts 0.1 s apart: the CLI's
# once-a-second report opens /proc/net/netfilter/nfnetlink_queue for a moment, which
# is no leak; a leaked descriptor stays.
fds() {
	local a b
	a=$(find "/proc/$1/fd" -mindepth 1 | wc -l)
	sleep 0.1
	b=$(find "/proc/$1/fd" -mindepth 1 | wc -l)
	echo $((a < b ? a : b))
}

# sample PID...: one line "PID RSS_KB FDS" per redirector each second until the end.
sample() {
	local pid
	while soaking; do
		for pid in "$@"; do
			echo "$pid $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") $(fds "$pid")"
		done >>"$WORK/samples"
		sleep 1
	done
}

# flat PID: after warm-up, VmRSS within RSS_SLACK_KB and a constant descriptor count.
flat() {
	local total
	total=$(awk -v p="$1" '$1 == p' "$WORK/samples" | wc -l)
	# shellcheck disable=SC2016 # awk's own fields
	awk -v p="$1" '$1 == p' "$WORK/samples" | awk -v skip="$((total / 4))" -v slack="$RSS_SLACK_KB" '
		NR <= skip { next }
		{ if (n++ == 0) { first = rmin = rmax = $2; fmin = fmax = $3 }
		  if ($2 < rmin) rmin = $2; if ($2 > rmax) rmax = $2
		  if ($3 < fmin) fmin = $3; if ($3 > fmax) fmax = $3; last = $2 }
		END { printf "%d samples after warm-up, VmRSS %d..%d KiB (first %d, last %d), fds %d..%d\n",
		             n, rmin, rmax, first, last, fmin, fmax
		      exit !(n > 0 && rmax - rmin < slack && fmin == fmax) }'
}

# ---------------------------------------------------------------- the run

two_tables() { [ "$(in_ns "$1" nft list tables 2>/dev/null | grep -c ' ipredir_')" = 2 ]; }

spawn "$NS_B" "$WORK/rewrite.log" "$IPREDIR" rewrite --ttl 33 -p 10
RW_PID=$!
wait_table "$NS_B" || { fail rewrite "rewrite did not start"; show "$WORK/rewrite.log"; finish; }
spawn "$NS_B" "$WORK/passthru.log" "$IPREDIR" passthru --quiet -b 4
PT_PID=$!
wait_until 5 two_tables "$NS_B"
if ! check redirectors "a redirector is not running" two_tables "$NS_B"; then
	show "$WORK/rewrite.log" "$WORK/passthru.log"
	finish
fi

spawn "$NS_B" "$WORK/long4.recv" "$TCPSTREAM" recv 6001
spawn "$NS_A" "$WORK/long6.recv" "$TCPSTREAM" recv 6002
wait_until 5 has_line "$WORK/long4.recv" '^listening' && wait_until 5 has_line "$WORK/long6.recv" '^listening'
spawn "$NS_A" "$WORK/long4.send" "$TCPSTREAM" send "$B4" 6001 --seconds "$SECONDS_TOTAL"
LONG4=$!
spawn "$NS_B" "$WORK/long6.send" "$TCPSTREAM" send "$A6" 6002 --seconds "$SECONDS_TOTAL"
LONG6=$!
PINGS=$((SECONDS_TOTAL * 5))
in_ns "$NS_A" ping -n -i 0.2 -c "$PINGS" -W 2 "$B4" >"$WORK/ping4" 2>&1 &
PING4=$!
in_ns "$NS_A" ping -n -i 0.2 -c "$PINGS" -W 2 "$B6" >"$WORK/ping6" 2>&1 &
PING6=$!
short_connections &
SHORT=$!
udp_bursts &
UDP=$!
sample "$PT_PID" "$RW_PID" &
SAMPLER=$!

wait "$LONG4" "$LONG6" "$PING4" "$PING6" "$SHORT" "$UDP" "$SAMPLER"

for s in long4 long6; do
	check "$s.intact" "the long stream did not arrive intact" intact "$WORK/$s.recv" "$WORK/$s.send" ||
		show "$WORK/$s.send" "$WORK/$s.recv"
	echo "# $s: $(field bytes "$WORK/$s.send") bytes sent, every byte checked"
done
shorts=$(count_lines "$WORK/short.results" '^ok ')
check short.intact "$(count_lines "$WORK/short.results" '^bad ') short connections broken" \
	test "$(count_lines "$WORK/short.results" '^bad ')" = 0 -a "${shorts:-0}" -gt 0 ||
	grep '^bad' "$WORK/short.results" | head -n 3 | sed 's/^/#   /'
echo "# short connections: $shorts of $SHORT_BYTES bytes, each checked"
udp_sent=$(awk -F'[= ]' '{ n += $4 + $6 } END { print n + 0 }' "$WORK/udp.results")
udp_lost=$(awk -F'[= ]' '{ n += $6 } END { print n + 0 }' "$WORK/udp.results")
check udp.no_loss "$udp_lost of $udp_sent datagrams lost" test "$udp_lost" = 0 -a "$udp_sent" -gt 0
echo "# udp: $(wc -l <"$WORK/udp.results") bursts, $udp_sent datagrams," \
	"$(awk -F'[= ]' '{ n += $8 } END { print n + 0 }' "$WORK/udp.results") arrived out of order"
for v in 4 6; do
	check "ping$v.answered" "$(grep -o '[0-9]* received' "$WORK/ping$v") of $PINGS" \
		grep -q " $PINGS received" "$WORK/ping$v"
	check "ping$v.ttl33" "replies without TTL 33: the rewrite was not in the path" \
		test "$(grep -c 'ttl=33' "$WORK/ping$v")" = "$PINGS"
done
for p in passthru:$PT_PID rewrite:$RW_PID; do
	line=$(flat "${p#*:}") && ok=1 || ok=0
	check "${p%:*}.flat" "not flat: $line" test "$ok" = 1
	echo "# ${p%:*}: $line"
	check "${p%:*}.alive" "it died during the run" running "${p#*:}"
done
stop "$PT_PID" INT
stop "$RW_PID" INT
echo "# $(grep '^passthru:' "$WORK/passthru.log")"
echo "# $(grep -i '^rewrite' "$WORK/rewrite.log" | tail -n 1)"
finish
