#!/bin/bash
# A redirector far slower than the traffic (slowredir: 500 us per packet, a
# queue of 1024) under a flood of sequence-numbered UDP (udpseq, 8 flows).
# Fail-open (the default): ipredir drops nothing; every datagram either went
# through the redirector or passed it unredirected, and the library counts
# the latter exactly (received + failopen = sent), the kernel counts no drop.
# Fail-closed: the drops are counted exactly, the kernel's counters and the
# library's agree, and the receiver misses exactly that many datagrams. In
# both, the redirector's resident memory stays within 1 MiB of its value at
# the start of the flood.
# Two overflow points, each tried both ways: the queue's length (1024 held
# packets, slowredir sleeping 500 us per packet), and the netlink socket's
# buffer (64 MiB: a queue of 200000, slowredir frozen with SIGSTOP while 8 x
# 12000 datagrams of 1400 bytes arrive, then continued).
# Once the redirector has answered everything it held, one more datagram (a
# ninth flow) goes through it: the library sees a socket-full pass only as a
# gap in the kernel's packet ids, so passes after the last packet it
# received are counted when a later one arrives.
#
#   +------+ veth-a               veth-b +------+
#   |  A   |-----------------------------|  B   |
#   +------+ 10.77.75.1       10.77.75.2 +------+
#   udpseq send (8 flows x COUNT)        udpseq recv, slowredir (in layer)
# Only data datagrams are queued (the filter tests the payload's magic), so
# the end markers always arrive and the receiver knows what each flow sent.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=overload
. "$(dirname "$0")/lib.sh"
SLOWREDIR=$BUILD/tests/slowredir
need_root_and overload "$SLOWREDIR" "$UDPSEQ"
topo_pair 75 || { fail topology "could not build A-B"; finish; }
FLOWS=8
COUNT=5000 # datagrams per flow
SIZE=64    # bytes per datagram
FREEZE=    # 1: SIGSTOP the redirector while the flood is sent
PORT=7000
FILTER="udp dst port $PORT and udp[8:4] = 0x55535144" # "USQD": data, not end markers

# field LINE_PREFIX KEY FILE: KEY=value from the last line of FILE starting with LINE_PREFIX.
field() { sed -n "s/^$1\\b.*\\b$2=\\([0-9]*\\).*/\\1/p" "$3" | tail -n 1; }

# queue_column QUEUE COLUMN: a column of QUEUE's line in B's /proc/net/netfilter/nfnetlink_queue.
queue_column() {
	# shellcheck disable=SC2016 # awk's own $c
	in_ns "$NS_B" awk -v q="$1" -v c="$2" '$1 == q { print $c }' /proc/net/netfilter/nfnetlink_queue
}

# drained QUEUE: B's QUEUE holds no packet.
drained() { [ "$(queue_column "$1" 3)" = 0 ]; }

# rss_kb PID: resident memory of PID in KiB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# overload_case NAME [SLOWREDIR OPTIONS...], after COUNT, SIZE and FREEZE
overload_case() {
	local name=$1 log=$WORK/$1.redir rlog=$WORK/$1.recv pid queue rss0 rss max=0 kq ku
	local received failopen qdrop udrop lost got sent
	shift
	spawn "$NS_B" "$log" "$SLOWREDIR" --filter "$FILTER" "$@"
	pid=$!
	wait_until 5 has_line "$log" '^ready ' || { fail "$name" "slowredir did not start"; show "$log"; return; }
	queue=$(field ready queue "$log")
	# The ninth flow is the last datagram, sent once the redirector has let
	# everything it held go; the receiver ends right after its end markers.
	spawn "$NS_B" "$rlog" "$UDPSEQ" recv "$PORT" --flows $((FLOWS + 1)) --timeout 2
	local rpid=$!
	wait_until 5 has_line "$rlog" '^listening' || { fail "$name" "receiver did not listen"; return; }
	rss0=$(rss_kb "$pid")
	[ -n "$FREEZE" ] && kill -STOP "$pid"
	in_ns "$NS_A" "$UDPSEQ" send "$B4" "$PORT" --flows "$FLOWS" --count "$COUNT" --size "$SIZE" \
		>"$WORK/$name.send"
	[ -n "$FREEZE" ] && kill -CONT "$pid"
	wait_until 60 drained "$queue" || fail "$name.drained" "the redirector still holds packets"
	in_ns "$NS_A" "$UDPSEQ" send "$B4" "$PORT" --flows 1 --count 1 >/dev/null
	sent=$((FLOWS * COUNT + 1))
	while running "$rpid"; do
		rss=$(rss_kb "$pid")
		[ "${rss:-0}" -gt "$max" ] && max=$rss
		sleep 0.1
	done
	# The kernel's counters of the queue, before the redirector unbinds it.
	kq=$(queue_column "$queue" 6) ku=$(queue_column "$queue" 7)
	stop "$pid" INT
	received=$(field stats received "$log") failopen=$(field stats failopen "$log")
	qdrop=$(field stats queue_dropped "$log") udrop=$(field stats user_dropped "$log")
	lost=$(field flows lost "$rlog") got=$(field flows received "$rlog")
	echo "# $name: sent $sent, received $got, lost $lost; redirected $received," \
		"fail-open $failopen; drops: library $qdrop+$udrop, kernel $kq+$ku; VmRSS $rss0 -> max $max KiB"
	if [ -z "$received" ] || [ -z "$lost" ] || [ -z "$kq" ]; then
		fail "$name" "no figures"
		show "$log" "$rlog"
		return
	fi
	if [ "${name#*_}" = open ]; then
		check "$name.no_loss" "$lost datagrams lost" test "$lost" -eq 0
		check "$name.overloaded" "the queue never overflowed" test "$failopen" -gt 0
		check "$name.counted" "redirected $received + fail-open $failopen != sent $sent" \
			test $((received + failopen)) -eq "$sent"
		check "$name.no_kernel_drops" "the kernel dropped $kq+$ku" test $((kq + ku)) -eq 0
	else
		check "$name.dropped" "nothing was dropped" test $((qdrop + udrop)) -gt 0
		check "$name.counters_agree" "library $qdrop+$udrop, kernel $kq+$ku" \
			test "$qdrop" -eq "$kq" -a "$udrop" -eq "$ku"
		check "$name.loss_is_drops" "receiver lost $lost, drops counted $((qdrop + udrop))" \
			test "$lost" -eq $((qdrop + udrop))
		check "$name.counted" "redirected $received + dropped $((qdrop + udrop)) != sent" \
			test $((received + qdrop + udrop)) -eq "$sent"
		check "$name.no_failopen" "fail-open counted $failopen" test "$failopen" -eq 0
	fi
	check "$name.memory" "VmRSS grew from $rss0 to $max KiB" test $((max - rss0)) -lt 1024
}

overload_case queue_open
overload_case queue_closed --fail-closed
COUNT=12000 SIZE=1400 FREEZE=1
overload_case socket_open --sleep-us 0 --maxlen 200000
overload_case socket_closed --sleep-us 0 --maxlen 200000 --fail-closed
finish
